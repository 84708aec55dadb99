import { describe, expect, it } from 'vitest';
import { buildBlindMessage, buildBreachMessage } from '../../blocks/breach.ts';
import { buildHistoryReply } from '../../blocks/history.ts';
import { buildStatusBlocks, describeState } from '../../blocks/status.ts';
import { buildHelp } from '../../commands/help.ts';
import { SUBCOMMANDS } from '../../commands/registry.ts';
import type { StatusReport } from '../../core/status.ts';
import type { Trigger, TriggerResult } from '../../core/triggers.ts';
import type { BreachRow } from '../../db/breaches.ts';
import { loadConfig } from '../../bot/config.ts';
import { checkBlockKitLimits } from '../helpers/slack/index.ts';

const NOW = new Date('2026-11-28T14:00:00Z');
const triggers = loadConfig().triggers;

function manySeries(trigger: Trigger, count: number): TriggerResult[] {
  return Array.from({ length: count }, (_, index) => ({
    trigger,
    labels: { instance: `web-${String(index).padStart(3, '0')}.a-rather-long-host-name.example.com:9100`, job: 'node-exporter-production' },
    state: index % 3 === 0 ? 'breached' : index % 3 === 1 ? 'pending' : 'ok',
    value: 0.5 + index / 1000,
    heldSeconds: 600,
    heldWholeWindow: false,
  }));
}

describe('Block Kit builders stay within Slack limits', () => {
  it('status with the twelve triggers and 100 series each', () => {
    const report: StatusReport = { verdict: 'scale_now', evaluatedAt: NOW, results: triggers.flatMap((trigger) => manySeries(trigger, 100)) };
    const message = buildStatusBlocks(report, { dashboardUrl: 'https://grafana.example.com/d/x' });
    expect(checkBlockKitLimits([...(message.blocks ?? [])])).toEqual([]);
    expect(JSON.stringify(message.blocks)).toContain('more series not ok');
  });

  it('status of a config with 60 triggers cuts to 50 blocks and says how to see all', () => {
    const many = Array.from({ length: 60 }, (_, index) => ({ ...triggers[0]!, id: `t${index}`, name: `Trigger ${index}` }));
    const report: StatusReport = { verdict: 'ok', evaluatedAt: NOW, results: many.flatMap((trigger) => manySeries(trigger, 1)) };
    const message = buildStatusBlocks(report);
    expect(message.blocks).toHaveLength(50);
    expect(checkBlockKitLimits([...(message.blocks ?? [])])).toEqual([]);
    expect(JSON.stringify(message.blocks?.at(-1))).toContain('npx scalebot status');
  });

  it('a breach message, open and resolved, with long labels and a long summary', () => {
    const breach: BreachRow = {
      id: 7,
      key: 'k',
      source: 'alertmanager',
      triggerId: 'HighCPUUsage',
      name: 'HighCPUUsage',
      severity: 'immediate',
      labels: Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`label_${index}`, 'x'.repeat(80)])),
      status: 'open',
      openedAt: NOW,
      breachedSince: NOW,
      lastValue: '0.93',
      lastSeenAt: NOW,
      conditionFalseSince: null,
      resolvedAt: null,
      ackedBy: 'U1',
      ackedAt: NOW,
      snoozedBy: 'U2',
      snoozedUntil: new Date(NOW.getTime() + 3600_000),
      lastReminderAt: null,
      messageId: 1,
      detail: { summary: 's'.repeat(5000), unit: 'percent', op: '>', threshold: 0.7, forSeconds: 900, advice: 'Scale.' },
    };
    for (const row of [breach, { ...breach, status: 'resolved' as const, resolvedAt: NOW }]) {
      const message = buildBreachMessage(row, { now: NOW, snoozeOptionsSeconds: [3600, 14400, 86400] });
      expect(checkBlockKitLimits([...(message.blocks ?? [])])).toEqual([]);
    }
    const blind = buildBlindMessage({ id: 1, startedAt: NOW, endedAt: null, reason: 'r'.repeat(4000), outboxId: null }, NOW);
    expect(checkBlockKitLimits([...(blind.blocks ?? [])])).toEqual([]);
  });

  it('help lists every registered subcommand', () => {
    const help = buildHelp(SUBCOMMANDS);
    for (const sub of SUBCOMMANDS) expect(help.text).toContain(`/scale ${sub.usage}`);
    expect(checkBlockKitLimits([...(help.blocks ?? [])])).toEqual([]);
  });

  it('history of ten runs with long titles and a hundred decisions with long details, escaped', () => {
    const runs = Array.from({ length: 10 }, (_, id) => ({
      id,
      title: `<!channel> ${'t'.repeat(300)}`,
      requester: 'U1',
      status: 'awaiting_approval',
      createdAt: NOW,
    }));
    const decisions = Array.from({ length: 100 }, (_, id) => ({
      id,
      at: NOW,
      kind: 'step_finished',
      actor: 'U2',
      channel: 'C1',
      subject: `<@U3> ${'s'.repeat(200)}`,
      outcome: 'failed',
      detail: { run_id: id, step: 'x'.repeat(200) },
    }));
    const reply = buildHistoryReply(runs, decisions);
    expect(reply.text).toBe('Last 10 runs and 100 decisions');
    expect(checkBlockKitLimits([...(reply.blocks ?? [])])).toEqual([]);
    expect(JSON.stringify(reply.blocks)).not.toMatch(/<!channel>|<@U3>/);
  });
});

describe('describeState', () => {
  const trigger = (forSeconds: number): Trigger => ({ ...triggers[0]!, forSeconds });
  const result = (forSeconds: number, state: TriggerResult['state'], heldSeconds: number, heldWholeWindow = false): TriggerResult => ({
    trigger: trigger(forSeconds),
    labels: {},
    state,
    value: 1,
    heldSeconds,
    heldWholeWindow,
  });

  it.each([
    ['pending, held 11 min of 15 min', result(900, 'pending', 660)],
    // A `for` under a minute used to read "pending, 0 of 30 s": the held part was whole minutes.
    ['pending, held 20 s of 30 s', result(30, 'pending', 20)],
    ['pending, held 25 min of 1 h', result(3600, 'pending', 1500)],
    ['breached, held 22 min', result(900, 'breached', 1320)],
    ['breached, held ≥ 1 h', result(900, 'breached', 3600, true)],
    ['breached', result(0, 'breached', 0)],
    ['ok', result(900, 'ok', 0)],
  ])('reads %s', (expected, input) => {
    expect(describeState(input)).toBe(expected);
  });
});
