import { isFinished } from '../../core/run-state.ts';
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
  return {
    ...requests,
    ...recovery,
    getLock: (host: string) => deps.storage.runbooks.getLock(host),
    /** Resolves when every step started so far has ended (tests, shutdown). */
    idle: executor.idle,
    /** Shutdown: steps in flight are cut off and their runs left "running", so the next start reports them interrupted. */
    shutdown: executor.shutdown,
    isFinished,
  };
}

export type RunbookRunner = ReturnType<typeof createRunbookRunner>;
