import { STEP_MOVES, isFinished } from '../../core/run-state.ts';
import type { LeaderJob } from '../leadership.ts';
import { createRunnerContext, type RunbookRunnerDeps } from './context.ts';
import { createExecutor } from './executor.ts';
import { createRecovery } from './recovery.ts';
import { createRequests } from './requests.ts';

export {
  CHANGED_MEANWHILE,
  IN_FLIGHT,
  NOT_ITS_MESSAGE,
  type Answer,
  type ChecklistGate,
  type ChecklistGateAnswer,
  type ClickOrigin,
  type RunbookRunnerDeps,
} from './context.ts';

/**
 * Runbooks from request to record: the plan is posted with Approve / Reject / Cancel, runs only after the
 * approval policy is met, steps run one after another over SSH with their output streamed into the thread,
 * a failure stops the run and offers Retry / Roll back / Abandon. Every decision is a decision-log row, and
 * every state is stored before Slack hears of it, so a restart finds each run where it was.
 *
 * requests.ts takes the requests and clicks, executor.ts runs the steps, recovery.ts handles restarts and
 * expiry; context.ts holds what they share, above all `move`, the one way a run changes status.
 */
export function createRunbookRunner(deps: RunbookRunnerDeps) {
  const context = createRunnerContext(deps);
  const executor = createExecutor(context);
  // expireIfDue and planNotPostable serve recovery; they are not part of the runner's API.
  const { expireIfDue, planNotPostable, ...requests } = createRequests(context, executor);
  const recovery = createRecovery(context, { expireIfDue, planNotPostable });
  const { logger } = deps;
  const store = deps.storage.runbooks;

  let reconcileTimer: NodeJS.Timeout | null = null;
  let expiryTimer: NodeJS.Timeout | null = null;
  let reconciling: Promise<void> | null = null;

  /**
   * The leader's hand-over pass: a run a click on a follower set running (an approval, a confirmation, a retry)
   * is launched here, and a run executing here whose status a click elsewhere changed (a Stop) has its step
   * aborted. Clicks on the leader itself launch and abort at once; this pass is for the others.
   */
  async function reconcile(): Promise<void> {
    const mark = executor.mark();
    const executable = await store.listRuns({ limit: 1000, statuses: STEP_MOVES.startStep });
    const ids = new Set(executable.map((run) => run.id));
    const executing = new Set(executor.executing());
    for (const id of ids) if (!executing.has(id)) executor.launch(id);
    // Only steps started before the list was read: one started since was judged on fresher state.
    for (const id of executing) if (!ids.has(id)) executor.abortIfStartedBefore(id, mark);
  }

  const reconcileSoon = () => {
    reconciling ??= reconcile()
      .catch((error: unknown) => logger.error({ err: error }, 'runbooks: the reconcile pass failed'))
      .finally(() => {
        reconciling = null;
      });
    return reconciling;
  };

  /**
   * The leader's runbook work, for services/leadership.ts: at election the runs a dead leader was executing are
   * marked interrupted (never re-run by themselves), then the reconcile pass and the expiry timer run until the
   * replica is deposed or stops, when the steps in flight here are cut off (their results could not be written).
   */
  const leaderJob: LeaderJob = {
    name: 'runbooks',
    async start() {
      const interrupted = await recovery.recoverInterrupted();
      if (interrupted > 0) logger.warn({ runs: interrupted }, 'runbook runs were interrupted by the last stop; marked, not re-run');
      reconcileTimer = setInterval(() => void reconcileSoon(), deps.reconcileEveryMs ?? 500);
      reconcileTimer.unref?.();
      expiryTimer = setInterval(
        () => void recovery.expireStale().catch((error: unknown) => logger.error({ err: error }, 'expiring runs failed')),
        deps.expireEveryMs ?? 30_000,
      );
      expiryTimer.unref?.();
    },
    async stop() {
      if (reconcileTimer) clearInterval(reconcileTimer);
      if (expiryTimer) clearInterval(expiryTimer);
      reconcileTimer = expiryTimer = null;
      await reconciling;
      await executor.halt();
    },
  };

  return {
    ...requests,
    ...recovery,
    getLock: (host: string) => deps.storage.runbooks.getLock(host),
    /** Resolves when every step started so far has ended (tests, shutdown). */
    idle: executor.idle,
    stepsSettled: executor.stepsSettled,
    /** Shutdown: steps in flight are cut off and their runs left "running", so the next start reports them interrupted. */
    shutdown: executor.shutdown,
    leaderJob,
    /** One reconcile pass now (tests; the leader runs one every 500 ms). */
    reconcile: reconcileSoon,
    isFinished,
  };
}

export type RunbookRunner = ReturnType<typeof createRunbookRunner>;
