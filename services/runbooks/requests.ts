import { randomBytes } from 'node:crypto';
import { approvalsSuffice, judgeApproval } from '../../core/approval.ts';
import { redactSecrets } from '../../core/redact.ts';
import { BEFORE_START_STATUSES, canApply, clickApplies, isExpiryDue, stepKey, type RunClick } from '../../core/run-state.ts';
import { describeIds, planRun, type RunPlan } from '../../core/runbooks.ts';
import { collectStatus } from '../../core/status.ts';
import type { RunRecord } from '../../core/storage/runbooks.ts';
import {
  CHANGED_MEANWHILE,
  IN_FLIGHT,
  NOT_ITS_MESSAGE,
  STILL_POSTING,
  OK,
  decisionOf,
  planOf,
  refuse,
  renderRun,
  threadReply,
  type Answer,
  type ClickOrigin,
  type RunnerContext,
} from './context.ts';
import type { Executor } from './executor.ts';

/**
 * Requests and the clicks on a run's message: each is judged against the run as read (core/run-state.ts,
 * core/approval.ts), then applied with `ctx.move`, whose compare-and-set settles any race with another click
 * or the executor.
 */
export function createRequests(ctx: RunnerContext, executor: Executor) {
  const { deps, runbookOf, stepsOf, move, mayApprove, isAdmin } = ctx;
  const { config, clock } = deps;
  const store = deps.storage.runbooks;
  const decisions = deps.storage.decisions;

  /** A step marked confirm, and so its retry, needs an approver; the requester only if the policy allows self-approval. */
  async function mayConfirm(run: RunRecord, user: string): Promise<boolean> {
    const runbook = runbookOf(run);
    if (!runbook || (user === run.requester && !runbook.approval.allowSelf)) return false;
    return mayApprove(runbook, user);
  }

  /** Requester, approvers and admins may stop, retry, roll back or abandon a run they can see. */
  async function mayOperate(run: RunRecord, user: string): Promise<boolean> {
    if (user === run.requester) return true;
    if (await mayApprove(runbookOf(run), user)) return true;
    return isAdmin(user);
  }

  /**
   * A run's buttons act on that run only from its own message: a click carrying another channel or message
   * (a forged payload, a copy of the blocks pasted elsewhere) changes nothing.
   */
  /**
   * Whether the click comes from the run's own message; undefined when it does. A message Slack has shown but
   * whose ts the bot has not recorded yet (a moment after the post, longer if the leader died in between) is
   * not refused as foreign: the person is told to click again once it is recorded.
   */
  async function originRefusal(run: RunRecord, origin: ClickOrigin | undefined): Promise<Answer | undefined> {
    if (!origin) return undefined;
    if (origin.channel !== run.channel) return refuse(NOT_ITS_MESSAGE);
    const posted = await store.runMessage(run.id);
    if (posted?.ts && posted.ts === origin.messageTs) return undefined;
    return refuse(posted && !posted.ts ? STILL_POSTING : NOT_ITS_MESSAGE);
  }

  /** The run as the click finds it, when the click may apply to it at all. */
  async function clickable(runId: number, click: RunClick, step?: { phase: string; index: number }): Promise<RunRecord | undefined> {
    const run = await store.getRun(runId);
    return run && clickApplies(click, run, step) ? run : undefined;
  }

  /** The click lost a race: someone else's click or the executor changed the run first. */
  async function changedMeanwhile(runId: number): Promise<Answer> {
    const now = await store.getRun(runId);
    return refuse(`${CHANGED_MEANWHILE}${now ? ` (run #${runId} is now ${now.status.replace(/_/g, ' ')})` : ''}.`);
  }

  const log = (run: RunRecord, kind: string, actor: string, outcome: string | null, detail: Record<string, unknown> = {}) =>
    decisions.append(decisionOf(run, clock(), kind, actor, outcome, detail));

  /** `/scale run <id> key=value …`: validated, planned, locked, posted. Throws PlanError/ParamError. */
  async function request(runbookId: string, given: Record<string, string>, requester: string, channel: string): Promise<Answer> {
    const runbook = config.runbooks.find((candidate) => candidate.id === runbookId);
    if (!runbook) return refuse(`There is no runbook \`${runbookId}\`. \`/scale runbooks\` lists them.`);
    if (runbook.disabled) {
      await decisions.append({
        at: clock(),
        kind: 'run_refused',
        actor: requester,
        channel,
        subject: runbook.id,
        outcome: 'disabled',
        detail: { reason: runbook.disabled },
      });
      return refuse(`\`${runbook.id}\` is disabled: ${runbook.disabled}`);
    }
    if (runbook.requesters.length > 0 && !(await deps.isAllowed(requester, runbook.requesters))) {
      await decisions.append({ at: clock(), kind: 'run_refused', actor: requester, channel, subject: runbook.id, outcome: 'not_a_requester' });
      return refuse(
        `Only ${describeIds(runbook.requesters)} may request \`${runbook.id}\` (\`requesters\` in the config); ask one of them. Nothing was planned.`,
      );
    }
    const plan: RunPlan = { ...planRun(runbook, given, config.hosts), slot: randomBytes(6).toString('hex') };
    const now = clock();
    const input = {
      runbookId: runbook.id,
      title: runbook.title,
      requester,
      channel,
      params: { ...plan.params },
      plan: plan as unknown as Record<string, unknown>,
      createdAt: now,
      expiresAt: new Date(now.getTime() + runbook.approval.expiresSeconds * 1000),
    };
    const view = await ctx.viewOf(input);
    const requested = await store.request({
      run: input,
      hosts: plan.hosts,
      effects: (written) => ({
        decisions: [
          decisionOf(written.run, now, 'run_requested', requester, 'planned', {
            params: plan.params,
            hosts: plan.hosts,
            steps: plan.steps.map((step) => ({ id: step.id, host: step.host, command: step.command })),
          }),
          decisionOf(written.run, now, 'lock', requester, 'locked', { hosts: plan.hosts }),
        ],
        messages: [renderRun(written, view)],
      }),
      refused: ({ run, lock }) => ({ decisions: [decisionOf(run, now, 'run_refused', requester, 'locked', { host: lock.host, locked_by_run: lock.runId })] }),
    });
    await deps.deliver();
    if (!requested.ok) {
      const { lock, holder } = requested;
      const heldBy = holder ? ` (${holder.title}, started by <@${holder.requester}>, since ${holder.createdAt.toISOString().slice(11, 16)} UTC)` : '';
      return refuse(`\`${lock.host}\` is locked by run #${lock.runId}${heldBy}. An admin can release it with \`/scale unlock ${lock.host}\`.`);
    }
    return (await planNotPostable(requested.run.id)) ?? OK;
  }

  /**
   * A plan Slack refused for good (the bot is not in the channel, the channel is archived) can be seen and
   * approved by nobody: it is cancelled at once so that it does not hold its hosts' locks invisibly.
   */
  async function planNotPostable(runId: number): Promise<Answer | null> {
    const run = await store.getRun(runId);
    const posted = run ? await store.runMessage(runId) : undefined;
    if (!run || !posted?.failed) return null;
    const reason = posted.error ?? 'refused';
    const cancelled = await move(run, 'cancel', 'scalebot', 'run_cancelled', { detail: { reason: `the plan could not be posted: ${reason}` } });
    if (!cancelled.ok) return null;
    const hint =
      reason === 'not_in_channel' || reason === 'channel_not_found'
        ? 'invite me first (`/invite @scalebot`), or ask in a channel I am in'
        : 'ask again in a channel I can post in';
    return refuse(
      `I could not post run #${runId}'s plan in this channel (Slack said \`${reason}\`), so nobody could approve it: ` +
        `it is cancelled and its hosts are not locked. To run it, ${hint}.`,
    );
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

  /** A request past its deadline ends as expired when anyone looks at it. */
  async function expireIfDue(run: RunRecord): Promise<RunRecord> {
    if (!isExpiryDue(run, clock())) return run;
    const expired = await move(run, 'expire', 'scalebot', 'run_expired', { detail: { expired_at: run.expiresAt.toISOString() } });
    return expired.run ?? run;
  }

  async function approve(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const found = await store.getRun(runId);
    if (!found) return refuse(`Run #${runId} does not exist.`);
    const run = await expireIfDue(found);
    if (!clickApplies('approve', run)) {
      await deps.deliver();
      return refuse(`Run #${runId} is not waiting for approval (${run.status.replace(/_/g, ' ')}).`);
    }
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    const runbook = runbookOf(run);
    if (!runbook) return refuse(`Runbook ${run.runbookId} is no longer configured.`);
    const decision = judgeApproval(runbook.approval, {
      requester: run.requester,
      approver: user,
      isApprover: await mayApprove(runbook, user),
      alreadyApproved: (await store.listApprovals(run.id)).map((approval) => approval.approver),
    });
    if (!decision.accepted) {
      await log(run, 'approval_refused', user, 'refused', { reason: decision.reason });
      return refuse(`:no_entry: Your approval does not count: ${decision.reason}. Nothing was changed.`);
    }
    const snapshot = await snapshotTriggers(clock());
    const view = await ctx.viewOf(run);
    const approval = await store.approve({
      id: runId,
      approver: user,
      at: clock(),
      suffice: (approvers) => approvalsSuffice(runbook.approval, approvers),
      effects: (written) => ({
        decisions: [
          decisionOf(run, view.now, 'approval', user, 'approved', {
            approvals: written.approvals.length,
            required: runbook.approval.required,
            trigger_snapshot: snapshot,
          }),
        ],
        // The last approval's message is the one its start (or its hold for the checklist) renders.
        messages: written.approved ? [] : [renderRun(written, view)],
      }),
    });
    if (approval.outcome === 'approved') return begin(runId, user);
    if (approval.outcome === 'expired') await expireIfDue(approval.run!);
    await deps.deliver();
    if (approval.outcome === 'changed') return changedMeanwhile(runId);
    if (approval.outcome === 'expired') return refuse(`Run #${runId} expired before your approval arrived. Nothing was changed.`);
    if (approval.outcome === 'duplicate') return refuse('You have approved it already.');
    return OK;
  }

  /** Approved: start, unless the required checklist is not complete yet. */
  async function begin(runId: number, user: string): Promise<Answer> {
    const run = (await store.getRun(runId))!;
    const runbook = runbookOf(run);
    if (runbook?.requiresChecklist) {
      const gate = await ctx.checklistGate(runbook.requiresChecklist, clock());
      if (!gate.complete) {
        if (canApply('holdForChecklist', run.status)) {
          await move(run, 'holdForChecklist', user, 'run_waiting_checklist', { detail: { checklist: runbook.requiresChecklist, reason: gate.text } });
        }
        await deps.deliver();
        return refuse(`Run #${runId} waits for checklist \`${runbook.requiresChecklist}\`: ${gate.text}. Press Start once it is complete.`);
      }
    }
    const running = await move(run, 'begin', user, 'run_started', { patch: { startedAt: run.startedAt ?? clock() } });
    await deps.deliver();
    if (!running.ok) return changedMeanwhile(runId);
    executor.launch(runId);
    return OK;
  }

  async function start(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = await clickable(runId, 'start');
    if (!run) return refuse(`Run #${runId} is not waiting to start.`);
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    if (!(await mayOperate(run, user))) return refuse(`:no_entry: Only the requester, its approvers or an admin may start it.`);
    return begin(runId, user);
  }

  async function reject(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const found = await store.getRun(runId);
    if (!found) return refuse(`Run #${runId} does not exist.`);
    const run = await expireIfDue(found);
    if (!clickApplies('reject', run)) return refuse(`Run #${runId} is not waiting for approval.`);
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    if (user === run.requester || !(await mayApprove(runbookOf(run), user))) {
      await log(run, 'rejection_refused', user, 'refused');
      return refuse(`:no_entry: Only one of its approvers may reject it (the requester can Cancel). Nothing was changed.`);
    }
    const rejected = await move(run, 'reject', user, 'run_rejected');
    await deps.deliver();
    return rejected.ok ? OK : changedMeanwhile(runId);
  }

  async function cancel(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = await clickable(runId, 'cancel');
    if (!run) return refuse(`Run #${runId} cannot be cancelled now.`);
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    if (user !== run.requester && !(await isAdmin(user))) {
      await log(run, 'cancel_refused', user, 'refused');
      return refuse(':no_entry: Only the requester (or an admin) may cancel it.');
    }
    const cancelled = await move(run, 'cancel', user, 'run_cancelled');
    await deps.deliver();
    return cancelled.ok ? OK : changedMeanwhile(runId);
  }

  async function confirm(runId: number, user: string, phase: string, index: number, origin?: ClickOrigin): Promise<Answer> {
    const run = await clickable(runId, 'confirm', { phase, index });
    if (!run) return refuse('That step is not waiting for confirmation (the message you clicked is out of date).');
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    if (!(await mayConfirm(run, user))) {
      await log(run, 'confirmation_refused', user, 'refused', { step: stepsOf(run)[index]?.id });
      return refuse(`:no_entry: A step marked confirm needs one of the approvers, not the requester. Nothing was changed.`);
    }
    const running = await move(run, 'confirm', user, 'confirmation', {
      patch: { confirmedStep: stepKey(phase, index) },
      at: { phase, stepIndex: index },
      detail: { step: stepsOf(run)[index]?.id, phase },
    });
    await deps.deliver();
    if (!running.ok) return changedMeanwhile(runId);
    executor.launch(runId);
    return OK;
  }

  async function stop(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = await clickable(runId, 'stop');
    if (!run) return refuse(`Run #${runId} is not running.`);
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    if (!(await mayOperate(run, user))) return refuse(`:no_entry: Only the requester, its approvers or an admin may stop it.`);
    // The status changes first: the executor checks it before every step and before every command, so a Stop
    // that lands before the first step, between two, or while a command starts is never overwritten.
    const stopped = await move(run, 'stop', user, 'run_stopped', {
      detail: ({ run: current, previous }) => ({ step: stepsOf(current)[current.stepIndex]?.id, phase: current.phase, was: previous }),
      note: `stopped by ${user}`,
    });
    executor.abort(runId);
    await deps.deliver();
    if (!stopped.ok) return changedMeanwhile(runId);
    await executor.settled(runId);
    return OK;
  }

  async function retry(runId: number, user: string, phase: string, index: number, origin?: ClickOrigin): Promise<Answer> {
    const run = await clickable(runId, 'retry', { phase, index });
    if (!run) return refuse('That step cannot be retried now (the message you clicked is out of date).');
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    const step = stepsOf(run)[index];
    // Retrying a step marked confirm runs it: the click is its confirmation, so only a confirmer may make it.
    if (step?.confirm) {
      if (!(await mayConfirm(run, user))) {
        await log(run, 'retry_refused', user, 'refused', { step: step.id, phase, reason: 'confirm step' });
        return refuse(
          `:no_entry: Step ${index + 1} is marked confirm: retrying it confirms it, ` +
            'so only one of the approvers other than the requester may retry it. Nothing was changed.',
        );
      }
    } else if (!(await mayOperate(run, user))) {
      return refuse(`:no_entry: Only the requester, its approvers or an admin may retry.`);
    }
    const running = await move(run, 'retry', user, 'retry', {
      patch: { confirmedStep: step?.confirm ? stepKey(phase, index) : null },
      at: { phase, stepIndex: index },
      detail: { phase, step: step?.id, confirmed: Boolean(step?.confirm) },
      stepsInFlight: 'refuse',
    });
    await deps.deliver();
    if (!running.ok) return running.why === 'step_in_flight' ? refuse(IN_FLIGHT) : changedMeanwhile(runId);
    executor.launch(runId);
    return OK;
  }

  async function rollback(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = await clickable(runId, 'rollback');
    if (!run) return refuse(`Run #${runId} cannot be rolled back now.`);
    if (planOf(run).rollback.length === 0) return refuse('This runbook has no rollback steps.');
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    if (!(await mayOperate(run, user))) return refuse(`:no_entry: Only the requester, its approvers or an admin may roll back.`);
    const rolling = await move(run, 'rollback', user, 'rollback', {
      patch: { phase: 'rollback', stepIndex: 0, confirmedStep: null },
      at: { phase: 'steps' },
      stepsInFlight: 'refuse',
    });
    await deps.deliver();
    if (!rolling.ok) return rolling.why === 'step_in_flight' ? refuse(IN_FLIGHT) : changedMeanwhile(runId);
    executor.launch(runId);
    return OK;
  }

  async function abandon(runId: number, user: string, origin?: ClickOrigin): Promise<Answer> {
    const run = await clickable(runId, 'abandon');
    if (!run) return refuse(`Run #${runId} cannot be abandoned now.`);
    const notFromIt = await originRefusal(run, origin);
    if (notFromIt) return notFromIt;
    if (!(await mayOperate(run, user))) return refuse(`:no_entry: Only the requester, its approvers or an admin may abandon it.`);
    const abandoned = await move(run, 'abandon', user, 'run_abandoned', { stepsInFlight: 'refuse' });
    await deps.deliver();
    if (!abandoned.ok) return abandoned.why === 'step_in_flight' ? refuse(IN_FLIGHT) : changedMeanwhile(runId);
    return OK;
  }

  async function unlock(host: string, user: string): Promise<Answer> {
    if (!(await isAdmin(user))) {
      await decisions.append({ at: clock(), kind: 'unlock_refused', actor: user, subject: host, outcome: 'refused' });
      return refuse(':no_entry: Only an admin (`admins` in the config) may release a lock.');
    }
    const at = clock();
    const lock = await store.releaseLock(host, (released) => ({
      decisions: [
        { at, kind: 'unlock', actor: user, subject: host, outcome: 'force_released', detail: { run_id: released.runId, locked_by: released.lockedBy } },
      ],
    }));
    return lock ? { ok: true, message: `Released \`${host}\` (it was locked by run #${lock.runId}).` } : refuse(`\`${host}\` is not locked.`);
  }

  /**
   * A checklist was completed: every run still ahead of its start whose runbook requires that checklist is
   * shown again, now with the checklist complete, and a run that was held for it says in its thread that it
   * can start. Nothing starts by itself: a person still presses Start.
   */
  async function checklistCompleted(checklistId: string): Promise<number> {
    const runbookIds = new Set(config.runbooks.filter((runbook) => runbook.requiresChecklist === checklistId).map((runbook) => runbook.id));
    if (runbookIds.size === 0) return 0;
    const ahead = (await store.listRuns({ limit: 1000, statuses: BEFORE_START_STATUSES })).filter((run) => runbookIds.has(run.runbookId));
    if (ahead.length === 0) return 0;
    const at = clock();
    const views = new Map<string, Awaited<ReturnType<typeof ctx.viewOf>>>();
    for (const run of ahead) if (!views.has(run.runbookId)) views.set(run.runbookId, await ctx.viewOf(run));
    await store.show(
      ahead.map((run) => run.id),
      (snapshots) => ({
        messages: snapshots.flatMap((snapshot) => [
          renderRun(snapshot, views.get(snapshot.run.runbookId)!),
          ...(snapshot.run.status === 'waiting_checklist'
            ? threadReply(
                snapshot.run,
                `checklist-complete:${at.getTime()}`,
                `:white_check_mark: Checklist \`${checklistId}\` is complete: press *Start* to run.`,
                at,
              )
            : []),
        ]),
      }),
    );
    await deps.deliver();
    return ahead.length;
  }

  return { request, approve, checklistCompleted, reject, cancel, start, confirm, stop, retry, rollback, abandon, unlock, expireIfDue, planNotPostable };
}

export type Requests = ReturnType<typeof createRequests>;
