import type { Logger } from 'pino';
import { runMessageKey, summarizeRun, transition, type Checklist, type EndedStatus, type RunCommand, type RunTransition } from '../../core/checklists.ts';
import type { Config } from '../../core/config/index.ts';
import type { PrometheusPort, Storage } from '../../core/ports.ts';
import type { ChangedRun, ChecklistRunRecord, ChecklistRunState, RunMessageRecord } from '../../core/storage/checklists.ts';
import type { DecisionInput } from '../../core/storage/effects.ts';
import { collectStatus } from '../../core/status.ts';
import { buildChecklistMessage, buildChecklistSummary, runTitle, type ChecklistAction, type ChecklistRunView } from '../../blocks/checklist.ts';
import { slackTime } from '../../blocks/breach.ts';
import { buildStatusBlocks, VERDICT_TITLES } from '../../blocks/status.ts';
import { escapeMrkdwn, SLACK_LIMITS, type Block } from '../../blocks/types.ts';
import { describeAllowed } from '../../blocks/replies.ts';
import { changeRun, renderRun, replyInThread, viewOf, type Decided } from './run-changes.ts';
import { createRunbookBridge, type ChecklistRunbookPort } from './runbook-bridge.ts';
import { payloadOf, postMessage } from '../outbox.ts';

export interface ChecklistRunsDeps {
  readonly storage: Storage;
  readonly config: Config;
  readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Sends what the outbox holds (posts, edits, thread replies); serialized by its owner. */
  readonly deliver: () => Promise<unknown>;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
  readonly runbooks: ChecklistRunbookPort;
  /** Told when a run of a checklist is completed (runbooks held for it show it complete). */
  readonly onCompleted: (checklistId: string) => Promise<unknown>;
}

export interface StartOutcome {
  readonly run: ChecklistRunRecord;
  /** The message is in the channel. */
  readonly posted: boolean;
  /** Why it is not (yet): for the person who asked. */
  readonly problem?: string;
}

/** A click on a checklist button, as blocks/checklist.ts parsed it, and where the clicked message is (as the payload says). */
export interface ChecklistClick {
  readonly action: ChecklistAction;
  readonly user: string;
  readonly channel: string | undefined;
  readonly messageTs: string | undefined;
}

export interface ChecklistClickOutcome {
  readonly changed: boolean;
  /** Told to the clicker alone. */
  readonly message?: string;
  /** For the logs and tests: why nothing changed. */
  readonly refused?: 'malformed' | 'unknown_run' | 'unknown_item' | 'not_allowed' | 'ended' | 'unchanged' | 'no_data' | 'no_runbook';
}

export interface RunWithMessage {
  readonly view: ChecklistRunView;
  readonly channel: string;
  readonly ts: string | null;
}

const ENDED_WORDS = { completed: 'was completed', closed: 'was closed', abandoned: 'was abandoned' } as const;
const CHANGED_MEANWHILE = 'The run kept changing while I tried; nothing was changed. Try again.';

/**
 * Checklist runs: posted in a channel, ticked with buttons, re-rendered from storage after every change, ended
 * with a summary in the thread. Every change is one storage transaction (the history row, the decision log
 * row and the message's new content together), decided by core/checklists.ts `transition` and written as a
 * compare-and-set, and Slack hears of it through the outbox, so a restart loses nothing and a message is
 * posted exactly once.
 */
