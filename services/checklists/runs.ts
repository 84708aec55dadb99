import type { Logger } from 'pino';
import {
  closingStatus,
  deriveItemStates,
  progressOf,
  itemsForRunbook,
  planToggle,
  summarizeRun,
  type Checklist,
  type ChecklistItem,
  type ItemState,
  type TickEvent,
} from '../../core/checklists.ts';
import { collectStatus } from '../../core/status.ts';
import {
  appendTick,
  createRun,
  endRun,
  getRun,
  latestRun,
  listEndedRuns,
  listOpenRuns,
  listOpenRunsWithRunbook,
  listTicks,
  setRunMessage,
  type ChecklistRunRow,
} from '../../db/checklists.ts';
import { inTransaction, type Db } from '../../db/client.ts';
import { recordDecision } from '../../db/decision-log.ts';
import { enqueueMessage, getMessage, setMessagePayload, type OutboxRow } from '../../db/outbox.ts';
import { describeParams, PlanError } from '../../core/runbooks.ts';
import { ParamError, TemplateError } from '../../core/shell-quote.ts';
import type { PrometheusPort } from '../../integrations/prometheus.ts';
import {
  buildChecklistMessage,
  buildChecklistSummary,
  parseChecklistAction,
  runTitle,
  type ChecklistAction,
  type ChecklistRunView,
} from '../../blocks/checklist.ts';
import { slackTime } from '../../blocks/breach.ts';
import { buildStatusBlocks, VERDICT_TITLES } from '../../blocks/status.ts';
import { escapeMrkdwn, SLACK_LIMITS, type Block } from '../../blocks/types.ts';
import type { Config } from '../../core/config/index.ts';
import { describeAllowed } from '../../integrations/slack-responders.ts';
import type { ChecklistGate, RunbookRunner } from '../runbooks/index.ts';

/**
 * What checklists need of runbooks (issue 5 provides it): whether one is configured, and starting one from an
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

export interface ChecklistRunsDeps {
  readonly db: Db;
  readonly config: Config;
  readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>;
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Sends what the outbox holds (posts, edits, thread replies); serialized by its owner. */
  readonly deliver: () => Promise<unknown>;
  readonly isAllowed: (user: string, allowed: readonly string[]) => Promise<boolean>;
  readonly runbooks?: ChecklistRunbookPort;
  /** Told when a run of a checklist is completed (runbooks held for it show it complete). */
  readonly onCompleted?: (checklistId: string) => Promise<unknown>;
}

export interface StartOutcome {
  readonly run: ChecklistRunRow;
  /** The message is in the channel. */
  readonly posted: boolean;
  /** Why it is not (yet): for the person who asked. */
  readonly problem?: string;
}

export interface ChecklistClick {
  readonly user: string;
  /** Where the clicked message is, as the payload says. */
  readonly channel: string | undefined;
  readonly messageTs: string | undefined;
  readonly actionId: string;
  readonly value: string | undefined;
}

