import type { Logger } from 'pino';
import { buildRunMessage } from '../../blocks/runbook.ts';
import { mayApproveUnder } from '../../core/approval.ts';
import type { Config } from '../../core/config/index.ts';
import type { Clock, LeaderGate, PrometheusPort, SshPort, Storage } from '../../core/ports.ts';
import type { PlannedStep, RunbookDef, RunPlan } from '../../core/runbooks.ts';
import type { TransitionName } from '../../core/run-state.ts';
import type { DecisionInput, Effects, MessageWrite } from '../../core/storage/effects.ts';
import {
  runMessageKey,
  type RunRecord,
  type RunSnapshot,
  type TransitionInput,
  type TransitionResult,
  type TransitionWritten,
} from '../../core/storage/runbooks.ts';
import { editMessage, payloadOf, postMessage, replyInThread, type OutboxDeliverer } from '../outbox.ts';

export interface ChecklistGateAnswer {
  readonly complete: boolean;
  readonly text: string;
}

/** Whether the checklist a runbook requires has been completed (wired to the checklist feature). */
export type ChecklistGate = (checklistId: string, now: Date) => ChecklistGateAnswer | Promise<ChecklistGateAnswer>;

export interface RunbookRunnerDeps {
  readonly storage: Storage;
  readonly config: Config;
  readonly ssh: SshPort;
  readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>;
  readonly deliver: OutboxDeliverer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
  /** Whether a checklist a runbook requires is complete (services/checklists answers). */
  readonly checklistGate: ChecklistGate;
  /** Told when a run succeeded (the checklists tick the items that name its runbook). */
  readonly onSucceeded: (run: RunRecord) => Promise<unknown>;
  /** How often a streaming step's message is edited at most. */
  readonly outputIntervalMs?: number;
  /**
   * Which replica runs steps (services/leadership.ts): only the leader executes, recovers and expires runs;
   * clicks on any replica only write. Default: this process is the only one.
   */
  readonly leader?: LeaderGate;
  /** The SSH connection's timeout: a step starts only while the leader's lease has more time left than this. */
  readonly sshConnectTimeoutMs?: number;
  /** How often the leader looks for runs a follower started or stopped; default 500 ms. */
  readonly reconcileEveryMs?: number;
  /** How often the leader expires stale requests; default 30 s. */
  readonly expireEveryMs?: number;
}

/** What to tell the person who clicked or typed, when it is not the message itself. */
export interface Answer {
  readonly ok: boolean;
  readonly message?: string;
}

/** Where a button was clicked: the channel and the message that carried it. */
export interface ClickOrigin {
  readonly channel: string | undefined;
  readonly messageTs: string | undefined;
}

export const OK: Answer = { ok: true };
export const refuse = (message: string): Answer => ({ ok: false, message });

export const CHANGED_MEANWHILE =
  ':twisted_rightwards_arrows: This run changed meanwhile (someone else clicked first, or a step ended); nothing was changed by your click';
export const STILL_POSTING =
  ":hourglass_flowing_sand: This run's message is still being recorded by the bot (it was posted a moment ago). " +
  'Click again in a few seconds; nothing was changed.';
export const NOT_ITS_MESSAGE = ":no_entry: That button does not belong to this run's message. Use the buttons on the run's own message; nothing was changed.";
export const IN_FLIGHT =
  ':hourglass: The last attempt of this step is still ending on the host (a Stop takes a few seconds to reach it). Try again in a moment; nothing was changed.';

/** What a run's message shows besides the stored rows, read before the transaction that renders it. */
export interface RunView {
  readonly runbook: RunbookDef | undefined;
  readonly checklist: { readonly id: string; readonly complete: boolean; readonly text: string } | null;
  readonly now: Date;
}

/** How a transition is recorded: its decision row and the note its message shows. */
export interface MoveOptions {
  readonly patch?: TransitionInput['patch'];
  readonly at?: TransitionInput['at'];
  readonly detail?: Record<string, unknown> | ((written: TransitionWritten) => Record<string, unknown>);
  readonly note?: string;
  readonly stepsInFlight?: TransitionInput['stepsInFlight'];
}