export function createChecklistRuns(deps: ChecklistRunsDeps) {
  const { config, clock, logger } = deps;
  const store = deps.storage.checklists;
  const messageOptions = { hasRunbook: (id: string) => deps.runbooks?.has(id) ?? false };

  /** Who may tick this run's items: the checklist's responders as configured now, else as they were at its start. */
  function respondersOf(run: ChecklistRunRecord): readonly string[] {
    return config.checklists.find((checklist) => checklist.id === run.checklistId)?.responders ?? run.definition.responders ?? [];
  }

  async function deliver(): Promise<void> {
    try {
      await deps.deliver();
    } catch (error) {
      // The outbox keeps what was not sent; the next delivery sends it.
      logger.error({ err: error }, 'checklist: delivering to Slack failed');
    }
  }

  const bridge = createRunbookBridge({ store, clock, messageOptions, deliver, runbooks: deps.runbooks });

  /** Posts a new run of a checklist in a channel. */
  async function start(input: { checklist: Checklist; name: string | null; user: string; channel: string }): Promise<StartOutcome> {
    const now = clock();
    const { run } = await store.start(
      { checklist: input.checklist, name: input.name, channel: input.channel, startedBy: input.user, startedAt: now },
      (created) => {
        const message = buildChecklistMessage(viewOf(created), messageOptions);
        return {
          messages: [postMessage(runMessageKey(created.run.id), input.channel, payloadOf(message), now)],
          decisions: [
            {
              at: now,
              kind: 'checklist_started',
              actor: input.user,
              channel: input.channel,
              subject: input.checklist.id,
              outcome: 'open',
              detail: { run_id: created.run.id, name: input.name, items: input.checklist.items.length },
            },
          ],
        };
      },
    );
    await deliver();
    const message = (await store.get(run.id))?.message;
    if (message?.status === 'sent') return { run, posted: true };
    if (message?.status === 'failed') {
      // Slack refused for good (not in the channel, archived…): the run would be a ghost; end it.
      const at = clock();
      const abandoned = await store.change({ runId: run.id, end: { status: 'abandoned', by: 'scalebot', at } }, () => ({
        decisions: [
          {
            at,
            kind: 'checklist_abandoned',
            actor: 'scalebot',
            channel: run.channel,
            subject: run.checklistId,
            outcome: 'abandoned',
            detail: { run_id: run.id, reason: `Slack refused the message: ${message.lastError}` },
          },
        ],
      }));
      return { run: abandoned?.run ?? run, posted: false, problem: postProblem(message) };
    }
    // The outbox's own follow-up pass posts it when Slack answers again (Retry-After, backoff): no timer of ours.
    return {
      run,
      posted: false,
      problem:
        `Slack did not take the message yet (${message?.lastError ?? 'no answer'}). ` +
        `Run #${run.id} is saved; I keep trying and it appears here once Slack answers.`,
    };
  }

  function postProblem(message: RunMessageRecord): string {
    if (message.lastError === 'not_in_channel' || message.lastError === 'channel_not_found') {
      return 'I cannot post in this channel: invite me first (`/invite @scalebot`), then try again.';
    }
    return `Slack refused the checklist message (${message.lastError}); nothing was started.`;
  }

  function refusal(refused: NonNullable<ChecklistClickOutcome['refused']>, message: string): ChecklistClickOutcome {
    return { changed: false, refused, message };
  }

  /** Refusals that are not about the state of the run: a payload we did not make, a run that is not there. */
  async function checkTarget(action: ChecklistAction, click: ChecklistClick): Promise<{ state: ChecklistRunState } | ChecklistClickOutcome> {
    const state = await store.get(action.runId);
    if (!state) return refusal('unknown_run', `Checklist run #${action.runId} does not exist; nothing was changed.`);
    const { run, message } = state;
    if ((click.channel && click.channel !== run.channel) || (click.messageTs && message?.ts && click.messageTs !== message.ts)) {
      return refusal('malformed', 'That button does not belong to this checklist run; nothing was changed.');
    }
    if ('itemId' in action && !run.definition.items.some((item) => item.id === action.itemId)) {
      return refusal('unknown_item', `Run #${run.id} has no item "${action.itemId}"; nothing was changed.`);
    }
    return { state };
  }

  function endedMessage(run: ChecklistRunRecord): string {
    const by = run.endedBy && run.endedBy !== 'scalebot' ? ` by <@${run.endedBy}>` : '';
    const when = run.endedAt ? ` ${slackTime(run.endedAt, '{date_short_pretty} {time}')}` : '';
    return `This checklist run ${ENDED_WORDS[run.status as EndedStatus]}${by}${when}; nothing was changed.`;
  }

  /** A click on any checklist button. Returns what to tell the clicker; never throws for a user's mistake. */
  async function click(input: ChecklistClick): Promise<ChecklistClickOutcome> {
    const { action } = input;
    const target = await checkTarget(action, input);
    if (!('state' in target)) {
      logger.warn({ action, user: input.user, refused: target.refused }, 'refused a checklist action');
      return target;
    }
    const { run } = target.state;
    const now = clock();
    const refusedClick = (reason: string): DecisionInput => ({
      at: now,
      kind: 'checklist_click_refused',
      actor: input.user,
      channel: run.channel,
      subject: run.checklistId,
      outcome: 'refused',
      detail: { run_id: run.id, action: action.kind, reason },
    });
    if (run.status !== 'open') {
      await deps.storage.decisions.append(refusedClick(`run ${run.status}`));
      return refusal('ended', endedMessage(run));
    }
    const responders = respondersOf(run);
    if (!(await deps.isAllowed(input.user, responders))) {
      await deps.storage.decisions.append(refusedClick('not a responder'));
      return refusal(
        'not_allowed',
        `:no_entry: Only ${describeAllowed(responders)} may tick this checklist (\`checklists.${run.checklistId}.responders\`). Nothing was changed.`,
      );
    }
    switch (action.kind) {
      case 'toggle':
        return toggle(run.id, action.itemId, action.intended, input.user);
      case 'snapshot':
        return snapshot(target.state, action.itemId, input.user);
      case 'close':
        return end(run.id, action.complete ? 'complete' : 'close', input.user);
      case 'abandon':
        return end(run.id, 'abandon', input.user);
      case 'runbook':
        return bridge
          .startRunbook(run, action.itemId, input.user)
          .then((outcome) => (outcome.refused ? refusal(outcome.refused, outcome.message) : { changed: false, message: outcome.message }));
    }
  }

  /** The answers every command shares: the run ended meanwhile, or the item is not in it. */
  function commonRefusal(
    decided: Exclude<RunTransition, { kind: 'apply' }>,
    state: ChecklistRunState,
    itemId?: string,
  ): Decided<ChecklistClickOutcome> | undefined {
    if (decided.kind === 'ended') return { answer: refusal('ended', endedMessage(state.run)) };
    if (decided.kind === 'unknown_item') return { answer: refusal('unknown_item', `Run #${state.run.id} has no item "${itemId}"; nothing was changed.`) };
    return undefined;
  }

  /** Brings a stale message up to date (no state change), then answers. */
  function rerenderAnd(_state: ChecklistRunState, outcome: ChecklistClickOutcome): Decided<ChecklistClickOutcome> {
    return { write: {}, effects: (changed) => ({ messages: renderRun(changed, messageOptions) }), afterWrite: () => outcome };
  }

  async function decideAndWrite(runId: number, decide: (state: ChecklistRunState) => Decided<ChecklistClickOutcome>): Promise<ChecklistClickOutcome> {
    const outcome = (await changeRun(store, runId, decide)) ?? refusal('unchanged', CHANGED_MEANWHILE);
    await deliver();
    return outcome;
  }

  async function toggle(runId: number, itemId: string, intended: 'tick' | 'untick', user: string): Promise<ChecklistClickOutcome> {
    const now = clock();
    return decideAndWrite(runId, (state) => {
      const view = viewOf(state);
      const decided = transition(view, { kind: 'toggle', itemId, intended });
      if (decided.kind !== 'apply') {
        const common = commonRefusal(decided, state, itemId);
        if (common) return common;
        if (decided.kind !== 'unchanged') throw new Error(`unexpected transition ${decided.kind}`);
        // The clicker's copy was stale: bring the message up to date and say who was first.
        const current = decided.state;
        return rerenderAnd(
          state,
          refusal(
            'unchanged',
            current.ticked
              ? `Already ticked by <@${current.by}> ${slackTime(current.at!, '{date_short_pretty} {time}')}; nothing was changed.`
              : 'That item is not ticked (someone unticked it); nothing was changed.',
          ),
        );
      }
      const { action } = decided.ticks[0]!;
      const item = state.run.definition.items.find((candidate) => candidate.id === itemId)!;
      return {
        write: { ticks: [{ itemId, action, actor: user, at: now, source: 'click' }] },
        effects: (changed) => ({
          decisions: [
            {
              at: now,
              kind: `checklist_${action}`,
              actor: user,
              channel: changed.run.channel,
              subject: changed.run.checklistId,
              outcome: action === 'tick' ? 'ticked' : 'unticked',
              detail: { run_id: runId, item_id: itemId, item: item.text },
            },
          ],
          messages: renderRun(changed, messageOptions),
        }),
        afterWrite: () => ({ changed: true }),
      };
    });
  }

  /** "Review current metrics": a /scale status snapshot in the thread, and the item ticked with its verdict. */
  async function snapshot(before: ChecklistRunState, itemId: string, user: string): Promise<ChecklistClickOutcome> {
    const runId = before.run.id;
    const first = transition(viewOf(before), { kind: 'snapshot', itemId, readable: true });
    if (first.kind === 'unchanged') return refusal('unchanged', `Already ticked by <@${first.state.by}>; nothing was changed.`);
    const item = before.run.definition.items.find((candidate) => candidate.id === itemId)!;
    const now = clock();
    const report = await collectStatus(config.triggers, deps.prometheus, now, config.prometheus.lookbackSeconds);
    const status = buildStatusBlocks(report, { dashboardUrl: config.grafana.dashboardUrl });
    const intro = `:bar_chart: Status snapshot for “${escapeMrkdwn(item.text)}”, attached by <@${user}>`;
    const blocks: Block[] = [
      { type: 'context', elements: [{ type: 'mrkdwn', text: intro }] },
      ...(status.blocks ?? []).slice(0, SLACK_LIMITS.blocksPerMessage - 1),
    ];
    const verdictTitle = report.failure ? 'no metrics' : VERDICT_TITLES[report.verdict];
    return decideAndWrite(runId, (state) => {
      const decided = transition(viewOf(state), { kind: 'snapshot', itemId, readable: !report.failure });
      if (decided.kind !== 'apply') {
        const common = commonRefusal(decided, state, itemId);
        if (common) return common;
        if (decided.kind === 'unchanged') return { answer: refusal('unchanged', `Already ticked by <@${decided.state.by}>; nothing was changed.`) };
        throw new Error(`unexpected transition ${decided.kind}`);
      }
      if (report.failure) {
        // Metrics nobody could read are not a review: the snapshot says why, and the item stays open.
        return {
          write: {},
          effects: (changed) => ({
            messages: replyInThread(changed, `snapshot:${itemId}:${now.getTime()}`, `${intro}: ${status.text}`, blocks, now),
            decisions: [
              {
                at: now,
                kind: 'checklist_snapshot',
                actor: user,
                channel: changed.run.channel,
                subject: changed.run.checklistId,
                outcome: 'no_data',
                detail: { run_id: runId, item_id: itemId, failure: report.failure },
              },
            ],
          }),
          afterWrite: () =>
            refusal('no_data', `:warning: Prometheus could not be read (${report.failure}); the snapshot is in the thread and the item stays open.`),
        };
      }
      const detail = { verdict: report.verdict, verdict_title: verdictTitle, evaluated_at: report.evaluatedAt.toISOString() };
      return {
        write: { ticks: [{ itemId, action: 'tick', actor: user, at: now, source: 'status_snapshot', detail }] },
        effects: (changed) => ({
          decisions: [
            {
              at: now,
              kind: 'checklist_tick',
              actor: user,
              channel: changed.run.channel,
              subject: changed.run.checklistId,
              outcome: 'ticked',
              detail: { run_id: runId, item_id: itemId, item: item.text, source: 'status_snapshot', ...detail },
            },
          ],
          messages: [
            ...replyInThread(changed, `snapshot:${changed.appended[0]!.id}`, `${intro}: ${status.text}`, blocks, now),
            ...renderRun(changed, messageOptions),
          ],
        }),
        afterWrite: () => ({ changed: true }),
      };
    });
  }

  /**
   * Close (completed when every item is ticked, else closed) or abandon; the summary goes in the thread.
   * `complete` is a click on "Complete run": refused when an item was unticked since the clicker's copy.
   */
  async function end(runId: number, how: Extract<RunCommand, { kind: 'end' }>['how'], user: string): Promise<ChecklistClickOutcome> {
    const now = clock();
    let completed: string | null = null;
    const outcome = await decideAndWrite(runId, (state) => {
      const before = viewOf(state);
      const decided = transition(before, { kind: 'end', how });
      if (decided.kind !== 'apply') {
        const common = commonRefusal(decided, state);
        if (common) return common;
        if (decided.kind !== 'incomplete') throw new Error(`unexpected transition ${decided.kind}`);
        const open = decided.open.map((item) => `“${escapeMrkdwn(item.item.text)}”`);
        return rerenderAnd(
          state,
          refusal(
            'unchanged',
            `Not every item is ticked any more (${open.slice(0, 3).join(', ')}${open.length > 3 ? ', …' : ''} ${open.length === 1 ? 'is' : 'are'} open); ` +
              'the run stays open. Use Close run to close it with items open.',
          ),
        );
      }
      const status = decided.end!;
      return {
        write: { end: { status, by: user, at: now } },
        effects: (changed: ChangedRun) => {
          const view = viewOf(changed);
          const summary = summarizeRun(before.states, changed.ticks, changed.run.startedAt, now);
          const message = buildChecklistSummary(view, summary);
          return {
            messages: [...replyInThread(changed, 'ended', message.text, message.blocks, now), ...renderRun(changed, messageOptions, view)],
            decisions: [
              {
                at: now,
                kind: `checklist_${status}`,
                actor: user,
                channel: changed.run.channel,
                subject: changed.run.checklistId,
                outcome: status,
                detail: { run_id: runId, name: changed.run.name, title: runTitle(view), summary: { ...summary } },
              },
            ],
          };
        },
        afterWrite: (changed) => {
          completed = changed.run.status === 'completed' ? changed.run.checklistId : null;
          return { changed: true };
        },
      };
    });
    if (completed) {
      await deps
        .onCompleted(completed)
        .catch((error: unknown) => logger.error({ err: error, checklist: completed }, 'telling the runbooks a checklist was completed failed'));
    }
    return outcome;
  }

  /** Open runs and the most recently ended ones, with the ts of their message once posted. */
  async function listRuns(endedLimit = 5): Promise<{ open: RunWithMessage[]; ended: RunWithMessage[] }> {
    const withMessage = (state: ChecklistRunState): RunWithMessage => ({ view: viewOf(state), channel: state.run.channel, ts: state.message?.ts ?? null });
    const [open, ended] = await Promise.all([store.listOpen(), store.listEnded(endedLimit)]);
    return { open: open.map(withMessage), ended: ended.map(withMessage) };
  }

  /** Stops retrying unsent messages (the outbox keeps them for the next delivery). */
  return { start, click, tickItemsForRunbook: bridge.tickItemsForRunbook, gate: bridge.gate, listRuns, viewOf };
}

export type ChecklistRuns = ReturnType<typeof createChecklistRuns>;
