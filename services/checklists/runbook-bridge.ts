import { judgeChecklistGate, transition, CHECKLIST_GATE_MAX_AGE_SECONDS } from '../../core/checklists.ts';
import type { Config } from '../../core/config/index.ts';
import type { ChecklistRunRecord, ChecklistRunState, ChecklistStore } from '../../core/storage/checklists.ts';
import { describeParams, PlanError } from '../../core/runbooks.ts';
import { ParamError, TemplateError } from '../../core/shell-quote.ts';
import type { ChecklistMessageOptions } from '../../blocks/checklist.ts';
import type { RunbookRunner } from '../runbooks/index.ts';
import { changeRun, renderRun, viewOf } from './run-changes.ts';

export { CHECKLIST_GATE_MAX_AGE_SECONDS };

/**
 * What checklists need of runbooks (services/runbooks provides it, wired in bot/main.ts): whether one is configured, and starting one from an
 * item's button. When the run succeeds, the runbook feature calls `tickItemsForRunbook`.
 */
export interface ChecklistRunbookPort {
  has(runbookId: string): boolean;
  start(input: {
    readonly runbookId: string;
    readonly checklistRunId: number;
    readonly itemId: string;
    readonly user: string;
    readonly channel: string;
  }): Promise<{ readonly message: string }>;
}

export interface RunbookSuccess {
  readonly runbookId: string;
  /** The checklist run the runbook was started from; absent: every open run with an item for this runbook. */
  readonly checklistRunId?: number;
  /** Who started the runbook run: the ticks are theirs. */
  readonly user: string;
  readonly at?: Date;
  /** Kept with each tick (e.g. the runbook run's id). */
  readonly detail?: Record<string, unknown>;
}

/** What a runbook with `requires_checklist` is told: whether it may run, and why not in words. */
export interface ChecklistGateAnswer {
  readonly complete: boolean;
  readonly text: string;
}

/**
 * The gate's answer for the latest run of a checklist (abandoned ones left out): core/checklists.ts
 * `judgeChecklistGate` decides, this says it in words.
 */
