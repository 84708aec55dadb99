import { TRANSITIONS } from '../../core/run-state.ts';
import { decisionOf, renderRun, threadReply, type RunnerContext } from './context.ts';
import type { Requests } from './requests.ts';

/** What a restart and the clock do to runs: interrupted ones are marked, stale requests end. */
export function createRecovery(ctx: RunnerContext, requests: Pick<Requests, 'expireIfDue' | 'planNotPostable'>) {
  const { deps, stepsOf } = ctx;
  const store = deps.storage.runbooks;

  /**
   * At start: a run that was executing when the bot died is marked interrupted, the step it was in recorded as
   * "outcome unknown", and never re-run by itself: someone chooses Retry, Roll back or Abandon.
   */
  async function recoverInterrupted(): Promise<number> {
    let count = 0;
    // "approved" left behind means the bot died between the last approval and the first step: nothing ran,
    // but starting by itself after a restart would surprise people, so it waits for a click like the rest.
    for (const run of await store.listRuns({ limit: 1000, statuses: TRANSITIONS.interrupt.from })) {
      const view = await ctx.viewOf(run);
      await store.transition({
        id: run.id,
        name: 'interrupt',
        now: view.now,
        stepsInFlight: { interrupt: 'the bot stopped during this step; its outcome is unknown' },
        effects: (written) => {
          const interrupted = written.run;
          const step = stepsOf(interrupted)[interrupted.stepIndex];
          const where = `${interrupted.phase === 'rollback' ? 'rollback ' : ''}step ${interrupted.stepIndex + 1}${step ? ` (${step.title})` : ''}`;
          return {
            decisions: [decisionOf(interrupted, view.now, 'run_interrupted', 'scalebot', 'interrupted', { step: step?.id, phase: interrupted.phase })],
            messages: [
              ...threadReply(
                interrupted,
                `interrupted:${interrupted.stepIndex}:${view.now.getTime()}`,
                `:warning: The bot restarted: this run was interrupted during ${where}, outcome unknown. ` +
                  'It will not run again by itself: Retry step, Roll back or Abandon.',
                view.now,
              ),
              renderRun(written, view, `interrupted during ${where}, outcome unknown`),
            ],
          };
        },
      });
      count += 1;
    }
    for (const run of await store.listRuns({ limit: 1000, statuses: ['awaiting_approval'] })) await requests.expireIfDue(run);
    await deps.deliver();
    return count;
  }

  /** Every 30 s: expired requests end, and a plan Slack refused for good stops holding its hosts. */
  async function expireStale(): Promise<void> {
    for (const run of await store.listRuns({ limit: 1000, statuses: ['awaiting_approval'] })) await requests.expireIfDue(run);
    await deps.deliver();
    for (const run of await store.listRuns({ limit: 1000, statuses: TRANSITIONS.cancel.from })) await requests.planNotPostable(run.id);
    await deps.deliver();
  }

  return { recoverInterrupted, expireStale };
}
