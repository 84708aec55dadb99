import type { Logger } from 'pino';
import { planRun, judgeApproval, type RunbookDef, type RunPlan, type PlannedStep } from '../core/runbooks.ts';
import { collectStatus } from '../core/status.ts';
import { inTransaction, type Db } from '../db/client.ts';
import { recordDecision } from '../db/decision-log.ts';
import { enqueueMessage, setMessagePayload } from '../db/outbox.ts';
import {
  acquireLocks,
  addApproval,
  createRun,
  FINISHED_STATUSES,
  forceReleaseLock,
  getLock,
  getRun,
  listApprovals,
  listRuns,
  listSteps,
  releaseLocks,
  runningSteps,
  startStep,
  updateRun,
  updateStep,
  type RunRow,
  type RunStatus,
  type StepRow,
} from '../db/runbooks.ts';
import type { PrometheusPort } from '../integrations/prometheus.ts';
import type { SshPort, StepResult } from '../integrations/ssh.ts';
import { buildRunMessage, buildStepMessage } from './blocks/runbook.ts';
import type { Config } from './config.ts';
import { scrubSecrets } from './logger.ts';
import type { OutboxDeliverer } from './outbox-sender.ts';

/** Whether the checklist a runbook requires has been completed (wired to the checklist feature). */
export type ChecklistGate = (checklistId: string, now: Date) => { complete: boolean; text: string };

export interface RunbookRunnerDeps {
  readonly db: Db;
  readonly config: Config;
  readonly ssh: SshPort;
  readonly prometheus: Pick<PrometheusPort, 'queryRange'>;
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

const OK: Answer = { ok: true };
const refuse = (message: string): Answer => ({ ok: false, message });

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

  function finish(run: RunRow, status: RunStatus, actor: string, kind: string, detail: Record<string, unknown> = {}, note?: string): RunRow {
    const ended = updateRun(db, run.id, { status, endedAt: clock() });
    const released = releaseLocks(db, run.id);
    log(ended, kind, actor, status, detail);
    if (released.length > 0) log(ended, 'unlock', 'scalebot', 'released', { hosts: released });
    render(ended, note);
    return ended;
  }

  async function mayApprove(runbook: RunbookDef, user: string): Promise<boolean> {
    return runbook.approval.approvers.length === 0 || deps.isAllowed(user, runbook.approval.approvers);
  }

  /** Requester, approvers and admins may stop, retry, roll back or abandon a run they can see. */
  async function mayOperate(run: RunRow, user: string): Promise<boolean> {
    if (user === run.requester) return true;
    const runbook = runbookOf(run);
    if (runbook && (await mayApprove(runbook, user))) return true;
    return config.admins.length > 0 && deps.isAllowed(user, config.admins);
  }

