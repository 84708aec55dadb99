import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildStepMessage } from '../../blocks/runbook.ts';
import { SLACK_LIMITS } from '../../blocks/types.ts';
import type { PlannedStep } from '../../core/runbooks.ts';
import type { StepRow } from '../../db/runbooks.ts';

const step: PlannedStep = { id: 'dump', title: 'Dump', host: 'db1', command: 'pg_dump app', timeoutSeconds: 60, confirm: false, output: 'shown' };
const ended = (status: string, exitCode: number | null, message: string | null): StepRow =>
  ({
    id: 1,
    runId: 1,
    phase: 'steps',
    stepIndex: 0,
    stepId: 'dump',
    host: 'db1',
    command: 'pg_dump app',
    status,
    exitCode,
    startedAt: new Date(0),
    endedAt: new Date(4000),
    output: '',
    message,
    messageId: null,
  }) as StepRow;

describe("a step's thread message", () => {
  it('always ends with how the step ended, however much output full of < and & came before', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.stringMatching(/^[<&>a-z ]{0,400}$/),
            fc.tuple(fc.constantFrom('<', '&', '>', 'a'), fc.integer({ min: 1, max: 5000 })).map(([char, count]) => char.repeat(count)),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        fc.constantFrom('succeeded', 'failed', 'timed_out'),
        (lines, status) => {
          const text = (
            buildStepMessage(step, 0, 'steps', lines.join('\n'), ended(status, status === 'failed' ? 3 : 0, 'why')).blocks![0] as { text: { text: string } }
          ).text.text;
          expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
          expect(text).toMatch(
            status === 'succeeded' ? /\*succeeded\*, exit 0, 4 s$/ : status === 'failed' ? /\*failed\*, exit 3, 4 s: why$/ : /\*timed out\*, exit 0, 4 s: why$/,
          );
          // No entity cut in half: every & starts one of the three escapes.
          expect(text.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('shows no output for a step marked `output: hidden`, and says where it is', () => {
    const text = buildStepMessage(step, 0, 'steps', 'PGPASSWORD=hunter2 secret stuff', ended('succeeded', 0, null), { hidden: true }).text;
    expect(text).not.toContain('hunter2');
    expect(text).toMatch(/Output hidden/);
  });
});
