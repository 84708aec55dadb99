// Drives runbook runs through the Slack harness the way the end-to-end runbook tests do (tests/services/runbooks/
// postgres.test.ts, vertical-migration.test.ts): a slash command, a click on the plan message, and a run followed
// to its end with every confirm step confirmed by the lead. The shipped runbooks are read as written, for the
// tests' own translations of their commands.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { getRun, listSteps } from '../../db/runbooks.ts';
import type { TestBot } from './bot.ts';
import { buildBlockActionsPayload, sendInteraction, sendSlashCommand, type FakeSlack } from './slack/index.ts';

export interface StepEntry {
  id: string;
  host: string;
  run: string;
  confirm?: boolean;
  [key: string]: unknown;
}

export interface RunbookEntry {
  id: string;
  steps: StepEntry[];
  rollback?: StepEntry[];
  [key: string]: unknown;
}

/** The shipped runbooks as written in config/runbooks.yaml, before any merging. */
export function shippedRunbookEntries(): RunbookEntry[] {
  return (parse(readFileSync(join(import.meta.dirname, '../../config/runbooks.yaml'), 'utf8')) as { runbooks: RunbookEntry[] }).runbooks;
}

const ENDED = ['succeeded', 'failed', 'rolled_back', 'rollback_failed', 'stopped', 'interrupted', 'rejected', 'expired'];

export interface RunbookDriverContext {
  readonly channel: string;
  /** Who confirms each confirm step. */
  readonly lead: string;
  /** Getters: the tests start these in beforeAll, after the driver is made. */
  readonly harness: () => TestBot;
  readonly fake: () => FakeSlack;
}

export function runbookDriver({ channel, lead, harness, fake }: RunbookDriverContext) {
  const flat = (value: unknown) => JSON.stringify(value);

  async function command(text: string, user: string): Promise<string> {
    const responseUrl = fake().newResponseUrl({ channel, user });
    const answer = await sendSlashCommand(harness().url, harness().secret, { text, user_id: user, channel_id: channel, response_url: responseUrl });
    expect(answer.status).toBe(200);
    return responseUrl;
  }

  async function click(user: string, ts: string, actionId: string): Promise<string> {
    const message = fake().message(channel, ts)!;
    const responseUrl = fake().newResponseUrl({ channel, user, messageTs: ts });
    const payload = buildBlockActionsPayload({ user, channel, message, action: { action_id: actionId }, response_url: responseUrl });
    expect((await sendInteraction(harness().url, harness().secret, payload)).status).toBe(200);
    return responseUrl;
  }

  /** Every step of the run with its status, exit code, message and output: what a failure message needs. */
  function describeSteps(runId: number): string {
    return listSteps(harness().bot.database.db, runId)
      .map((step) => `${step.phase}/${step.stepId}: ${step.status} (exit ${step.exitCode}) ${step.message ?? ''}\n${step.output ?? ''}`)
      .join('\n---\n');
  }

  /**
   * Waits for the run to end with `status` (default succeeded); each time it stops at a confirm step, the lead
   * clicks Confirm on the plan message (once the message shows that step's button), unless that step is `stopAt`
   * (`phase:index`), where it returns. Returns the step keys confirmed.
   */
  async function driveToEnd(runId: number, planTs: string, until: { status?: string; stopAt?: string; timeoutMs?: number } = {}): Promise<string[]> {
    const deadline = Date.now() + (until.timeoutMs ?? 45_000);
    const confirmed: string[] = [];
    for (;;) {
      const run = getRun(harness().bot.database.db, runId)!;
      if (ENDED.includes(run.status)) {
        await harness().bot.runbooks.idle();
        if (run.status !== (until.status ?? 'succeeded')) throw new Error(`run #${runId} ended ${run.status}:\n${describeSteps(runId)}`);
        return confirmed;
      }
      const key = `${run.phase}:${run.stepIndex}`;
      if (run.status === 'awaiting_confirmation' && key === until.stopAt) return confirmed;
      if (run.status === 'awaiting_confirmation' && !confirmed.includes(key)) {
        const value = `${runId}:${run.phase}:${run.stepIndex}`;
        await fake().waitFor((f) => flat(f.message(channel, planTs)?.blocks).includes(`"value":"${value}"`), { timeoutMs: 10_000 });
        await click(lead, planTs, 'run_confirm');
        confirmed.push(key);
      }
      if (Date.now() > deadline) throw new Error(`run #${runId} still ${run.status} at step ${run.stepIndex + 1}:\n${describeSteps(runId)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  return { command, click, describeSteps, driveToEnd };
}