  /** `/scale run <id> key=value …`: validated, planned, locked, posted. Throws PlanError/ParamError. */
  async function request(runbookId: string, given: Record<string, string>, requester: string, channel: string): Promise<Answer> {
    const runbook = config.runbooks.find((candidate) => candidate.id === runbookId);
    if (!runbook) return refuse(`There is no runbook \`${runbookId}\`. \`/scale runbooks\` lists them.`);
    const plan = planRun(runbook, given, config.hosts);
    const now = clock();
    const outcome = inTransaction(db, (): Answer => {
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
        return refuse(
          `\`${locked.lock.host}\` is locked by run #${locked.lock.runId}${holder ? ` (${holder.title}, started by <@${holder.requester}>, since ${holder.createdAt.toISOString().slice(11, 16)} UTC)` : ''}. An admin can release it with \`/scale unlock ${locked.lock.host}\`.`,
        );
      }
      log(run, 'run_requested', requester, 'planned', { params: plan.params, hosts: plan.hosts, steps: plan.steps.map((step) => ({ id: step.id, host: step.host, command: step.command })) });
      log(run, 'lock', requester, 'locked', { hosts: plan.hosts });
      render(run);
      return OK;
    });
    await deps.deliver();
    return outcome;
  }

  async function snapshotTriggers(now: Date) {
    try {
      const report = await collectStatus(config.triggers, deps.prometheus, now, config.prometheus.lookbackSeconds);
      return {
        verdict: report.failure ? 'no_data' : report.verdict,
        triggers: report.results.map((result) => ({ id: result.trigger.id, labels: result.labels, state: result.state, value: result.value })),
      };
    } catch (error) {
      return { verdict: 'no_data', error: (error as Error).message };
    }
  }

  function expireIfDue(run: RunRow): RunRow {
    if (run.status !== 'awaiting_approval' || run.expiresAt > clock()) return run;
    return inTransaction(db, () => finish(run, 'expired', 'scalebot', 'run_expired', { expired_at: run.expiresAt.toISOString() }));
  }

  async function approve(runId: number, user: string): Promise<Answer> {
    const found = getRun(db, runId);
    if (!found) return refuse(`Run #${runId} does not exist.`);
    const run = expireIfDue(found);
    if (run.status !== 'awaiting_approval') {
      await deps.deliver();
      return refuse(`Run #${runId} is not waiting for approval (${run.status.replace('_', ' ')}).`);
    }
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
    const start = inTransaction(db, () => {
      const current = getRun(db, runId)!;
      if (current.status !== 'awaiting_approval' || !addApproval(db, runId, user, clock())) return false;
      const count = listApprovals(db, runId).length;
      log(current, 'approval', user, 'approved', { approvals: count, required: runbook.approval.required, trigger_snapshot: snapshot });
      if (count < runbook.approval.required) {
        render(current);
        return false;
      }
      // Settled inside the transaction, so a second approval arriving at the same moment cannot start it twice.
      updateRun(db, runId, { status: 'approved' });
      return true;
    });
    if (start) await begin(runId, user);
    else await deps.deliver();
    return OK;
  }

  /** Approved: start, unless the required checklist is not complete yet. */
  async function begin(runId: number, user: string): Promise<Answer> {
    const run = getRun(db, runId)!;
    const runbook = runbookOf(run);
    if (runbook?.requiresChecklist) {
      const gate = checklistGate(runbook.requiresChecklist, clock());
      if (!gate.complete) {
        inTransaction(db, () => {
          const waiting = updateRun(db, runId, { status: 'waiting_checklist' });
          log(waiting, 'run_waiting_checklist', user, 'waiting', { checklist: runbook.requiresChecklist, reason: gate.text });
          render(waiting);
        });
        await deps.deliver();
        return refuse(`Run #${runId} waits for checklist \`${runbook.requiresChecklist}\`: ${gate.text}. Press Start once it is complete.`);
      }
    }
    inTransaction(db, () => {
      const running = updateRun(db, runId, { status: 'running', startedAt: run.startedAt ?? clock() });
      log(running, 'run_started', user, 'running');
      render(running);
    });
    await deps.deliver();
    launch(runId);
    return OK;
  }

  async function start(runId: number, user: string): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || run.status !== 'waiting_checklist') return refuse(`Run #${runId} is not waiting to start.`);
    if (!(await mayOperate(run, user))) return refuse('Only the requester, its approvers or an admin may start it.');
    return begin(runId, user);
  }

  async function reject(runId: number, user: string): Promise<Answer> {
    const found = getRun(db, runId);
    if (!found) return refuse(`Run #${runId} does not exist.`);
    const run = expireIfDue(found);
    if (run.status !== 'awaiting_approval') return refuse(`Run #${runId} is not waiting for approval.`);
    const runbook = runbookOf(run);
    if (!runbook || !(await mayApprove(runbook, user)) || user === run.requester) {
      log(run, 'rejection_refused', user, 'refused');
      return refuse(':no_entry: Only one of its approvers may reject it (the requester can Cancel). Nothing was changed.');
    }
    inTransaction(db, () => finish(run, 'rejected', user, 'run_rejected'));
    await deps.deliver();
    return OK;
  }

  async function cancel(runId: number, user: string): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !['awaiting_approval', 'waiting_checklist'].includes(run.status)) return refuse(`Run #${runId} cannot be cancelled now.`);
    if (user !== run.requester && !(config.admins.length > 0 && (await deps.isAllowed(user, config.admins)))) {
      log(run, 'cancel_refused', user, 'refused');
      return refuse(':no_entry: Only the requester (or an admin) may cancel it.');
    }
    inTransaction(db, () => finish(run, 'cancelled', user, 'run_cancelled'));
    await deps.deliver();
    return OK;
  }

  async function confirm(runId: number, user: string, phase: string, index: number): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || run.status !== 'awaiting_confirmation' || run.phase !== phase || run.stepIndex !== index) {
      return refuse('That step is not waiting for confirmation (the message you clicked is out of date).');
    }
    const runbook = runbookOf(run);
    const isApprover = runbook ? await mayApprove(runbook, user) : false;
    if (!isApprover || (user === run.requester && !runbook?.approval.allowSelf)) {
      log(run, 'confirmation_refused', user, 'refused', { step: stepsOf(run)[index]?.id });
      return refuse(':no_entry: A step marked confirm needs one of the approvers, not the requester. Nothing was changed.');
    }
    inTransaction(db, () => {
      const running = updateRun(db, runId, { status: 'running', confirmedStep: `${phase}:${index}` });
      log(running, 'confirmation', user, 'confirmed', { step: stepsOf(running)[index]?.id, phase });
      render(running);
    });
    await deps.deliver();
    launch(runId);
    return OK;
  }

  async function stop(runId: number, user: string): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !['running', 'awaiting_confirmation'].includes(run.status)) return refuse(`Run #${runId} is not running.`);
    if (!(await mayOperate(run, user))) return refuse(':no_entry: Only the requester, its approvers or an admin may stop it.');
    log(run, 'stop_requested', user, 'stopping');
    const controller = controllers.get(runId);
    if (controller) {
      controller.abort();
      await executions.get(runId);
    } else {
      inTransaction(db, () => {
        const stopped = updateRun(db, runId, { status: 'stopped' });
        render(stopped);
      });
      await deps.deliver();
    }
    return OK;
  }

  async function retry(runId: number, user: string, phase: string, index: number): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !['failed', 'stopped', 'interrupted', 'rollback_failed'].includes(run.status) || run.phase !== phase || run.stepIndex !== index) {
      return refuse('That step cannot be retried now (the message you clicked is out of date).');
    }
    if (!(await mayOperate(run, user))) return refuse(':no_entry: Only the requester, its approvers or an admin may retry.');
    inTransaction(db, () => {
      // A retried step that needs confirmation was confirmed for this attempt by whoever retries it: the click is the decision.
      const running = updateRun(db, runId, { status: 'running', confirmedStep: `${phase}:${index}` });
      log(running, 'retry', user, 'retrying', { phase, step: stepsOf(running)[index]?.id });
      render(running);
    });
    await deps.deliver();
    launch(runId);
    return OK;
  }

  async function rollback(runId: number, user: string): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !['failed', 'stopped', 'interrupted'].includes(run.status) || run.phase !== 'steps') return refuse(`Run #${runId} cannot be rolled back now.`);
    if (planOf(run).rollback.length === 0) return refuse('This runbook has no rollback steps.');
    if (!(await mayOperate(run, user))) return refuse(':no_entry: Only the requester, its approvers or an admin may roll back.');
    inTransaction(db, () => {
      const rolling = updateRun(db, runId, { status: 'running', phase: 'rollback', stepIndex: 0, confirmedStep: null });
      log(rolling, 'rollback', user, 'rolling_back');
      render(rolling);
    });
    await deps.deliver();
    launch(runId);
    return OK;
  }

  async function abandon(runId: number, user: string): Promise<Answer> {
    const run = getRun(db, runId);
    if (!run || !['failed', 'stopped', 'interrupted', 'rollback_failed'].includes(run.status)) return refuse(`Run #${runId} cannot be abandoned now.`);
    if (!(await mayOperate(run, user))) return refuse(':no_entry: Only the requester, its approvers or an admin may abandon it.');
    inTransaction(db, () => finish(run, 'abandoned', user, 'run_abandoned'));
    await deps.deliver();
    return OK;
  }

  async function unlock(host: string, user: string): Promise<Answer> {
    if (config.admins.length === 0 || !(await deps.isAllowed(user, config.admins))) {
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
    if (executions.has(runId)) return;
    const execution = execute(runId)
      .catch((error: unknown) => logger.error({ err: error, runId }, 'runbook execution failed'))
      .finally(() => {
        executions.delete(runId);
        controllers.delete(runId);
      });
    executions.set(runId, execution);
  }

  async function execute(runId: number): Promise<void> {
    for (;;) {
      const run = getRun(db, runId)!;
      if (run.status !== 'running') return;
      const steps = stepsOf(run);
      if (run.stepIndex >= steps.length) {
        const finished = inTransaction(db, () => finish(run, run.phase === 'rollback' ? 'rolled_back' : 'succeeded', 'scalebot', run.phase === 'rollback' ? 'run_rolled_back' : 'run_succeeded'));
        await deps.deliver();
        if (finished.status === 'succeeded') await deps.onSucceeded?.(finished);
        return;
      }
      const step = steps[run.stepIndex]!;
      if (step.confirm && run.confirmedStep !== `${run.phase}:${run.stepIndex}`) {
        inTransaction(db, () => {
          const waiting = updateRun(db, runId, { status: 'awaiting_confirmation' });
          log(waiting, 'awaiting_confirmation', 'scalebot', 'waiting', { step: step.id, phase: run.phase });
          render(waiting);
        });
        await deps.deliver();
        return;
      }
      const result = await runStep(run, step);
      const after = getRun(db, runId)!;
      if (result.outcome === 'succeeded') {
        updateRun(db, runId, { stepIndex: after.stepIndex + 1, confirmedStep: null });
        continue;
      }
      if (result.outcome === 'stopped' && shuttingDown) {
        // The bot is going down, not a person's Stop: the next start reports the run as interrupted.
        return;
      }
      const status: RunStatus = result.outcome === 'stopped' ? 'stopped' : run.phase === 'rollback' ? 'rollback_failed' : 'failed';
      inTransaction(db, () => {
        const failed = updateRun(db, runId, { status });
        log(failed, status === 'stopped' ? 'run_stopped' : 'run_failed', 'scalebot', status, { step: step.id, phase: run.phase, outcome: result.outcome, reason: result.message });
        render(failed, `${step.title}: ${result.message}`);
      });
      await deps.deliver();
      return;
    }
  }

  async function runStep(run: RunRow, step: PlannedStep): Promise<StepResult> {
    const host = config.hosts.get(step.host);
    const index = run.stepIndex;
    const started = clock();
    const row: StepRow = inTransaction(db, () => {
      const created = startStep(db, { runId: run.id, phase: run.phase, stepIndex: index, stepId: step.id, host: step.host, command: step.command, startedAt: started });
      log(run, 'step_started', 'scalebot', 'running', { step: step.id, phase: run.phase, host: step.host, command: step.command, attempt_id: created.id });
      const message = buildStepMessage(step, index, run.phase, '', null);
      const outbox = run.messageId
        ? enqueueMessage(db, { dedupeKey: `run:${run.id}:step:${created.id}`, channel: run.channel, parentId: run.messageId, payload: { text: message.text, blocks: [...(message.blocks ?? [])] }, at: started })
        : null;
      render(getRun(db, run.id)!);
      return outbox ? updateStep(db, created.id, { messageId: outbox.id }) : created;
    });
    await deps.deliver();

    let output = '';
    let lastEdit = 0;
    let editTimer: NodeJS.Timeout | null = null;
    const showOutput = () => {
      editTimer = null;
      lastEdit = Date.now();
      if (!row.messageId) return;
      const message = buildStepMessage(step, index, run.phase, output, null);
      setMessagePayload(db, row.messageId, { text: message.text, blocks: [...(message.blocks ?? [])] });
      void deps.deliver();
    };
    const controller = new AbortController();
    controllers.set(run.id, controller);
    const result: StepResult = host
      ? await deps.ssh.run(
          { name: host.name, address: host.address, port: host.port, user: host.user, privateKeyFile: host.privateKeyFile, hostKey: host.hostKey },
          step.command,
          {
            timeoutSeconds: step.timeoutSeconds,
            signal: controller.signal,
            onOutput: (chunk) => {
              output += chunk;
              if (output.length > 200_000) output = output.slice(-100_000);
              // At most one edit a second: Slack rate-limits chat.update, and people read no faster.
              if (!editTimer) editTimer = setTimeout(showOutput, Math.max(0, outputIntervalMs - (Date.now() - lastEdit)));
            },
          },
        )
      : { outcome: 'connect_failed', exitCode: null, signal: null, durationMs: 0, stdoutTail: '', stderrTail: '', output: '', outputTruncated: false, message: `host ${step.host} is not in the inventory` };
    controllers.delete(run.id);
    if (editTimer) clearTimeout(editTimer);
    const ended = clock();
    if (result.outcome === 'stopped' && shuttingDown) return result;
    const status = result.outcome === 'succeeded' ? 'succeeded' : result.outcome;
    inTransaction(db, () => {
      const finished = updateStep(db, row.id, { status, exitCode: result.exitCode, endedAt: ended, output: result.output, message: result.message });
      const tail = scrubSecrets(result.output.split('\n').slice(-20).join('\n')).slice(-2000);
      log(run, 'step_finished', 'scalebot', status, {
        step: step.id,
        phase: run.phase,
        host: step.host,
        exit_code: result.exitCode,
        duration_ms: result.durationMs,
        output_tail: tail,
        reason: result.outcome === 'succeeded' ? undefined : result.message,
        attempt_id: row.id,
      });
      if (finished.messageId) {
        const message = buildStepMessage(step, index, run.phase, result.output, finished);
        setMessagePayload(db, finished.messageId, { text: message.text, blocks: [...(message.blocks ?? [])] });
      }
    });
    await deps.deliver();
    return result;
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
        const interrupted = updateRun(db, run.id, { status: 'interrupted' });
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

  async function expireStale(): Promise<void> {
    for (const run of listRuns(db, { limit: 1000, statuses: ['awaiting_approval'] })) expireIfDue(run);
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
    isFinished: (status: string) => (FINISHED_STATUSES as readonly string[]).includes(status),
  };
}

export type RunbookRunner = ReturnType<typeof createRunbookRunner>;
