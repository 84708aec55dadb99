import { buildStepMessage } from '../../blocks/runbook.ts';
import type { RunOptions, StepResult } from '../../core/ports.ts';
import { redactSecrets } from '../../core/redact.ts';
import { completionOf, failureOf, mayExecute, stepKey } from '../../core/run-state.ts';
import { hostSlotKey, type PlannedStep } from '../../core/runbooks.ts';
import type { MessageWrite } from '../../core/storage/effects.ts';
import { runMessageKey, stepMessageKey, type RunRecord } from '../../core/storage/runbooks.ts';
import { decisionOf, planOf, renderRun, type RunnerContext } from './context.ts';
import { SOLE_LEADER } from '../leadership.ts';
import { editMessage, payloadOf, replyInThread } from '../outbox.ts';

export interface Executor {
  /**
   * Takes the run's steps one after another while it is running; a second launch waits for the first to return.
   * Only the leader executes (inside its term, so the writes carry its fencing token); on a follower a launch
   * does nothing: the click has written the run's state, and the leader's reconcile pass picks it up.
   */
  launch(runId: number): void;
  /** Aborts the step the run is in, if any (a Stop: the run's status has already changed). */
  abort(runId: number): void;
  /** The runs executing here now. */
  executing(): number[];
  /** A point in time for `abortIfStartedBefore`. */
  mark(): number;
  /** Aborts the run's step only if it started before `mark` (a step started since then was judged on fresher state). */
  abortIfStartedBefore(runId: number, mark: number): void;
  /** Deposed: the steps in flight are cut off, their runs left "running" for the next leader to mark interrupted. */
  halt(): Promise<void>;
  /** Resolves when the run's execution in flight, if any, has returned. */
  settled(runId: number): Promise<void>;
  /** Resolves when no step's result is between the host's answer and its transaction (the outbox waits for it). */
  stepsSettled(): Promise<void>;
  idle(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * The executor: steps run one after another over SSH, their output streamed into the run's thread. Every
 * move of the run goes through `ctx.move` or the store's guarded step writes, so a Stop or a restart in
 * between is never overwritten.
 */
export function createExecutor(ctx: RunnerContext): Executor {
  const { deps, stepsOf } = ctx;
  const { config, clock, logger } = deps;
  const leader = deps.leader ?? SOLE_LEADER;
  const store = deps.storage.runbooks;
  const controllers = new Map<number, { controller: AbortController; mark: number }>();
  const executions = new Map<number, Promise<void>>();
  const relaunch = new Set<number>();
  let shuttingDown = false;
  let halting = false;
  let marks = 0;
  const outputIntervalMs = deps.outputIntervalMs ?? 1000;
  const connectTimeoutMs = deps.sshConnectTimeoutMs ?? 10_000;
  /** Whether a step may start now: only a leader whose lease outlasts the connection's timeout starts one. */
  const mayStart = () => !shuttingDown && !halting && leader.mayCallOut(connectTimeoutMs);
  const holds = new Set<Promise<void>>();
  /**
   * Marks a step's result as on its way to the database: the outbox waits (stepsSettled) before its next Slack
   * call, so that a kill at a Slack call never finds a step that ended on the host with its result unstored.
   * Released once the result's transaction is done, whatever its outcome.
   */
  function holdSlack(): () => void {
    let release!: () => void;
    const hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    holds.add(hold);
    return () => {
      holds.delete(hold);
      release();
    };
  }
  let deployment: Promise<string> | undefined;
  /** The hosts keep fencing tokens per deployment; asked once (a failure is asked again next time). */
  const deploymentId = () => {
    deployment ??= deps.storage.leases.deployment().catch((error: unknown) => {
      deployment = undefined;
      throw error;
    });
    return deployment;
  };

  function launch(runId: number): void {
    if (shuttingDown || halting || !leader.isLeader()) return;
    if (executions.has(runId)) {
      // The execution in flight is finishing (it has written its last state): go again once it has returned.
      relaunch.add(runId);
      return;
    }
    const execution = leader.asLeader(() =>
      execute(runId)
        .catch((error: unknown) => logger.error({ err: error, runId }, 'runbook execution failed'))
        .finally(() => {
          executions.delete(runId);
          if (relaunch.delete(runId)) launch(runId);
        }),
    );
    if (execution) executions.set(runId, execution);
  }

  async function execute(runId: number): Promise<void> {
    for (;;) {
      const run = (await store.getRun(runId))!;
      if (!mayExecute(run.status)) return;
      const steps = stepsOf(run);
      const at = { phase: run.phase, stepIndex: run.stepIndex };
      if (run.stepIndex >= steps.length) {
        const completion = completionOf(run.phase);
        const finished = await ctx.move(run, completion, 'scalebot', completion === 'finishRollback' ? 'run_rolled_back' : 'run_succeeded', { at });
        await deps.deliver();
        if (finished.ok && finished.run.status === 'succeeded') await deps.onSucceeded(finished.run);
        return;
      }
      const step = steps[run.stepIndex]!;
      if (step.confirm && run.confirmedStep !== stepKey(run.phase, run.stepIndex)) {
        await ctx.move(run, 'awaitConfirmation', 'scalebot', 'awaiting_confirmation', { at, detail: { step: step.id, phase: run.phase } });
        await deps.deliver();
        return;
      }
      // No longer (surely) the leader: the run stays running; the leader's reconcile pass, or the next leader's
      // recovery, takes it from here.
      if (!mayStart()) return;
      const result = await runStep(run, step);
      if (result?.outcome !== 'succeeded') return;
    }
  }

  /**
   * One attempt of one step. Its start is written only while the run is still running at this step; its
   * result, the step counter and the run's status are written in one transaction, so a restart never finds a
   * step that succeeded marked "outcome unknown". Null when the step was not started (the run changed).
   */
  async function runStep(run: RunRecord, step: PlannedStep): Promise<StepResult | null> {
    const host = config.hosts.get(step.host);
    const { phase, stepIndex: index } = run;
    const hidden = step.output === 'hidden';
    const started = clock();
    // Registered before the start is written: a Stop from the moment the step counts as started finds
    // something to abort (and one that lands before it makes the start's guard fail).
    const controller = new AbortController();
    marks += 1;
    controllers.set(run.id, { controller, mark: marks });
    const forget = () => {
      if (controllers.get(run.id)?.controller === controller) controllers.delete(run.id);
    };
    const view = await ctx.viewOf(run);
    const attempt = await store.startStep({
      runId: run.id,
      phase,
      stepIndex: index,
      stepId: step.id,
      host: step.host,
      command: step.command,
      startedAt: started,
      effects: (written) => {
        const message = buildStepMessage(step, index, phase, '', null, { hidden });
        const stepMessage: MessageWrite[] =
          written.run.messageId === null
            ? []
            : [replyInThread(runMessageKey(run.id), stepMessageKey(run.id, written.attempt.id), run.channel, payloadOf(message), started)];
        return {
          decisions: [
            decisionOf(written.run, started, 'step_started', 'scalebot', 'running', {
              step: step.id,
              phase,
              host: step.host,
              command: step.command,
              attempt_id: written.attempt.id,
            }),
          ],
          messages: [...stepMessage, renderRun(written, view)],
        };
      },
    });
    if (!attempt) {
      forget();
      return null;
    }

    let output = '';
    let lastEdit = 0;
    let editTimer: NodeJS.Timeout | null = null;
    // Edits are written in order, and the last one before the step's end: the end's text is never overwritten.
    let outputWrites: Promise<void> = Promise.resolve();
    const showOutput = () => {
      editTimer = null;
      lastEdit = Date.now();
      if (attempt.messageId === null) return;
      const message = buildStepMessage(step, index, phase, redactSecrets(output), null, { hidden });
      const payload = payloadOf(message);
      outputWrites = outputWrites
        .then(() => deps.storage.outbox.edit(editMessage(stepMessageKey(run.id, attempt.id), payload)))
        .then(() => void deps.deliver())
        .catch((error: unknown) => logger.error({ err: error, runId: run.id }, 'showing step output failed'));
    };
    let result: StepResult;
    try {
      await deps.deliver();
      if (controller.signal.aborted) {
        result = notStarted('stopped', 'stopped before the command started: it was not run');
      } else if (!mayStart()) {
        // The lease may run out while connecting: the command is not started. Recorded if this replica still
        // leads (a person retries); refused by the fencing token if another replica took over, which then marks it
        // interrupted.
        result = notStarted('connect_failed', 'not started: this replica could not be sure to stay the leader while connecting; the command was not run');
      } else if (!host) {
        result = notStarted('connect_failed', `host ${step.host} is not in the inventory`);
      } else {
        const fenceToken = leader.token();
        const options: RunOptions = {
          timeoutSeconds: step.timeoutSeconds,
          signal: controller.signal,
          // The host keeps the highest token it has seen and refuses a lower one: a deposed leader starts nothing there.
          ...(fenceToken !== undefined ? { fenceToken, fenceScope: await deploymentId() } : {}),
          // One slot per run, phase and step on the host: a Retry while an earlier attempt may still live there is refused by the host.
          lockKey: hostSlotKey(run.id, planOf(run), phase, index),
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
      forget();
      if (editTimer) clearTimeout(editTimer);
    }
    // From the host's answer until its result is stored, the outbox makes no Slack call (see stepsSettled).
    const releaseSlack = holdSlack();
    await outputWrites;
    // `fenced` (a newer leader of this deployment has run steps on that host) is recorded like any step that did
    // not run: a deposed replica's write is refused by the database's fence and the new leader marks the run
    // interrupted; if this replica still leads, the run stops for a person to decide, never retried in a loop.
    const ended = clock();
    // The bot is going down or was deposed, not a person's Stop: the step stays "running" and the next leader
    // reports the run as interrupted, outcome unknown.
    if (result.outcome === 'stopped' && (shuttingDown || halting) && (await store.getRun(run.id))?.status === 'running') {
      releaseSlack();
      return result;
    }
    const status = result.outcome;
    const storedOutput = redactSecrets(result.output);
    const reason = redactSecrets(result.message);
    const endView = await ctx.viewOf(run);
    await store
      .finishStep({
        attemptId: attempt.id,
        end: { status, exitCode: result.exitCode, endedAt: ended, output: storedOutput, message: reason },
        next: status === 'succeeded' ? { move: 'advance' } : { transition: failureOf(phase) },
        now: ended,
        effects: (finished) => {
          const stepFinished = decisionOf(run, ended, 'step_finished', 'scalebot', status, {
            step: step.id,
            phase,
            host: step.host,
            exit_code: result.exitCode,
            duration_ms: result.durationMs,
            ...(hidden ? { output_hidden: true } : { output_tail: storedOutput.split('\n').slice(-20).join('\n').slice(-2000) }),
            reason: status === 'succeeded' ? undefined : reason,
            attempt_id: attempt.id,
          });
          const stepMessage: MessageWrite[] = [];
          if (finished.attempt.messageId !== null) {
            const message = buildStepMessage(step, index, phase, storedOutput, finished.attempt, { hidden });
            stepMessage.push(editMessage(stepMessageKey(run.id, attempt.id), payloadOf(message)));
          }
          if (status === 'succeeded') {
            // A Stop that came too late to stop the command leaves the run stopped, past the step that succeeded.
            const stoppedAfter = finished.moved && finished.run.status !== 'running';
            return {
              decisions: [stepFinished],
              messages: [
                ...stepMessage,
                ...(stoppedAfter ? [renderRun(finished, endView, `${step.title} succeeded before the stop reached it; the next step was not started`)] : []),
              ],
            };
          }
          if (!finished.moved) return { decisions: [stepFinished], messages: [...stepMessage, renderRun(finished, endView)] };
          return {
            decisions: [
              stepFinished,
              decisionOf(finished.run, ended, 'run_failed', 'scalebot', finished.run.status, { step: step.id, phase, outcome: status, reason }),
              ...(finished.released.length > 0 ? [decisionOf(finished.run, ended, 'unlock', 'scalebot', 'released', { hosts: finished.released })] : []),
            ],
            messages: [...stepMessage, renderRun(finished, endView, `${step.title}: ${reason}`)],
          };
        },
      })
      .finally(releaseSlack);
    await deps.deliver();
    return result;
  }

  function notStarted(outcome: StepResult['outcome'], message: string): StepResult {
    return {
      outcome,
      exitCode: null,
      signal: null,
      durationMs: 0,
      stdoutTail: '',
      stderrTail: '',
      output: '',
      outputTruncated: false,
      message,
      mayRunUntil: null,
    };
  }

  return {
    launch,
    abort: (runId) => controllers.get(runId)?.controller.abort(),
    // At most 10 s: a hold that something failed to release must not stop the outbox for good.
    stepsSettled: async () => {
      const deadline = Date.now() + 10_000;
      while (holds.size > 0 && Date.now() < deadline) {
        await Promise.race([Promise.all([...holds]), new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref?.())]);
      }
    },
    executing: () => [...executions.keys()],
    mark: () => marks,
    abortIfStartedBefore(runId, mark) {
      const inFlight = controllers.get(runId);
      if (inFlight && inFlight.mark <= mark) inFlight.controller.abort();
    },
    async halt() {
      halting = true;
      try {
        relaunch.clear();
        for (const { controller } of controllers.values()) controller.abort();
        while (executions.size > 0) await Promise.all(executions.values());
      } finally {
        halting = false;
      }
    },
    settled: async (runId) => {
      await executions.get(runId);
    },
    async idle() {
      while (executions.size > 0) await Promise.all(executions.values());
    },
    /** Steps in flight are cut off and their runs left "running", so the next start reports them interrupted. */
    async shutdown() {
      shuttingDown = true;
      for (const { controller } of controllers.values()) controller.abort();
      await Promise.all(executions.values());
    },
  };
}
