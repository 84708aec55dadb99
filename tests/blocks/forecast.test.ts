// The watcher's forecast heads-up: within Block Kit's limits whatever the trigger's name, advice and series say.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildForecastMessage } from '../../blocks/forecast.ts';
import type { Forecast } from '../../core/forecast.ts';
import { checkBlockKitLimits } from '../helpers/slack/index.ts';

const NOW = new Date('2026-12-04T10:00:00Z');

describe('the forecast heads-up message', () => {
  it('stays within Block Kit limits for any name, advice, series labels and basis', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 3000, maxLength: 4000 })),
        fc.option(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ minLength: 3000, maxLength: 6000 })), { nil: undefined }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ maxLength: 2000 }), { maxKeys: 8 }),
        fc.oneof(fc.string({ maxLength: 60 }), fc.string({ minLength: 2500, maxLength: 3500 })),
        fc.double({ min: 0.5, max: 3650, noNaN: true }),
        (name, advice, labels, basis, days) => {
          const forecast: Forecast = {
            outcome: 'crosses',
            crossesAt: new Date(NOW.getTime() + days * 86_400_000),
            days,
            slopePerDay: 3,
            basis,
            historySeconds: 7 * 86_400,
          };
          const trigger = { id: 'users', name, op: '>' as const, threshold: 500, unit: 'count' as const, ...(advice === undefined ? {} : { advice }) };
          const message = buildForecastMessage({ trigger, labels, value: 420, forecast, week: '2026-W49', now: NOW });
          expect(checkBlockKitLimits(message.blocks ?? [])).toEqual([]);
          expect(message.text.length).toBeLessThanOrEqual(3000);
        },
      ),
      { numRuns: 200 },
    );
  });
});