export interface ChecklistClickOutcome {
  readonly changed: boolean;
  /** Told to the clicker alone. */
  readonly message?: string;
  /** For the logs and tests: why nothing changed. */
  readonly refused?: 'malformed' | 'unknown_run' | 'unknown_item' | 'not_allowed' | 'ended' | 'unchanged' | 'no_data' | 'no_runbook';
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

const MAX_POST_RETRIES = 10;
/** A runbook that requires a checklist runs only if that checklist was completed this recently. */
export const CHECKLIST_GATE_MAX_AGE_SECONDS = 7 * 24 * 3600;
const ENDED_WORDS = { completed: 'was completed', closed: 'was closed', abandoned: 'was abandoned' } as const;

/**
 * Checklist runs: posted in a channel, ticked with buttons, re-rendered from SQLite after every change, ended
 * with a summary in the thread. Every change is one transaction (the history row, the decision log row and
 * the message's new content together), and Slack hears of it through the outbox, so a restart loses nothing
 * and a message is posted exactly once.
 */
export function createChecklistRuns(deps: ChecklistRunsDeps) {
  const { db, config, clock, logger } = deps;
  const messageOptions = { hasRunbook: (id: string) => deps.runbooks?.has(id) ?? false };

  function viewOf(run: ChecklistRunRow, events: readonly TickEvent[] = listTicks(db, run.id)): ChecklistRunView {
    const items = run.definition.items as ChecklistItem[];
    return {
      id: run.id,
      checklistId: run.checklistId,
      title: run.definition.title,
      ...(run.definition.description ? { description: run.definition.description } : {}),
      name: run.name,
      status: run.status,
      startedBy: run.startedBy,
      startedAt: run.startedAt,
      endedBy: run.endedBy,
      endedAt: run.endedAt,
      states: deriveItemStates(items, events),
    };
  }

  /** Who may tick this run's items: the checklist's responders as configured now, else as they were at its start. */
  function respondersOf(run: ChecklistRunRow): readonly string[] {
    return config.checklists.find((checklist) => checklist.id === run.checklistId)?.responders ?? run.definition.responders ?? [];
  }

  /** The message's new content, from the stored state; the outbox turns it into chat.update. */
  function render(run: ChecklistRunRow, view: ChecklistRunView = viewOf(run)): void {
    if (!run.messageId) return;
    const message = buildChecklistMessage(view, messageOptions);
    setMessagePayload(db, run.messageId, { text: message.text, blocks: [...(message.blocks ?? [])] });
  }

  function replyInThread(run: ChecklistRunRow, key: string, text: string, blocks: readonly Block[] | undefined, at: Date): void {
    if (!run.messageId) return;
    enqueueMessage(db, {
      dedupeKey: `checklist:${run.id}:${key}`,
      channel: run.channel,
      parentId: run.messageId,
      payload: { text, ...(blocks ? { blocks: [...blocks] } : {}) },
      at,
    });
  }

  async function deliver(): Promise<void> {
    try {
      await deps.deliver();
    } catch (error) {
      // The outbox keeps what was not sent; the next delivery sends it.
      logger.error({ err: error }, 'checklist: delivering to Slack failed');
    }
  }

  /** Posts a new run of a checklist in a channel. */
  async function start(input: { checklist: Checklist; name: string | null; user: string; channel: string }): Promise<StartOutcome> {
    const now = clock();
    const run = inTransaction(db, () => {
      const created = createRun(db, { checklist: input.checklist, name: input.name, channel: input.channel, startedBy: input.user, startedAt: now });
      const message = buildChecklistMessage(viewOf(created, []), messageOptions);
      const row = enqueueMessage(db, {
        dedupeKey: `checklist:${created.id}`,
        channel: input.channel,
        payload: { text: message.text, blocks: [...(message.blocks ?? [])] },
        at: now,
      });
      recordDecision(db, {
        at: now,
        kind: 'checklist_started',
        actor: input.user,
        channel: input.channel,
        subject: input.checklist.id,
        outcome: 'open',
        detail: { run_id: created.id, name: input.name, items: input.checklist.items.length },
      });
      return setRunMessage(db, created.id, row.id);
    });
    await deliver();
    const row = getMessage(db, run.messageId!)!;
    if (row.status === 'sent') return { run, posted: true };
    if (row.status === 'failed') {
      // Slack refused for good (not in the channel, archived…): the run would be a ghost; end it.
      const ended = inTransaction(db, () => {
        const abandoned = endRun(db, run.id, 'abandoned', 'scalebot', clock());
        if (abandoned) {
          recordDecision(db, {
            at: clock(),
            kind: 'checklist_abandoned',
            actor: 'scalebot',
            channel: run.channel,
            subject: run.checklistId,
            outcome: 'abandoned',
            detail: { run_id: run.id, reason: `Slack refused the message: ${row.lastError}` },
          });
        }
        return abandoned ?? run;
      });
      return { run: ended, posted: false, problem: postProblem(row) };
    }
    retryUntilSent(row.id, 1);
    return {
      run,
      posted: false,
      problem: `Slack did not take the message yet (${row.lastError ?? 'no answer'}). Run #${run.id} is saved; I keep trying and it appears here once Slack answers.`,
    };
  }

  const retries = new Set<NodeJS.Timeout>();
  let stopped = false;
  /** A run's message that Slack did not take yet is retried when the outbox says (Retry-After, backoff), a few times. */
  function retryUntilSent(messageId: number, attempt: number): void {
    if (stopped || attempt > MAX_POST_RETRIES) return;
    const row = getMessage(db, messageId);
    if (!row || row.status === 'sent' || row.status === 'failed') return;
    const delayMs = Math.min(60_000, Math.max(1_000, (row.notBefore?.getTime() ?? 0) - clock().getTime()));
    const timer = setTimeout(() => {
      retries.delete(timer);
      void deliver()
        .then(() => retryUntilSent(messageId, attempt + 1))
        .catch((error: unknown) => logger.error({ err: error }, 'checklist: retrying a message failed'));
    }, delayMs);
    timer.unref?.();
    retries.add(timer);
  }

  function postProblem(row: OutboxRow): string {
    if (row.lastError === 'not_in_channel' || row.lastError === 'channel_not_found') {
      return 'I cannot post in this channel: invite me first (`/invite @scalebot`), then try again.';
    }
    return `Slack refused the checklist message (${row.lastError}); nothing was started.`;
  }

  function refusal(refused: NonNullable<ChecklistClickOutcome['refused']>, message: string): ChecklistClickOutcome {
    return { changed: false, refused, message };
  }

  /** Refusals that are not about the state of the run: a payload we did not make, a run that is not there. */
  function checkTarget(parsed: ChecklistAction, click: ChecklistClick): { run: ChecklistRunRow } | ChecklistClickOutcome {
    const run = getRun(db, parsed.runId);
    if (!run) return refusal('unknown_run', `Checklist run #${parsed.runId} does not exist; nothing was changed.`);
    const message = run.messageId ? getMessage(db, run.messageId) : undefined;
    if ((click.channel && click.channel !== run.channel) || (click.messageTs && message?.ts && click.messageTs !== message.ts)) {
      return refusal('malformed', 'That button does not belong to this checklist run; nothing was changed.');
    }
    if ('itemId' in parsed && !run.definition.items.some((item) => item.id === parsed.itemId)) {
      return refusal('unknown_item', `Run #${run.id} has no item "${parsed.itemId}"; nothing was changed.`);
    }
    return { run };
  }

  function endedMessage(run: ChecklistRunRow): string | undefined {
    if (run.status === 'open') return undefined;
    const by = run.endedBy && run.endedBy !== 'scalebot' ? ` by <@${run.endedBy}>` : '';
    const when = run.endedAt ? ` ${slackTime(run.endedAt, '{date_short_pretty} {time}')}` : '';
    return `This checklist run ${ENDED_WORDS[run.status]}${by}${when}; nothing was changed.`;
  }

  /** A click on any checklist button. Returns what to tell the clicker; never throws for a user's mistake. */
  async function click(input: ChecklistClick): Promise<ChecklistClickOutcome> {
    const parsed = parseChecklistAction(input.actionId, input.value);
    if (!parsed) {
      logger.warn({ actionId: input.actionId, user: input.user }, 'refused a malformed checklist action');
      return refusal('malformed', ':warning: That button is not one I know; nothing was changed.');
    }
    const target = checkTarget(parsed, input);
    if (!('run' in target)) {
      logger.warn({ actionId: input.actionId, value: input.value, user: input.user, refused: target.refused }, 'refused a checklist action');
      return target;
    }
    const { run } = target;
    const now = clock();
    const ended = endedMessage(run);
    if (ended) {
      recordDecision(db, {
        at: now,
        kind: 'checklist_click_refused',
        actor: input.user,
        channel: run.channel,
        subject: run.checklistId,
        outcome: 'refused',
        detail: { run_id: run.id, action: parsed.kind, reason: `run ${run.status}` },
      });
      return refusal('ended', ended);
    }
    const responders = respondersOf(run);
    if (!(await deps.isAllowed(input.user, responders))) {
      recordDecision(db, {
        at: now,
        kind: 'checklist_click_refused',
        actor: input.user,
        channel: run.channel,
        subject: run.checklistId,
        outcome: 'refused',
        detail: { run_id: run.id, action: parsed.kind, reason: 'not a responder' },
      });
      return refusal(
        'not_allowed',
        `:no_entry: Only ${describeAllowed(responders)} may tick this checklist (\`checklists.${run.checklistId}.responders\`). Nothing was changed.`,
      );
    }
    switch (parsed.kind) {
      case 'toggle':
        return toggle(run.id, parsed.itemId, parsed.intended, input.user);
      case 'snapshot':
        return snapshot(run.id, parsed.itemId, input.user);
      case 'close':
        return end(run.id, parsed.complete ? 'complete' : 'close', input.user);
      case 'abandon':
        return end(run.id, 'abandon', input.user);
      case 'runbook':
        return startRunbook(run, parsed.itemId, input.user);
    }
  }

  /** Every tick is decided inside the transaction, against the history as it stands then. */
  async function toggle(runId: number, itemId: string, intended: 'tick' | 'untick', user: string): Promise<ChecklistClickOutcome> {
    const now = clock();
    const outcome = inTransaction(db, (): ChecklistClickOutcome => {
      const run = getRun(db, runId)!;
      const ended = endedMessage(run);
      if (ended) return refusal('ended', ended);
      const view = viewOf(run);
      const plan = planToggle(view.states, itemId, intended);
      if (plan.kind === 'unknown_item') return refusal('unknown_item', `Run #${runId} has no item "${itemId}"; nothing was changed.`);
      if (plan.kind === 'unchanged') {
        // The clicker's copy was stale: bring the message up to date and say who was first.
        render(run, view);
        const state = plan.state;
        return refusal(
          'unchanged',
          state.ticked
            ? `Already ticked by <@${state.by}> ${slackTime(state.at!, '{date_short_pretty} {time}')}; nothing was changed.`
            : 'That item is not ticked (someone unticked it); nothing was changed.',
        );
      }
      appendTick(db, { runId, itemId, action: plan.action, actor: user, at: now, source: 'click' });
      const item = run.definition.items.find((candidate) => candidate.id === itemId)!;
      recordDecision(db, {
        at: now,
        kind: `checklist_${plan.action}`,
        actor: user,
        channel: run.channel,
        subject: run.checklistId,
        outcome: plan.action === 'tick' ? 'ticked' : 'unticked',
        detail: { run_id: runId, item_id: itemId, item: item.text },
      });
      render(run);
      return { changed: true };
    });
    await deliver();
    return outcome;
  }

  function findState(run: ChecklistRunRow, itemId: string): ItemState | undefined {
    return viewOf(run).states.find((state) => state.item.id === itemId);
  }

  /** "Review current metrics": a /scale status snapshot in the thread, and the item ticked with its verdict. */
  async function snapshot(runId: number, itemId: string, user: string): Promise<ChecklistClickOutcome> {
    const before = findState(getRun(db, runId)!, itemId)!;
    if (before.ticked) return refusal('unchanged', `Already ticked by <@${before.by}>; nothing was changed.`);
    const now = clock();
    const report = await collectStatus(config.triggers, deps.prometheus, now, config.prometheus.lookbackSeconds);
    const status = buildStatusBlocks(report, { dashboardUrl: config.grafana.dashboardUrl });
    const intro = `:bar_chart: Status snapshot for “${escapeMrkdwn(before.item.text)}”, attached by <@${user}>`;
    const blocks: Block[] = [
      { type: 'context', elements: [{ type: 'mrkdwn', text: intro }] },
      ...(status.blocks ?? []).slice(0, SLACK_LIMITS.blocksPerMessage - 1),
    ];
    const verdictTitle = report.failure ? 'no metrics' : VERDICT_TITLES[report.verdict];
    const outcome = inTransaction(db, (): ChecklistClickOutcome => {
      const run = getRun(db, runId)!;
      const ended = endedMessage(run);
      if (ended) return refusal('ended', ended);
      if (report.failure) {
        // Metrics nobody could read are not a review: the snapshot says why, and the item stays open.
        replyInThread(run, `snapshot:${itemId}:${now.getTime()}`, `${intro}: ${status.text}`, blocks, now);
        recordDecision(db, {
          at: now,
          kind: 'checklist_snapshot',
          actor: user,
          channel: run.channel,
          subject: run.checklistId,
          outcome: 'no_data',
          detail: { run_id: runId, item_id: itemId, failure: report.failure },
        });
        return refusal('no_data', `:warning: Prometheus could not be read (${report.failure}); the snapshot is in the thread and the item stays open.`);
      }
      const state = findState(run, itemId)!;
      if (state.ticked) return refusal('unchanged', `Already ticked by <@${state.by}>; nothing was changed.`);
      const detail = { verdict: report.verdict, verdict_title: verdictTitle, evaluated_at: report.evaluatedAt.toISOString() };
      const event = appendTick(db, { runId, itemId, action: 'tick', actor: user, at: now, source: 'status_snapshot', detail });
      replyInThread(run, `snapshot:${event.id}`, `${intro}: ${status.text}`, blocks, now);
      recordDecision(db, {
        at: now,
        kind: 'checklist_tick',
        actor: user,
        channel: run.channel,
        subject: run.checklistId,
        outcome: 'ticked',
        detail: { run_id: runId, item_id: itemId, item: state.item.text, source: 'status_snapshot', ...detail },
      });
      render(run);
      return { changed: true };
    });
    await deliver();
    return outcome;
  }

  /**
   * Close (completed when every item is ticked, else closed) or abandon; the summary goes in the thread.
   * `complete` is a click on "Complete run": refused when an item was unticked since the clicker's copy.
   */
  async function end(runId: number, how: 'complete' | 'close' | 'abandon', user: string): Promise<ChecklistClickOutcome> {
    const now = clock();
    let completed: string | null = null;
    const outcome = inTransaction(db, (): ChecklistClickOutcome => {
      const run = getRun(db, runId)!;
      const ended = endedMessage(run);
      if (ended) return refusal('ended', ended);
      const events = listTicks(db, runId);
      const states = viewOf(run, events).states;
      if (how === 'complete' && closingStatus(states) !== 'completed') {
        render(run);
        const open = states.filter((state) => !state.ticked).map((state) => `“${escapeMrkdwn(state.item.text)}”`);
        return refusal(
          'unchanged',
          `Not every item is ticked any more (${open.slice(0, 3).join(', ')}${open.length > 3 ? ', …' : ''} ${open.length === 1 ? 'is' : 'are'} open); the run stays open. Use Close run to close it with items open.`,
        );
      }
      const status = how === 'abandon' ? 'abandoned' : closingStatus(states);
      const endedRun = endRun(db, runId, status, user, now)!;
      const view = viewOf(endedRun, events);
      const summary = summarizeRun(states, events, run.startedAt, now);
      const message = buildChecklistSummary(view, summary);
      replyInThread(endedRun, 'ended', message.text, message.blocks, now);
      recordDecision(db, {
        at: now,
        kind: `checklist_${status}`,
        actor: user,
        channel: run.channel,
        subject: run.checklistId,
        outcome: status,
        detail: { run_id: runId, name: run.name, title: runTitle(view), summary: { ...summary } },
      });
      render(endedRun, view);
      completed = status === 'completed' ? run.checklistId : null;
      return { changed: true };
    });
    await deliver();
    if (completed && deps.onCompleted) {
      await deps.onCompleted(completed).catch((error: unknown) => logger.error({ err: error, checklist: completed }, 'telling the runbooks a checklist was completed failed'));
    }
    return outcome;
  }

  async function startRunbook(run: ChecklistRunRow, itemId: string, user: string): Promise<ChecklistClickOutcome> {
    const item = run.definition.items.find((candidate) => candidate.id === itemId)!;
    if (item.action?.kind !== 'runbook') return refusal('malformed', 'That item has no runbook; nothing was changed.');
    const runbookId = item.action.runbook;
    if (!deps.runbooks?.has(runbookId)) {
      return refusal('no_runbook', `No runbook \`${runbookId}\` is configured; tick the item by hand once it is done.`);
    }
    const started = await deps.runbooks.start({ runbookId, checklistRunId: run.id, itemId, user, channel: run.channel });
    return { changed: false, message: started.message };
  }

  /**
   * For the runbook feature: a run of `runbookId` succeeded, so every open item whose action is that runbook
   * is ticked (as `user`, source "runbook"), in the given checklist run or in every open one. Returns what
   * was ticked; the messages are updated before it resolves.
   */
  async function tickItemsForRunbook(success: RunbookSuccess): Promise<Array<{ runId: number; itemId: string }>> {
    const at = success.at ?? clock();
    const ticked: Array<{ runId: number; itemId: string }> = [];
    for (const candidate of listOpenRunsWithRunbook(db, success.runbookId, success.checklistRunId !== undefined ? [success.checklistRunId] : undefined)) {
      inTransaction(db, () => {
        const run = getRun(db, candidate.id)!;
        if (run.status !== 'open') return;
        const items = itemsForRunbook(viewOf(run).states, success.runbookId);
        for (const item of items) {
          const detail = { runbook: success.runbookId, ...success.detail };
          appendTick(db, { runId: run.id, itemId: item.id, action: 'tick', actor: success.user, at, source: 'runbook', detail });
          recordDecision(db, {
            at,
            kind: 'checklist_tick',
            actor: success.user,
            channel: run.channel,
            subject: run.checklistId,
            outcome: 'ticked',
            detail: { run_id: run.id, item_id: item.id, item: item.text, source: 'runbook', ...detail },
          });
          ticked.push({ runId: run.id, itemId: item.id });
        }
        if (items.length > 0) render(run);
      });
    }
    if (ticked.length > 0) await deliver();
    return ticked;
  }

  /** Open runs and the most recently ended ones, with the ts of their message once posted. */
  function listRuns(endedLimit = 5): { open: RunWithMessage[]; ended: RunWithMessage[] } {
    const withMessage = (run: ChecklistRunRow): RunWithMessage => {
      const message = run.messageId ? getMessage(db, run.messageId) : undefined;
      return { view: viewOf(run), channel: run.channel, ts: message?.ts ?? null };
    };
    return { open: listOpenRuns(db).map(withMessage), ended: listEndedRuns(db, endedLimit).map(withMessage) };
  }

  /**
   * For runbooks with `requires_checklist`: complete when the latest run of that checklist (abandoned ones left
   * out) was completed, within the last seven days. An open or closed-with-items-open run holds the runbook back.
   */
  const gate: ChecklistGate = (checklistId, now) => {
    const run = latestRun(db, checklistId);
    const start = `start one with /scale checklist ${checklistId}`;
    if (!run) return { complete: false, text: `no run of it yet; ${start}` };
    const label = `run #${run.id}${run.name ? ` (${run.name})` : ''}`;
    if (run.status === 'open') {
      const { done, total } = progressOf(viewOf(run).states);
      return { complete: false, text: `${label} is open, ${done} of ${total} done` };
    }
    if (run.status !== 'completed' || !run.endedAt) return { complete: false, text: `${label} was closed with items open; ${start}` };
    const when = `${run.endedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    if (now.getTime() - run.endedAt.getTime() > CHECKLIST_GATE_MAX_AGE_SECONDS * 1000) {
      return { complete: false, text: `${label} was completed ${when}, more than 7 days ago; ${start}` };
    }
    return { complete: true, text: `${label} completed ${when}` };
  };

  /** Stops retrying unsent messages (the outbox keeps them for the next delivery). */
  function stop(): void {
    stopped = true;
    for (const timer of retries) clearTimeout(timer);
    retries.clear();
  }

  return { start, click, tickItemsForRunbook, gate, listRuns, viewOf, render, stop };
}

export interface RunWithMessage {
  readonly view: ChecklistRunView;
  readonly channel: string;
  readonly ts: string | null;
}

export type ChecklistRuns = ReturnType<typeof createChecklistRuns>;

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
        return { message: `Start it with \`${command}\` (it needs ${runbook.params.filter((param) => param.default === undefined).map((param) => param.name).join(', ')}). When the run succeeds, this item is ticked.` };
      }
      try {
        const answer = await runner().request(runbook.id, {}, user, channel);
        if (!answer.ok) return { message: `:no_entry: ${answer.message}` };
        return { message: `Runbook \`${runbook.id}\` is planned in this channel; it runs once approved, and ticks this item when it succeeds.` };
      } catch (error) {
        if (error instanceof PlanError || error instanceof ParamError || error instanceof TemplateError) return { message: `${error.message}. Start it with \`${command}\`.` };
        throw error;
      }
    },
  };
}