/** What requests, the executor and recovery share: the deps, the pure renderers, and the one way a run moves. */
export interface RunnerContext {
  readonly deps: RunbookRunnerDeps;
  readonly runbookOf: (run: Pick<RunRecord, 'runbookId'>) => RunbookDef | undefined;
  readonly stepsOf: (run: RunRecord) => readonly PlannedStep[];
  readonly viewOf: (run: Pick<RunRecord, 'runbookId'>) => Promise<RunView>;
  /**
   * The one function every click and executor step moves a run with: the transition as a compare-and-set
   * (core/run-state.ts), with its decision row, the unlock row when it ends the run, and the message's new
   * text, in one transaction. `ok: false` when the run had changed meanwhile: nothing is written.
   */
  readonly move: (run: RunRecord, name: TransitionName, actor: string, kind: string, options?: MoveOptions) => Promise<TransitionResult>;
  readonly mayApprove: (runbook: RunbookDef | undefined, user: string) => Promise<boolean>;
  readonly isAdmin: (user: string) => Promise<boolean>;
  readonly checklistGate: ChecklistGate;
}

export const planOf = (run: RunRecord): RunPlan => run.plan as unknown as RunPlan;

/** A decision row about a run. */
export function decisionOf(run: RunRecord, at: Date, kind: string, actor: string, outcome: string | null, detail: Record<string, unknown> = {}): DecisionInput {
  return { at, kind, actor, channel: run.channel, subject: run.runbookId, outcome, detail: { run_id: run.id, ...detail } };
}

/** The run's one message, posted the first time and edited after. */
export function renderRun({ run, approvals, steps }: RunSnapshot, view: RunView, note?: string): MessageWrite {
  const message = buildRunMessage({
    run,
    plan: planOf(run),
    runbook: view.runbook,
    approvals,
    steps,
    checklist: view.checklist,
    now: view.now,
    ...(note ? { note } : {}),
  });
  const payload = payloadOf(message);
  return run.messageId === null ? postMessage(runMessageKey(run.id), run.channel, payload, view.now) : editMessage(runMessageKey(run.id), payload);
}

/** A reply in the run's thread, once per key; none while the run has no message. */
export function threadReply(run: RunRecord, key: string, text: string, at: Date): MessageWrite[] {
  if (run.messageId === null) return [];
  return [replyInThread(runMessageKey(run.id), `${runMessageKey(run.id)}:${key}`, run.channel, { text }, at)];
}

/** A transition's decision row, the unlock row when it released hosts, and the message's new text. */
export function transitionEffects(view: RunView, actor: string, kind: string, options: Pick<MoveOptions, 'detail' | 'note'> = {}) {
  return (written: TransitionWritten): Effects => {
    const detail = typeof options.detail === 'function' ? options.detail(written) : (options.detail ?? {});
    return {
      decisions: [
        decisionOf(written.run, view.now, kind, actor, written.run.status, detail),
        ...(written.released.length > 0 ? [decisionOf(written.run, view.now, 'unlock', 'scalebot', 'released', { hosts: written.released })] : []),
      ],
      messages: [renderRun(written, view, options.note)],
    };
  };
}

export function createRunnerContext(deps: RunbookRunnerDeps): RunnerContext {
  const { config, clock } = deps;
  const { checklistGate } = deps;
  const runbookOf = (run: Pick<RunRecord, 'runbookId'>) => config.runbooks.find((runbook) => runbook.id === run.runbookId);

  async function viewOf(run: Pick<RunRecord, 'runbookId'>): Promise<RunView> {
    const runbook = runbookOf(run);
    const now = clock();
    const checklist = runbook?.requiresChecklist ? { id: runbook.requiresChecklist, ...(await checklistGate(runbook.requiresChecklist, now)) } : null;
    return { runbook, checklist, now };
  }

  async function mayApprove(runbook: RunbookDef | undefined, user: string): Promise<boolean> {
    if (!runbook) return false;
    const { approval } = runbook;
    // An empty list allows everyone in isAllowed: a runbook that names nobody is approved by nobody.
    const listed = !approval.anyone && approval.approvers.length > 0 && (await deps.isAllowed(user, approval.approvers));
    return mayApproveUnder(approval, listed);
  }

  return {
    deps,
    runbookOf,
    stepsOf: (run) => (run.phase === 'rollback' ? planOf(run).rollback : planOf(run).steps),
    viewOf,
    async move(run, name, actor, kind, { patch, at, detail, note, stepsInFlight } = {}) {
      const view = await viewOf(run);
      return deps.storage.runbooks.transition({
        id: run.id,
        name,
        ...(at ? { at } : {}),
        ...(patch ? { patch } : {}),
        ...(stepsInFlight ? { stepsInFlight } : {}),
        now: view.now,
        effects: transitionEffects(view, actor, kind, { detail, note }),
      });
    },
    mayApprove,
    isAdmin: async (user) => config.admins.length > 0 && deps.isAllowed(user, config.admins),
    checklistGate,
  };
}