export function answerChecklistGate(checklistId: string, latest: ChecklistRunState | undefined, now: Date): ChecklistGateAnswer {
  const verdict = judgeChecklistGate(latest && { status: latest.run.status, endedAt: latest.run.endedAt, states: viewOf(latest).states }, now);
  const start = `start one with /scale checklist ${checklistId}`;
  if (verdict.kind === 'no_run' || !latest) return { complete: false, text: `no run of it yet; ${start}` };
  const { run } = latest;
  const label = `run #${run.id}${run.name ? ` (${run.name})` : ''}`;
  const utc = (at: Date) => `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  switch (verdict.kind) {
    case 'open':
      return { complete: false, text: `${label} is open, ${verdict.done} of ${verdict.total} done` };
    case 'closed':
      return { complete: false, text: `${label} was closed with items open; ${start}` };
    case 'too_old':
      return { complete: false, text: `${label} was completed ${utc(verdict.completedAt)}, more than 7 days ago; ${start}` };
    case 'complete':
      return { complete: true, text: `${label} completed ${utc(verdict.completedAt)}` };
  }
}

export interface RunbookBridgeDeps {
  readonly store: ChecklistStore;
  readonly clock: () => Date;
  readonly messageOptions: ChecklistMessageOptions;
  readonly deliver: () => Promise<void>;
  readonly runbooks: ChecklistRunbookPort;
}

/**
 * Where checklist runs and runbooks meet: an item's button starts its runbook, a runbook's success ticks the
 * items that name it, and a runbook that requires a checklist asks the gate.
 */
export function createRunbookBridge(deps: RunbookBridgeDeps) {
  const { store, clock, messageOptions } = deps;

  /** An item's "Start runbook" button. */
  async function startRunbook(run: ChecklistRunRecord, itemId: string, user: string): Promise<{ message: string; refused?: 'malformed' | 'no_runbook' }> {
    const item = run.definition.items.find((candidate) => candidate.id === itemId)!;
    if (item.action?.kind !== 'runbook') return { refused: 'malformed', message: 'That item has no runbook; nothing was changed.' };
    const runbookId = item.action.runbook;
    if (!deps.runbooks.has(runbookId)) {
      return { refused: 'no_runbook', message: `No runbook \`${runbookId}\` is configured; tick the item by hand once it is done.` };
    }
    return deps.runbooks.start({ runbookId, checklistRunId: run.id, itemId, user, channel: run.channel });
  }

  /**
   * For the runbook feature: a run of `runbookId` succeeded, so every open item whose action is that runbook
   * is ticked (as `user`, source "runbook"), in the given checklist run or in every open one. Returns what
   * was ticked; the messages are updated before it resolves.
   */
  async function tickItemsForRunbook(success: RunbookSuccess): Promise<Array<{ runId: number; itemId: string }>> {
    const at = success.at ?? clock();
    const detail = { runbook: success.runbookId, ...success.detail };
    const ticked: Array<{ runId: number; itemId: string }> = [];
    const candidates = await store.listOpenWithRunbook(success.runbookId, success.checklistRunId !== undefined ? [success.checklistRunId] : undefined);
    for (const runId of candidates) {
      const items = await changeRun(store, runId, (state) => {
        const decided = transition(viewOf(state), { kind: 'runbook_succeeded', runbookId: success.runbookId });
        if (decided.kind !== 'apply') return { answer: [] };
        return {
          write: {
            ticks: decided.ticks.map((tick) => ({ itemId: tick.itemId, action: tick.action, actor: success.user, at, source: 'runbook' as const, detail })),
          },
          effects: (changed) => ({
            decisions: changed.appended.map((tick) => ({
              at,
              kind: 'checklist_tick',
              actor: success.user,
              channel: changed.run.channel,
              subject: changed.run.checklistId,
              outcome: 'ticked',
              detail: {
                run_id: runId,
                item_id: tick.itemId,
                item: changed.run.definition.items.find((item) => item.id === tick.itemId)!.text,
                source: 'runbook',
                ...detail,
              },
            })),
            messages: renderRun(changed, messageOptions),
          }),
          afterWrite: (changed) => changed.appended.map((tick) => tick.itemId),
        };
      });
      for (const itemId of items ?? []) ticked.push({ runId, itemId });
    }
    if (ticked.length > 0) await deps.deliver();
    return ticked;
  }

  /**
   * For runbooks with `requires_checklist`: complete when the latest run of that checklist (abandoned ones left
   * out) was completed, within the last seven days. An open or closed-with-items-open run holds the runbook back.
   */
  async function gate(checklistId: string, now: Date): Promise<ChecklistGateAnswer> {
    return answerChecklistGate(checklistId, await store.latest(checklistId), now);
  }

  return { startRunbook, tickItemsForRunbook, gate };
}

/**
 * The runbooks as checklist items see them: an item offers its runbook when one with that id is configured.
 * Starting it from the button plans it right away when it needs no parameters; otherwise the clicker is told
 * the command to type. Either way, its success ticks the item (`onSucceeded` in bot/main.ts).
 */
export function createChecklistRunbookPort(config: Config, runner: () => Pick<RunbookRunner, 'request'>): ChecklistRunbookPort {
  return {
    has: (runbookId) => config.runbooks.some((runbook) => runbook.id === runbookId),
    async start({ runbookId, user, channel }) {
      const runbook = config.runbooks.find((candidate) => candidate.id === runbookId);
      if (!runbook) return { message: `No runbook \`${runbookId}\` is configured; tick the item by hand once it is done.` };
      const command = `/scale run ${runbook.id}${runbook.params.length > 0 ? ` ${describeParams(runbook)}` : ''}`;
      if (runbook.params.some((param) => param.default === undefined)) {
        return {
          message: `Start it with \`${command}\` (it needs ${runbook.params
            .filter((param) => param.default === undefined)
            .map((param) => param.name)
            .join(', ')}). When the run succeeds, this item is ticked.`,
        };
      }
      try {
        const answer = await runner().request(runbook.id, {}, user, channel);
        if (!answer.ok) return { message: `:no_entry: ${answer.message}` };
        return { message: `Runbook \`${runbook.id}\` is planned in this channel; it runs once approved, and ticks this item when it succeeds.` };
      } catch (error) {
        if (error instanceof PlanError || error instanceof ParamError || error instanceof TemplateError)
          return { message: `${error.message}. Start it with \`${command}\`.` };
        throw error;
      }
    },
  };
}
