import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { buildDigestMessage, formatDigestText } from '../../blocks/digest.ts';
import { buildDigest, summarizePeaks } from '../../core/digest.ts';
import type { BreachRecord } from '../../core/storage/breaches.ts';
import type { DecisionRecord } from '../../core/storage/decisions.ts';
import type { TriggerResult } from '../../core/triggers.ts';
import { checkBlockKitLimits } from '../helpers/slack/index.ts';

const { triggers, capacity, advisor } = loadConfig();
const since = new Date('2026-11-23T08:00:00Z');
const until = new Date('2026-11-30T08:00:00Z');
const LONG = 'a-rather-long-host-name-that-goes-on.example.com:9100';

/** The guide's twelve triggers with 100 series each, 60 open breaches, 300 decisions, 40 forecasts. */
function bigReport(late: boolean) {
  const peaks = triggers.map((trigger, index) =>
    summarizePeaks(
      trigger,
      Array.from({ length: 100 }, (_, series) => ({
        labels: { instance: `web-${series}.${LONG}`, job: 'node-exporter-<production>' },
        points: [[until.getTime() / 1000, trigger.threshold * (index % 2 ? 2 : 0.5) + series / 1000] as const],
      })),
    ),
  );
  const forecastResults: TriggerResult[] = Array.from({ length: 40 }, (_, index) => ({
    trigger: triggers[index % triggers.length]!,
    labels: { instance: `web-${index}.${LONG}` },
    state: 'ok',
    value: 1,
    heldSeconds: 0,
    heldWholeWindow: false,
    forecast: {
      outcome: 'crosses',
      crossesAt: new Date(until.getTime() + (index + 1) * 12 * 3_600_000),
      days: (index + 1) / 2,
      slopePerDay: 0.01,
      basis: 'b',
      historySeconds: 1,
    },
  }));
  const openBreaches = Array.from({ length: 60 }, (_, id) => ({
    id,
    triggerId: 'cpu',
    name: 'CPU usage & <more>',
    severity: 'immediate',
    labels: { instance: `web-${id}.${LONG}` },
    openedAt: new Date(until.getTime() - id * 3_600_000),
    lastValue: '0.9',
    ackedBy: id % 2 ? 'U0OPS' : null,
  })) as unknown as BreachRecord[];
  const kinds = ['run_requested', 'run_failed', 'run_succeeded', 'checklist_completed', 'advice', 'breach_acknowledged'];
  const decisions: DecisionRecord[] = Array.from({ length: 300 }, (_, id) => ({
    id,
    at: new Date(since.getTime() + id * 60_000),
    kind: kinds[id % kinds.length]!,
    actor: 'U0OPS',
    channel: 'C0OPS',
    subject: `runbook-${id}`,
    outcome: kinds[id % kinds.length] === 'advice' ? 'vertical' : 'failed',
    detail: { run_id: id, title: `Checklist <${id}>` },
  }));
  return buildDigest({
    since,
    until,
    generatedAt: new Date(until.getTime() + 5 * 3_600_000),
    late,
    timezone: 'Europe/Berlin',
    peaks,
    forecastResults,
    forecastHorizonSeconds: 28 * 86_400,
    openBreaches,
    decisions,
    capacity,
    plan: advisor.plan,
  });
}

describe('the digest message', () => {
  it('stays within Block Kit limits with a fleet, a busy week and a late post, and escapes what it quotes', () => {
    for (const late of [false, true]) {
      const message = buildDigestMessage(bigReport(late));
      expect(checkBlockKitLimits(message.blocks ?? [])).toEqual([]);
      const text = JSON.stringify(message.blocks);
      expect(text).not.toContain('<production>');
      expect(text).toContain('node-exporter-&lt;production&gt;');
      expect(text).toContain('… and');
      expect(text.includes('(late)')).toBe(late);
    }
  });

  it('reads the week in the digest time zone, in text as in Slack', () => {
    const text = formatDigestText(bigReport(true));
    expect(text.split('\n').slice(0, 3)).toEqual([
      'Weekly capacity digest · 23 Nov – 30 Nov 2026 (late)',
      'Mon 23 Nov, 09:00 – Mon 30 Nov, 09:00 (Europe/Berlin)',
      'late: the bot was not running at Mon 30 Nov, 09:00 (Europe/Berlin); posted Mon 30 Nov, 14:00',
    ]);
    expect(text).toContain('Forecasts (next 4 weeks)');
  });
});
