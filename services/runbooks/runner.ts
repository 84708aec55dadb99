import type { Logger } from 'pino';
import { describeIds, planRun, judgeApproval, type RunbookDef, type RunPlan, type PlannedStep } from '../../core/runbooks.ts';
import { collectStatus } from '../../core/status.ts';
import { inTransaction, type Db } from '../../db/client.ts';
import { recordDecision } from '../../db/decision-log.ts';
import { canApply, isFinished, stepKey, TRANSITIONS, type RunStatus, type TransitionName } from '../../core/run-state.ts';
import { redactSecrets } from '../../core/redact.ts';
import { enqueueMessage, getMessage, setMessagePayload } from '../../db/outbox.ts';
import {
  acquireLocks,
  addApproval,
  advanceStep,
  createRun,
  forceReleaseLock,
  getLock,
  getRun,
  listApprovals,
  listRuns,
  listSteps,
  runningSteps,
  startStep,
  transitionRun,
  updateRun,
  updateStep,
  type RunRow,
  type StepRow,
} from '../../db/runbooks.ts';
import type { PrometheusPort } from '../../integrations/prometheus.ts';
import type { RunOptions, SshPort, StepResult } from '../../integrations/ssh.ts';
import { buildRunMessage, buildStepMessage } from '../../blocks/runbook.ts';
import type { Config } from '../../core/config/index.ts';
import type { OutboxDeliverer } from '../outbox.ts';

/** Whether the checklist a runbook requires has been completed (wired to the checklist feature). */
export type ChecklistGate = (checklistId: string, now: Date) => { complete: boolean; text: string };

