import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBreachMessage, parseAlertAction, type AlertAction } from '../../blocks/breach.ts';
import type { BreachRecord } from '../../core/storage/breaches.ts';

const NOW = new Date('2026-11-28T10:05:00Z');

function breach(id: number, ackedAt: Date | null = null): BreachRecord {
  return {
    id,
    key: `load{instance="web-1"}`,
    source: 'watcher',
    triggerId: 'load',
    name: 'Load',
    severity: 'immediate',
    labels: { instance: 'web-1' },
    status: 'open',
    openedAt: NOW,
    breachedSince: NOW,
    lastValue: '0.9',
    lastSeenAt: NOW,
    conditionFalseSince: null,
    resolvedAt: null,
    ackedBy: ackedAt ? 'U1' : null,
    ackedAt,
    snoozedBy: null,
    snoozedUntil: null,
    lastReminderAt: null,
    messageId: null,
    detail: {},
  };
}

interface RenderedButton {
  action_id: string;
  value?: string;
}

function buttonsOf(record: BreachRecord, snoozeOptionsSeconds: readonly number[], charts = false): RenderedButton[] {
  const message = buildBreachMessage(record, { now: NOW, snoozeOptionsSeconds, charts });
  return (message.blocks ?? []).flatMap((block) => (block.type === 'actions' ? (block.elements as RenderedButton[]) : []));
}

describe('the breach message buttons', () => {
  it('parses every button it renders back to what it does, for any breach id, snooze lengths, source and charts on or off', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 999_999_999_999 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 999_999_999 }), { maxLength: 5 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('watcher' as const, 'alertmanager' as const),
        (id, snoozes, acked, charts, source) => {
          const buttons = buttonsOf({ ...breach(id, acked ? NOW : null), source }, snoozes, charts);
          const parsed = buttons.map((button) => parseAlertAction(button.action_id, button.value));
          const expected: AlertAction[] = [
            ...(acked ? [] : [{ kind: 'ack' as const, breachId: id }]),
            ...snoozes.map((seconds) => ({ kind: 'snooze' as const, breachId: id, seconds })),
            { kind: 'status', breachId: id },
            // Alertmanager's breaches have no query of ours to draw.
            ...(charts && source === 'watcher' ? [{ kind: 'chart' as const, breachId: id }] : []),
          ];
          expect(parsed).toEqual(expected);
        },
      ),
    );
  });

  it('renders no buttons on a resolved breach', () => {
    expect(buttonsOf({ ...breach(3), status: 'resolved', resolvedAt: NOW }, [3600], true)).toEqual([]);
  });

  it('refuses ids and values it did not write', () => {
    const junk: Array<[string, string | undefined]> = [
      ['alert_ack', undefined],
      ['alert_ack', ''],
      ['alert_ack', '7:3600'],
      ['alert_ack', '-7'],
      ['alert_ack', '7 '],
      ['alert_ack', '0x7'],
      ['alert_ack', '1234567890123'],
      ['alert_status', '7:60'],
      ['alert_chart', '7:60'],
      ['alert_chart', ''],
      ['alert_snooze_3600', '7'],
      ['alert_snooze_3600', '7:60'],
      ['alert_snooze_', '7:'],
      ['alert_snooze_abc', '7:abc'],
      ['alert_snooze_60x', '7:60'],
      ['alert_unknown', '7'],
      ['run_approve', '7'],
      ['alert_ack_', '7'],
    ];
    for (const [actionId, value] of junk) expect(parseAlertAction(actionId, value), `${actionId} ${value}`).toBeNull();
  });

  it('refuses any snooze whose id and value disagree on the length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 1, max: 999_999 }), (id, shown, sent) => {
        fc.pre(shown !== sent);
        expect(parseAlertAction(`alert_snooze_${shown}`, `${id}:${sent}`)).toBeNull();
      }),
    );
  });

  it('refuses arbitrary strings unless they are exactly a button it writes', () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), (actionId, value) => {
        const parsed = parseAlertAction(actionId, value);
        if (parsed === null) return;
        const written =
          parsed.kind === 'snooze'
            ? [`alert_snooze_${parsed.seconds}`, `${parsed.breachId}:${parsed.seconds}`]
            : [`alert_${parsed.kind}`, String(parsed.breachId)];
        expect([actionId, value]).toEqual(written);
      }),
    );
  });
});