export interface RunbookRunnerDeps {
  readonly db: Db;
  readonly config: Config;
  readonly ssh: SshPort;
  readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>;
  readonly deliver: OutboxDeliverer;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
  readonly checklistGate?: ChecklistGate;
  /** Told when a run succeeded (the checklists tick the items that name its runbook). */
  readonly onSucceeded?: (run: RunRow) => Promise<unknown>;
  /** How often a streaming step's message is edited at most. */
  readonly outputIntervalMs?: number;
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

const OK: Answer = { ok: true };
const refuse = (message: string): Answer => ({ ok: false, message });

export const CHANGED_MEANWHILE = ':twisted_rightwards_arrows: This run changed meanwhile (someone else clicked first, or a step ended); nothing was changed by your click';
export const NOT_ITS_MESSAGE = ':no_entry: That button does not belong to this run\'s message. Use the buttons on the run\'s own message; nothing was changed.';
export const IN_FLIGHT = ':hourglass: The last attempt of this step is still ending on the host (a Stop takes a few seconds to reach it). Try again in a moment; nothing was changed.';

/**
 * Runbooks from request to record: the plan is posted with Approve / Reject / Cancel, runs only after the
 * approval policy is met, steps run one after another over SSH with their output streamed into the thread,
 * a failure stops the run and offers Retry / Roll back / Abandon. Every decision is a decision-log row, and
 * every state is in SQLite before Slack hears of it, so a restart finds each run where it was.
 */
export function createRunbookRunner(deps: RunbookRunnerDeps) {
  const { db, config, clock, logger } = deps;
  const controllers = new Map<number, AbortController>();
  let shuttingDown = false;
  const executions = new Map<number, Promise<void>>();
  const relaunch = new Set<number>();
  const checklistGate: ChecklistGate =
    deps.checklistGate ?? ((id) => ({ complete: false, text: `checklists are not available, so "${id}" cannot be confirmed complete` }));
  const outputIntervalMs = deps.outputIntervalMs ?? 1000;

  const runbookOf = (run: RunRow) => config.runbooks.find((runbook) => runbook.id === run.runbookId);
  const planOf = (run: RunRow) => run.plan as unknown as RunPlan;
  const stepsOf = (run: RunRow): readonly PlannedStep[] => (run.phase === 'rollback' ? planOf(run).rollback : planOf(run).steps);

  function log(run: RunRow, kind: string, actor: string, outcome: string | null, detail: Record<string, unknown> = {}) {
    recordDecision(db, { at: clock(), kind, actor, channel: run.channel, subject: run.runbookId, outcome, detail: { run_id: run.id, ...detail } });
  }

  function render(run: RunRow, note?: string): void {
    const runbook = runbookOf(run);
    const checklist = runbook?.requiresChecklist ? { id: runbook.requiresChecklist, ...checklistGate(runbook.requiresChecklist, clock()) } : null;
    const message = buildRunMessage({
      run,
      plan: planOf(run),
      runbook,
      approvals: listApprovals(db, run.id),
      steps: listSteps(db, run.id),
      checklist,
      now: clock(),
      ...(note ? { note } : {}),
    });
    const payload = { text: message.text, blocks: [...(message.blocks ?? [])] };
    if (run.messageId) setMessagePayload(db, run.messageId, payload);
    else {
      const row = enqueueMessage(db, { dedupeKey: `run:${run.id}`, channel: run.channel, payload, at: clock() });
      updateRun(db, run.id, { messageId: row.id });
    }
  }

  function threadReply(run: RunRow, key: string, text: string): void {
    if (!run.messageId) return;
    enqueueMessage(db, { dedupeKey: `run:${run.id}:${key}`, channel: run.channel, parentId: run.messageId, payload: { text }, at: clock() });
  }

  async function mayApprove(runbook: RunbookDef | undefined, user: string): Promise<boolean> {
    if (!runbook) return false;
    if (runbook.approval.anyone) return true;
    // An empty list allows everyone in isAllowed: a runbook that names nobody is approved by nobody.
    return runbook.approval.approvers.length > 0 && deps.isAllowed(user, runbook.approval.approvers);
  }

  /** A step marked confirm, and so its retry, needs an approver; the requester only if the policy allows self-approval. */
  async function mayConfirm(run: RunRow, user: string): Promise<boolean> {
    const runbook = runbookOf(run);
    if (!runbook || (user === run.requester && !runbook.approval.allowSelf)) return false;
    return mayApprove(runbook, user);
  }

  async function isAdmin(user: string): Promise<boolean> {
    return config.admins.length > 0 && deps.isAllowed(user, config.admins);
  }

  /** Requester, approvers and admins may stop, retry, roll back or abandon a run they can see. */
  async function mayOperate(run: RunRow, user: string): Promise<boolean> {
    if (user === run.requester) return true;
    if (await mayApprove(runbookOf(run), user)) return true;
    return isAdmin(user);
  }

  /**
   * A run's buttons act on that run only from its own message: a click carrying another channel or message
   * (a forged payload, a copy of the blocks pasted elsewhere) changes nothing.
   */
  function fromItsMessage(run: RunRow, origin: ClickOrigin | undefined): boolean {
    if (!origin) return true;
    if (origin.channel !== run.channel) return false;
    const posted = run.messageId ? getMessage(db, run.messageId) : undefined;
    return Boolean(posted?.ts) && posted!.ts === origin.messageTs;
  }

  /** A step of this run whose attempt has not ended yet (a Stop still reaching the host). */
  const stepInFlight = (runId: number) => runningSteps(db, runId).length > 0;

  /**
   * Applies a transition as a compare-and-set with its decision-log row and the message's new text, all in the
   * caller's transaction. Undefined when the run had changed meanwhile: nothing is written.
   */
  function apply(
    run: RunRow,
    name: TransitionName,
    actor: string,
    kind: string,
    { patch = {}, at = {}, detail = {}, note }: { patch?: Partial<Omit<RunRow, 'id' | 'status'>>; at?: { phase?: string; stepIndex?: number }; detail?: Record<string, unknown>; note?: string } = {},
  ): RunRow | undefined {
    const moved = transitionRun(db, run.id, name, { ...patch, ...(TRANSITIONS[name].releasesLocks ? { endedAt: clock() } : {}) }, at);
    if (!moved) return undefined;
    log(moved.run, kind, actor, moved.run.status, detail);
    if (moved.released.length > 0) log(moved.run, 'unlock', 'scalebot', 'released', { hosts: moved.released });
    render(moved.run, note);
    return moved.run;
  }

  /** The click lost a race: someone else's click or the executor changed the run first. */
  function changedMeanwhile(runId: number): Answer {
    const now = getRun(db, runId);
    return refuse(`${CHANGED_MEANWHILE}${now ? ` (run #${runId} is now ${now.status.replace(/_/g, ' ')})` : ''}.`);
  }

  /** `/scale run <id> key=value …`: validated, planned, locked, posted. Throws PlanError/ParamError. */
  async function request(runbookId: string, given: Record<string, string>, requester: string, channel: string): Promise<Answer> {
    const runbook = config.runbooks.find((candidate) => candidate.id === runbookId);
    if (!runbook) return refuse(`There is no runbook \`${runbookId}\`. \`/scale runbooks\` lists them.`);
    if (runbook.disabled) {
      recordDecision(db, { at: clock(), kind: 'run_refused', actor: requester, channel, subject: runbook.id, outcome: 'disabled', detail: { reason: runbook.disabled } });
      return refuse(`\`${runbook.id}\` is disabled: ${runbook.disabled}`);
    }
    if (runbook.requesters.length > 0 && !(await deps.isAllowed(requester, runbook.requesters))) {
      recordDecision(db, { at: clock(), kind: 'run_refused', actor: requester, channel, subject: runbook.id, outcome: 'not_a_requester' });
      return refuse(`Only ${describeIds(runbook.requesters)} may request \`${runbook.id}\` (\`requesters\` in the config); ask one of them. Nothing was planned.`);
    }
    const plan = planRun(runbook, given, config.hosts);
    const now = clock();
    const outcome = inTransaction(db, (): { answer: Answer; runId?: number } => {
      const run = createRun(db, {
        runbookId: runbook.id,
        title: runbook.title,
        requester,
        channel,
        params: { ...plan.params },
        plan: plan as unknown as Record<string, unknown>,
        status: 'awaiting_approval',
        createdAt: now,
        expiresAt: new Date(now.getTime() + runbook.approval.expiresSeconds * 1000),
      });
      const locked = acquireLocks(db, plan.hosts, run.id, requester, now);
      if (!locked.ok) {
        const holder = getRun(db, locked.lock.runId);
        // The run never existed for anyone: it is recorded as refused, not left waiting.
        updateRun(db, run.id, { status: 'cancelled', endedAt: now });
        log(run, 'run_refused', requester, 'locked', { host: locked.lock.host, locked_by_run: locked.lock.runId });
        return {
          answer: refuse(
            `\`${locked.lock.host}\` is locked by run #${locked.lock.runId}${holder ? ` (${holder.title}, started by <@${holder.requester}>, since ${holder.createdAt.toISOString().slice(11, 16)} UTC)` : ''}. An admin can release it with \`/scale unlock ${locked.lock.host}\`.`,
          ),
        };
      }
      log(run, 'run_requested', requester, 'planned', { params: plan.params, hosts: plan.hosts, steps: plan.steps.map((step) => ({ id: step.id, host: step.host, command: step.command })) });
      log(run, 'lock', requester, 'locked', { hosts: plan.hosts });
      render(run);
      return { answer: OK, runId: run.id };
    });
    await deps.deliver();
    if (outcome.runId !== undefined) {
      const unseen = planNotPostable(outcome.runId);
      if (unseen) return unseen;
    }
    return outcome.answer;
  }

  /**
   * A plan Slack refused for good (the bot is not in the channel, the channel is archived) can be seen and
   * approved by nobody: it is cancelled at once so that it does not hold its hosts' locks invisibly.
   */
  function planNotPostable(runId: number): Answer | null {
    const run = getRun(db, runId);
    const posted = run?.messageId ? getMessage(db, run.messageId) : undefined;
    if (!run || !posted || posted.status !== 'failed') return null;
    const reason = posted.lastError ?? 'refused';
    const cancelled = inTransaction(db, () => apply(run, 'cancel', 'scalebot', 'run_cancelled', { detail: { reason: `the plan could not be posted: ${reason}` } }));
    if (!cancelled) return null;
    const hint = reason === 'not_in_channel' || reason === 'channel_not_found' ? 'invite me first (`/invite @scalebot`), or ask in a channel I am in' : 'ask again in a channel I can post in';
    return refuse(`I could not post run #${runId}'s plan in this channel (Slack said \`${reason}\`), so nobody could approve it: it is cancelled and its hosts are not locked. To run it, ${hint}.`);
  }

  async function snapshotTriggers(now: Date) {
    try {
      const report = await collectStatus(config.triggers, deps.prometheus, now, config.prometheus.lookbackSeconds);
      return {
        verdict: report.failure ? 'no_data' : report.verdict,
        triggers: report.results.map((result) => ({ id: result.trigger.id, labels: result.labels, state: result.state, value: result.value })),
      };
    } catch (error) {
      return { verdict: 'no_data', error: redactSecrets((error as Error).message) };
    }
  }

  function expireIfDue(run: RunRow): RunRow {
    if (run.status !== 'awaiting_approval' || run.expiresAt > clock()) return run;
    return inTransaction(db, () => apply(run, 'expire', 'scalebot', 'run_expired', { detail: { expired_at: run.expiresAt.toISOString() } })) ?? getRun(db, run.id)!;
  }

  async function approve(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const found = getRun(db, runId);
    if (!found) return refuse(`Run #${runId} does not exist.`);
    const run = expireIfDue(found);
    if (run.status !== 'awaiting_approval') {
      await deps.deliver();
      return refuse(`Run #${runId} is not waiting for approval (${run.status.replace(/_/g, ' ')}).`);
    }
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    const runbook = runbookOf(run);
    if (!runbook) return refuse(`Runbook ${run.runbookId} is no longer configured.`);
    const decision = judgeApproval(runbook.approval, {
      requester: run.requester,
      approver: user,
      isApprover: await mayApprove(runbook, user),
      alreadyApproved: listApprovals(db, run.id).map((approval) => approval.approver),
    });
    if (!decision.accepted) {
      log(run, 'approval_refused', user, 'refused', { reason: decision.reason });
      return refuse(`:no_entry: Your approval does not count: ${decision.reason}. Nothing was changed.`);
    }
    const snapshot = await snapshotTriggers(clock());
    const outcome = inTransaction(db, (): 'changed' | 'expired' | 'duplicate' | 'counted' | 'approved' => {
      const current = getRun(db, runId)!;
      if (current.status !== 'awaiting_approval') return 'changed';
      if (current.expiresAt <= clock()) {
        apply(current, 'expire', 'scalebot', 'run_expired', { detail: { expired_at: current.expiresAt.toISOString() } });
        return 'expired';
      }
      if (!addApproval(db, runId, user, clock())) return 'duplicate';
      const count = listApprovals(db, runId).length;
      log(current, 'approval', user, 'approved', { approvals: count, required: runbook.approval.required, trigger_snapshot: snapshot });
      if (count < runbook.approval.required) {
        render(current);
        return 'counted';
      }
      // Settled inside the transaction, so a second approval arriving at the same moment cannot start it twice.
      if (!transitionRun(db, runId, 'approve')) throw new Error(`run ${runId} left awaiting_approval inside its own transaction`);
      return 'approved';
    });
    if (outcome === 'approved') return begin(runId, user);
    await deps.deliver();
    if (outcome === 'changed') return changedMeanwhile(runId);
    if (outcome === 'expired') return refuse(`Run #${runId} expired before your approval arrived. Nothing was changed.`);
    if (outcome === 'duplicate') return refuse('You have approved it already.');
    return OK;
  }

  /** Approved: start, unless the required checklist is not complete yet. */
  async function begin(runId: number, user: string): Promise<Answer> {
    const run = getRun(db, runId)!;
    const runbook = runbookOf(run);
    if (runbook?.requiresChecklist) {
      const gate = checklistGate(runbook.requiresChecklist, clock());
      if (!gate.complete) {
        if (run.status === 'approved') {
          inTransaction(db, () => apply(run, 'holdForChecklist', user, 'run_waiting_checklist', { detail: { checklist: runbook.requiresChecklist, reason: gate.text } }));
        }
        await deps.deliver();
        return refuse(`Run #${runId} waits for checklist \`${runbook.requiresChecklist}\`: ${gate.text}. Press Start once it is complete.`);
      }
    }
    const running = inTransaction(db, () => apply(run, 'begin', user, 'run_started', { patch: { startedAt: run.startedAt ?? clock() } }));
    await deps.deliver();
    if (!running) return changedMeanwhile(runId);
    launch(runId);
    return OK;
  }

  async function start(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || run.status !== 'waiting_checklist') return refuse(`Run #${runId} is not waiting to start.`);
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    if (!(await mayOperate(run, user))) return refuse(`:no_entry: Only the requester, its approvers or an admin may start it.`);
    return begin(runId, user);
  }

  async function reject(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const found = getRun(db, runId);
    if (!found) return refuse(`Run #${runId} does not exist.`);
    const run = expireIfDue(found);
    if (run.status !== 'awaiting_approval') return refuse(`Run #${runId} is not waiting for approval.`);
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    if (user === run.requester || !(await mayApprove(runbookOf(run), user))) {
      log(run, 'rejection_refused', user, 'refused');
      return refuse(`:no_entry: Only one of its approvers may reject it (the requester can Cancel). Nothing was changed.`);
    }
    const rejected = inTransaction(db, () => apply(run, 'reject', user, 'run_rejected'));
    await deps.deliver();
    return rejected ? OK : changedMeanwhile(runId);
  }

  async function cancel(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !canApply('cancel', run.status as RunStatus)) return refuse(`Run #${runId} cannot be cancelled now.`);
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    if (user !== run.requester && !(await isAdmin(user))) {
      log(run, 'cancel_refused', user, 'refused');
      return refuse(':no_entry: Only the requester (or an admin) may cancel it.');
    }
    const cancelled = inTransaction(db, () => apply(run, 'cancel', user, 'run_cancelled'));
    await deps.deliver();
    return cancelled ? OK : changedMeanwhile(runId);
  }

  async function confirm(runId: number, user: string, phase: string, index: number, origin?: ClickOrigin): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || run.status !== 'awaiting_confirmation' || run.phase !== phase || run.stepIndex !== index) {
      return refuse('That step is not waiting for confirmation (the message you clicked is out of date).');
    }
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    if (!(await mayConfirm(run, user))) {
      log(run, 'confirmation_refused', user, 'refused', { step: stepsOf(run)[index]?.id });
      return refuse(`:no_entry: A step marked confirm needs one of the approvers, not the requester. Nothing was changed.`);
    }
    const running = inTransaction(db, () =>
      apply(run, 'confirm', user, 'confirmation', { patch: { confirmedStep: stepKey(phase, index) }, at: { phase, stepIndex: index }, detail: { step: stepsOf(run)[index]?.id, phase } }),
    );
    await deps.deliver();
    if (!running) return changedMeanwhile(runId);
    launch(runId);
    return OK;
  }

  async function stop(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !canApply('stop', run.status as RunStatus)) return refuse(`Run #${runId} is not running.`);
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    if (!(await mayOperate(run, user))) return refuse(`:no_entry: Only the requester, its approvers or an admin may stop it.`);
    // The status changes first: the executor checks it before every step and before every command, so a Stop
    // that lands before the first step, between two, or while a command starts is never overwritten.
    const stopped = inTransaction(db, () => {
      const current = getRun(db, runId)!;
      return apply(current, 'stop', user, 'run_stopped', {
        detail: { step: stepsOf(current)[current.stepIndex]?.id, phase: current.phase, was: current.status },
        note: `stopped by ${user}`,
      });
    });
    controllers.get(runId)?.abort();
    await deps.deliver();
    if (!stopped) return changedMeanwhile(runId);
    await executions.get(runId);
    return OK;
  }

  async function retry(runId: number, user: string, phase: string, index: number, origin?: ClickOrigin): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !canApply('retry', run.status as RunStatus) || run.phase !== phase || run.stepIndex !== index) {
      return refuse('That step cannot be retried now (the message you clicked is out of date).');
    }
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    const step = stepsOf(run)[index];
    // Retrying a step marked confirm runs it: the click is its confirmation, so only a confirmer may make it.
    if (step?.confirm) {
      if (!(await mayConfirm(run, user))) {
        log(run, 'retry_refused', user, 'refused', { step: step.id, phase, reason: 'confirm step' });
        return refuse(`:no_entry: Step ${index + 1} is marked confirm: retrying it confirms it, so only one of the approvers other than the requester may retry it. Nothing was changed.`);
      }
    } else if (!(await mayOperate(run, user))) {
      return refuse(`:no_entry: Only the requester, its approvers or an admin may retry.`);
    }
    const running = inTransaction(db, () => {
      if (stepInFlight(runId)) return 'in_flight' as const;
      return apply(run, 'retry', user, 'retry', {
        patch: { confirmedStep: step?.confirm ? stepKey(phase, index) : null },
        at: { phase, stepIndex: index },
        detail: { phase, step: step?.id, confirmed: Boolean(step?.confirm) },
      });
    });
    await deps.deliver();
    if (running === 'in_flight') return refuse(IN_FLIGHT);
    if (!running) return changedMeanwhile(runId);
    launch(runId);
    return OK;
  }

  async function rollback(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !canApply('rollback', run.status as RunStatus) || run.phase !== 'steps') return refuse(`Run #${runId} cannot be rolled back now.`);
    if (planOf(run).rollback.length === 0) return refuse('This runbook has no rollback steps.');
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    if (!(await mayOperate(run, user))) return refuse(`:no_entry: Only the requester, its approvers or an admin may roll back.`);
    const rolling = inTransaction(db, () => {
      if (stepInFlight(runId)) return 'in_flight' as const;
      return apply(run, 'rollback', user, 'rollback', { patch: { phase: 'rollback', stepIndex: 0, confirmedStep: null }, at: { phase: 'steps' } });
    });
    await deps.deliver();
    if (rolling === 'in_flight') return refuse(IN_FLIGHT);
    if (!rolling) return changedMeanwhile(runId);
    launch(runId);
    return OK;
  }

  async function abandon(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !canApply('abandon', run.status as RunStatus)) return refuse(`Run #${runId} cannot be abandoned now.`);
    if (!fromItsMessage(run, origin)) return refuse(NOT_ITS_MESSAGE);
    if (!(await mayOperate(run, user))) return refuse(`:no_entry: Only the requester, its approvers or an admin may abandon it.`);
    const abandoned = inTransaction(db, () => (stepInFlight(runId) ? ('in_flight' as const) : apply(run, 'abandon', user, 'run_abandoned')));
    await deps.deliver();
    if (abandoned === 'in_flight') return refuse(IN_FLIGHT);
    return abandoned ? OK : changedMeanwhile(runId);
  }

  async function unlock(host: string, user: string): Promise<Answer> {
    if (!(await isAdmin(user))) {
      recordDecision(db, { at: clock(), kind: 'unlock_refused', actor: user, subject: host, outcome: 'refused' });
      return refuse(':no_entry: Only an admin (`admins` in the config) may release a lock.');
    }
    const lock = inTransaction(db, () => {
      const released = forceReleaseLock(db, host);
      if (released) recordDecision(db, { at: clock(), kind: 'unlock', actor: user, subject: host, outcome: 'force_released', detail: { run_id: released.runId, locked_by: released.lockedBy } });
      return released;
    });
    return lock ? { ok: true, message: `Released \`${host}\` (it was locked by run #${lock.runId}).` } : refuse(`\`${host}\` is not locked.`);
  }

  function launch(runId: number): void {
    if (executions.has(runId)) {
      // The execution in flight is finishing (it has written its last state): go again once it has returned.
      relaunch.add(runId);
      return;
    }
    const execution = execute(runId)
      .catch((error: unknown) => logger.error({ err: error, runId }, 'runbook execution failed'))
      .finally(() => {
        executions.delete(runId);
        if (relaunch.delete(runId) && !shuttingDown) launch(runId);
      });
    executions.set(runId, execution);
  }

  async function execute(runId: number): Promise<void> {
    for (;;) {
      const run = getRun(db, runId)!;
      if (run.status !== 'running') return;
      const steps = stepsOf(run);
      const at = { phase: run.phase, stepIndex: run.stepIndex };
      if (run.stepIndex >= steps.length) {
        const rollingBack = run.phase === 'rollback';
        const finished = inTransaction(db, () => apply(run, rollingBack ? 'finishRollback' : 'succeed', 'scalebot', rollingBack ? 'run_rolled_back' : 'run_succeeded', { at }));
        await deps.deliver();
        if (finished?.status === 'succeeded') await deps.onSucceeded?.(finished);
        return;
      }
      const step = steps[run.stepIndex]!;
      if (step.confirm && run.confirmedStep !== stepKey(run.phase, run.stepIndex)) {
        inTransaction(db, () => apply(run, 'awaitConfirmation', 'scalebot', 'awaiting_confirmation', { at, detail: { step: step.id, phase: run.phase } }));
        await deps.deliver();
        return;
      }
      const result = await runStep(run, step);
      if (!result || result.outcome !== 'succeeded') return;
    }
  }

  /**
   * One attempt of one step. Its start is written only while the run is still running at this step; its
   * result, the step counter and the run's status are written in one transaction, so a restart never finds a
   * step that succeeded marked "outcome unknown". Null when the step was not started (the run changed).
   */
  async function runStep(run: RunRow, step: PlannedStep): Promise<StepResult | null> {
    const host = config.hosts.get(step.host);
    const { phase, stepIndex: index } = run;
    const hidden = step.output === 'hidden';
    const started = clock();
    // Registered in the same transaction that starts the step: a Stop from here on finds something to abort.
    const controller = new AbortController();
    const row = inTransaction(db, (): StepRow | undefined => {
      const current = getRun(db, run.id);
      if (!current || current.status !== 'running' || current.phase !== phase || current.stepIndex !== index) return undefined;
      const created = startStep(db, { runId: run.id, phase, stepIndex: index, stepId: step.id, host: step.host, command: step.command, startedAt: started });
      log(current, 'step_started', 'scalebot', 'running', { step: step.id, phase, host: step.host, command: step.command, attempt_id: created.id });
      const message = buildStepMessage(step, index, phase, '', null, { hidden });
      const outbox = current.messageId
        ? enqueueMessage(db, { dedupeKey: `run:${run.id}:step:${created.id}`, channel: run.channel, parentId: current.messageId, payload: { text: message.text, blocks: [...(message.blocks ?? [])] }, at: started })
        : null;
      render(current);
      controllers.set(run.id, controller);
      return outbox ? updateStep(db, created.id, { messageId: outbox.id }) : created;
    });
    if (!row) return null;

    let output = '';
    let lastEdit = 0;
    let editTimer: NodeJS.Timeout | null = null;
    const showOutput = () => {
      editTimer = null;
      lastEdit = Date.now();
      if (!row.messageId) return;
      const message = buildStepMessage(step, index, phase, redactSecrets(output), null, { hidden });
      setMessagePayload(db, row.messageId, { text: message.text, blocks: [...(message.blocks ?? [])] });
      void deps.deliver();
    };
    let result: StepResult;
    try {
      await deps.deliver();
      if (controller.signal.aborted) {
        result = notStarted('stopped', 'stopped before the command started: it was not run');
      } else if (!host) {
        result = notStarted('connect_failed', `host ${step.host} is not in the inventory`);
      } else {
        const options: RunOptions = {
            timeoutSeconds: step.timeoutSeconds,
            signal: controller.signal,
            // One slot per run, phase and step on the host: a Retry while an earlier attempt may still live there is refused by the host.
            lockKey: `run-${run.id}-${phase}-${index}`,
            onOutput: (chunk) => {
              if (hidden) return;
              output += chunk;
              if (output.length > 200_000) output = output.slice(-100_000);
              // At most one edit a second: Slack rate-limits chat.update, and people read no faster.
              if (!editTimer) editTimer = setTimeout(showOutput, Math.max(0, outputIntervalMs - (Date.now() - lastEdit)));
            },
        };
        result = await deps.ssh.run(
          { name: host.name, address: host.address, port: host.port, user: host.user, privateKeyFile: host.privateKeyFile, hostKey: host.hostKey },
          step.command,
          options,
        );
      }
    } finally {
      if (controllers.get(run.id) === controller) controllers.delete(run.id);
      if (editTimer) clearTimeout(editTimer);
    }
    const ended = clock();
    // The bot is going down, not a person's Stop: the step stays "running" and the next start reports the run
    // as interrupted, outcome unknown.
    if (result.outcome === 'stopped' && shuttingDown && getRun(db, run.id)?.status === 'running') return result;
    const status = result.outcome;
    const storedOutput = redactSecrets(result.output);
    const reason = redactSecrets(result.message);
    inTransaction(db, () => {
      const finished = updateStep(db, row.id, { status, exitCode: result.exitCode, endedAt: ended, output: storedOutput, message: reason });
      log(run, 'step_finished', 'scalebot', status, {
        step: step.id,
        phase,
        host: step.host,
        exit_code: result.exitCode,
        duration_ms: result.durationMs,
        ...(hidden ? { output_hidden: true } : { output_tail: storedOutput.split('\n').slice(-20).join('\n').slice(-2000) }),
        reason: status === 'succeeded' ? undefined : reason,
        attempt_id: row.id,
      });
      if (finished.messageId) {
        const message = buildStepMessage(step, index, phase, storedOutput, finished, { hidden });
        setMessagePayload(db, finished.messageId, { text: message.text, blocks: [...(message.blocks ?? [])] });
      }
      const current = getRun(db, run.id)!;
      if (status === 'succeeded') {
        // A Stop that came too late to stop the command leaves the run stopped, past the step that succeeded.
        const advanced = advanceStep(db, run.id, phase, index, ['running', 'stopped']);
        if (advanced && advanced.status !== 'running') render(advanced, `${step.title} succeeded before the stop reached it; the next step was not started`);
        return;
      }
      if (current.status !== 'running') {
        render(current);
        return;
      }
      const failed = apply(current, phase === 'rollback' ? 'failRollback' : 'fail', 'scalebot', 'run_failed', {
        at: { phase, stepIndex: index },
        detail: { step: step.id, phase, outcome: status, reason },
        note: `${step.title}: ${reason}`,
      });
      if (!failed) render(getRun(db, run.id)!);
    });
    await deps.deliver();
    return result;
  }

  function notStarted(outcome: StepResult['outcome'], message: string): StepResult {
    return { outcome, exitCode: null, signal: null, durationMs: 0, stdoutTail: '', stderrTail: '', output: '', outputTruncated: false, message, mayRunUntil: null };
  }

  /**
   * At start: a run that was executing when the bot died is marked interrupted, the step it was in recorded as
   * "outcome unknown", and never re-run by itself: someone chooses Retry, Roll back or Abandon.
   */
  async function recoverInterrupted(): Promise<number> {
    let count = 0;
    // "approved" left behind means the bot died between the last approval and the first step: nothing ran,
    // but starting by itself after a restart would surprise people, so it waits for a click like the rest.
    for (const run of listRuns(db, { limit: 1000, statuses: ['running', 'approved'] })) {
      inTransaction(db, () => {
        const stepRows = runningSteps(db, run.id);
        for (const step of stepRows) updateStep(db, step.id, { status: 'interrupted', endedAt: clock(), message: 'the bot stopped during this step; its outcome is unknown' });
        const interrupted = transitionRun(db, run.id, 'interrupt')?.run;
        if (!interrupted) return;
        const step = stepsOf(interrupted)[interrupted.stepIndex];
        log(interrupted, 'run_interrupted', 'scalebot', 'interrupted', { step: step?.id, phase: interrupted.phase });
        const where = `${interrupted.phase === 'rollback' ? 'rollback ' : ''}step ${interrupted.stepIndex + 1}${step ? ` (${step.title})` : ''}`;
        threadReply(interrupted, `interrupted:${interrupted.stepIndex}:${clock().getTime()}`, `:warning: The bot restarted: this run was interrupted during ${where}, outcome unknown. It will not run again by itself: Retry step, Roll back or Abandon.`);
        render(interrupted, `interrupted during ${where}, outcome unknown`);
      });
      count += 1;
    }
    for (const run of listRuns(db, { limit: 1000, statuses: ['awaiting_approval'] })) expireIfDue(run);
    await deps.deliver();
    return count;
  }

  /** Every 30 s: expired requests end, and a plan Slack refused for good stops holding its hosts. */
  async function expireStale(): Promise<void> {
    for (const run of listRuns(db, { limit: 1000, statuses: ['awaiting_approval'] })) expireIfDue(run);
    await deps.deliver();
    for (const run of listRuns(db, { limit: 1000, statuses: ['awaiting_approval', 'waiting_checklist'] })) planNotPostable(run.id);
    await deps.deliver();
  }

  /**
   * A checklist was completed: every run still ahead of its start whose runbook requires that checklist is
   * shown again, now with the checklist complete, and a run that was held for it says in its thread that it
   * can start. Nothing starts by itself: a person still presses Start.
   */
  async function checklistCompleted(checklistId: string): Promise<number> {
    const runbookIds = new Set(config.runbooks.filter((runbook) => runbook.requiresChecklist === checklistId).map((runbook) => runbook.id));
    if (runbookIds.size === 0) return 0;
    const ahead = listRuns(db, { limit: 1000, statuses: ['awaiting_approval', 'approved', 'waiting_checklist'] }).filter((run) => runbookIds.has(run.runbookId));
    const at = clock();
    inTransaction(db, () => {
      for (const run of ahead) {
        render(run);
        if (run.status === 'waiting_checklist') {
          threadReply(run, `checklist-complete:${at.getTime()}`, `:white_check_mark: Checklist \`${checklistId}\` is complete: press *Start* to run.`);
        }
      }
    });
    if (ahead.length > 0) await deps.deliver();
    return ahead.length;
  }

  return {
    request,
    approve,
    checklistCompleted,
    reject,
    cancel,
    start,
    confirm,
    stop,
    retry,
    rollback,
    abandon,
    unlock,
    recoverInterrupted,
    expireStale,
    getLock: (host: string) => getLock(db, host),
    /** Resolves when every step started so far has ended (tests, shutdown). */
    async idle(): Promise<void> {
      while (executions.size > 0) await Promise.all(executions.values());
    },
    /** Shutdown: steps in flight are cut off and their runs left "running", so the next start reports them interrupted. */
    async shutdown(): Promise<void> {
      shuttingDown = true;
      for (const controller of controllers.values()) controller.abort();
      await Promise.all(executions.values());
    },
    isFinished,
  };
}

export type RunbookRunner = ReturnType<typeof createRunbookRunner>;
