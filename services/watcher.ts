import type { Logger } from 'pino';
import { buildBlindMessage, buildBreachMessage, buildReminderMessage, buildResolvedReply, describeClickRefusal, type BreachDetail } from '../blocks/breach.ts';
import { buildStatusBlocks } from '../blocks/status.ts';
import type { Config } from '../core/config/index.ts';
import type { Clock, PrometheusPort, Storage } from '../core/ports.ts';
import type { AlertChange, AlertOutcome, BreachRecord } from '../core/storage/breaches.ts';
import type { Effects, MessagePayload, MessageWrite } from '../core/storage/effects.ts';
import type { PostWrite } from '../core/storage/outbox.ts';
import { collectStatus } from '../core/status.ts';
import type { Severity, Trigger } from '../core/triggers.ts';
import { blindMessageKey, breachKey, breachMessageKey, judgeBreachClick, planWatchCycle, type BreachClick, type OpenBreach } from '../core/watch.ts';
import type { AlertmanagerAlert } from '../core/alerts.ts';
import type { BreachChartMoment, ChartPoster } from './charts.ts';
import { editMessage, payloadOf, postMessage, replyInThread, type OutboxDeliverer } from './outbox.ts';
import { createForecastPoster } from './forecast-posts.ts';

/** The counters the watcher keeps; bot/metrics.ts serves them at /metrics. */
export interface WatcherMetrics {
  readonly evaluations: { inc(labels: { outcome: 'ok' | 'blind' | 'error' }): void };
  readonly breachesOpened: { inc(labels: { severity: Severity }): void };
  readonly breachesResolved: { inc(labels: { severity: Severity }): void };
}

/** A timer that fires this soon after its boundary evaluates at the boundary: at most a second of data unseen, less than a scrape. */
const ON_TIME_MS = 1000;

/** For a watcher whose counts nobody reads (the bench). */
export const UNCOUNTED: WatcherMetrics = {
  evaluations: { inc() {} },
  breachesOpened: { inc() {} },
  breachesResolved: { inc() {} },
};

export interface WatcherDeps {
  readonly storage: Storage;
  readonly config: Config;
  readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>;
  /** The process's one outbox delivery loop (services/outbox.ts). */
  readonly deliver: OutboxDeliverer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: WatcherMetrics;
  /** Charts in breach threads (services/charts.ts); none without. */
  readonly charts?: ChartPoster;
}

export interface ClickOutcome {
  readonly changed: boolean;
  /** Told to the clicker alone when nothing changed. */
  readonly message?: string;
}

export interface CycleSummary {
  readonly blind: boolean;
  readonly opened: number;
  readonly resolved: number;
  readonly reminded: number;
  readonly open: number;
}

function toOpenBreach(row: BreachRecord): OpenBreach {
  return {
    id: row.id,
    key: row.key,
    triggerId: row.triggerId,
    severity: row.severity,
    openedAt: row.openedAt,
    conditionFalseSince: row.conditionFalseSince,
    ackedAt: row.ackedAt,
    snoozedUntil: row.snoozedUntil,
    lastReminderAt: row.lastReminderAt,
  };
}

function detailFor(trigger: Trigger): BreachDetail {
  return {
    unit: trigger.unit,
    op: trigger.op,
    threshold: trigger.threshold,
    forSeconds: trigger.forSeconds,
    ...(trigger.advice ? { advice: trigger.advice } : {}),
  };
}

/**
 * The breach watcher: evaluates the triggers, keeps one breach (and one Slack message) per breached series,
 * and sends what changed through the outbox. Every state change is written to storage before Slack hears of
 * it, so a restart picks up where it stopped and never posts a breach twice.
 */
export function createWatcher(deps: WatcherDeps) {
  const { storage, config, clock, logger, metrics } = deps;
  const channel = config.slack.alertsChannel;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;

  /** A breach's message as its row now says: posted if it has none yet, else edited. */
  function renderBreach(breach: BreachRecord, now: Date): MessageWrite[] {
    if (!channel) return [];
    const key = breachMessageKey(breach.id);
    const payload = payloadOf(
      buildBreachMessage(breach, { now, snoozeOptionsSeconds: config.watch.snoozeOptionsSeconds, charts: Boolean(deps.charts?.enabled) }),
    );
    return [breach.messageId ? editMessage(key, payload) : postMessage(key, channel, payload, now)];
  }

  /** A reply in the breach's thread (once per key); none without a channel or a message to reply to. */
  function reply(breach: BreachRecord, key: string, payload: MessagePayload, now: Date): PostWrite[] {
    if (!channel || !breach.messageId) return [];
    const parentKey = breachMessageKey(breach.id);
    return [replyInThread(parentKey, `${parentKey}:${key}`, channel, payload, now)];
  }

  /** What resolving a breach writes besides it: its message, the reply in its thread, the decision. */
  const resolvedEffects =
    (now: Date, reason: string) =>
    (resolved: BreachRecord): Effects => ({
      decisions: [
        {
          at: now,
          kind: 'breach_resolved',
          actor: 'scalebot',
          channel,
          subject: resolved.triggerId,
          outcome: 'resolved',
          detail: { breach_id: resolved.id, key: resolved.key, reason, lasted_seconds: Math.round((now.getTime() - resolved.breachedSince.getTime()) / 1000) },
        },
      ],
      messages: [...renderBreach(resolved, now), ...reply(resolved, 'resolved', { text: buildResolvedReply(resolved).text }, now)],
    });

  const rendered =
    (now: Date) =>
    (row: BreachRecord): Effects => ({ messages: renderBreach(row, now) });

  async function handleBlindness(failure: string | undefined, now: Date): Promise<void> {
    const period = await storage.breaches.findOpenBlindPeriod();
    if (failure && !period) {
      await storage.breaches.openBlindPeriod(now, failure, (opened) => ({
        decisions: [{ at: now, kind: 'monitoring_blind', actor: 'scalebot', channel, outcome: 'blind', detail: { reason: failure } }],
        messages: channel ? [postMessage(blindMessageKey(opened.id), channel, payloadOf(buildBlindMessage(opened, now)), now)] : [],
      }));
    } else if (!failure && period) {
      await storage.breaches.endBlindPeriod(period.id, now, (ended) => ({
        decisions: [
          {
            at: now,
            kind: 'monitoring_recovered',
            actor: 'scalebot',
            channel,
            outcome: 'recovered',
            detail: { blind_seconds: Math.round((now.getTime() - ended.startedAt.getTime()) / 1000) },
          },
        ],
        messages: ended.outboxId ? [editMessage(blindMessageKey(ended.id), payloadOf(buildBlindMessage(ended, now)))] : [],
      }));
    }
  }

  /** One evaluation and what follows from it, at `at` (default: now). */
  async function runCycle(at?: Date): Promise<CycleSummary> {
    const now = at ?? clock();
    const report = await collectStatus(config.triggers, deps.prometheus, now, config.prometheus.lookbackSeconds);
    metrics.evaluations.inc({ outcome: report.failure ? 'blind' : 'ok' });
    await handleBlindness(report.failure, now);
    const openRows = await storage.breaches.listOpen();
    const plan = planWatchCycle(
      report,
      openRows.map(toOpenBreach),
      now,
      { resolveAfterSeconds: config.watch.resolveAfterSeconds, repeatSeconds: config.watch.repeatSeconds },
      (breach) => openRows.find((row) => row.id === breach.id)?.source === 'watcher',
      new Set(config.triggers.filter((trigger) => trigger.whenPresent).map((trigger) => trigger.id)),
    );
    let opened = 0;
    const chartsDue: Array<[BreachRecord, BreachChartMoment]> = [];
    for (const { key, result, breachedSince } of plan.open) {
      const created = await storage.breaches.open(
        {
          key,
          source: 'watcher',
          triggerId: result.trigger.id,
          name: result.trigger.name,
          severity: result.trigger.severity,
          labels: { ...result.labels },
          openedAt: now,
          breachedSince,
          lastValue: String(result.value),
          lastSeenAt: now,
          detail: { ...detailFor(result.trigger) },
        },
        (breach) => ({
          decisions: [
            {
              at: now,
              kind: 'breach_opened',
              actor: 'scalebot',
              channel,
              subject: breach.triggerId,
              outcome: 'breached',
              detail: { breach_id: breach.id, key, value: result.value, threshold: result.trigger.threshold, held_seconds: result.heldSeconds },
            },
          ],
          messages: renderBreach(breach, now),
        }),
      );
      if (!created) continue;
      opened += 1;
      chartsDue.push([created, 'opened']);
      metrics.breachesOpened.inc({ severity: created.severity });
    }
    for (const { breach, result } of plan.holding) {
      await storage.breaches.refresh(breach.id, { lastValue: String(result.value), lastSeenAt: now, conditionFalseSince: null }, rendered(now));
    }
    for (const { breach, result, falseSince } of plan.clearing) {
      await storage.breaches.refresh(
        breach.id,
        { conditionFalseSince: falseSince, ...(result ? { lastValue: String(result.value), lastSeenAt: now } : {}) },
        rendered(now),
      );
    }
    for (const { breach, result } of plan.resolve) {
      const resolved = await storage.breaches.resolve(
        breach.id,
        { at: now, ...(result ? { lastValue: String(result.value) } : {}) },
        resolvedEffects(now, result ? 'back within the threshold' : 'the series is gone'),
      );
      if (resolved) metrics.breachesResolved.inc({ severity: resolved.severity });
      if (resolved) chartsDue.push([resolved, 'resolved']);
    }
    for (const breach of plan.remind) {
      await storage.breaches.remind(breach.id, now, (row) => ({
        messages: reply(row, `reminder:${now.getTime()}`, { text: buildReminderMessage(row, now).text }, now),
      }));
    }
    await deliver();
    await drawCharts(chartsDue);
    // Forecast heads-ups (watch.forecasts): their own messages, at most hourly asks; never a failed cycle.
    await forecasts.postDue(now).catch((error: unknown) => logger.warn({ err: error }, 'forecast posts failed; the next cycle tries again'));
    return { blind: plan.blind, opened, resolved: plan.resolve.length, reminded: plan.remind.length, open: (await storage.breaches.listOpen()).length };
  }

  const deliver = deps.deliver;
  const forecasts = createForecastPoster(deps);

  /**
   * The charts of what this cycle opened and resolved, then whatever a restart left undrawn; after the texts are
   * delivered, so a slow or failing chart never holds up or fails a breach's message (or the cycle).
   */
  async function drawCharts(due: ReadonlyArray<[BreachRecord, BreachChartMoment]>): Promise<void> {
    if (!deps.charts?.enabled) return;
    try {
      for (const [breach, moment] of due) await deps.charts.chartForBreach(breach, moment);
      await deps.charts.catchUp();
    } catch (error) {
      logger.error({ err: error }, 'drawing breach charts failed; the breaches themselves are posted');
    }
  }

  /**
   * Cycles after the first run on the interval's boundaries (every minute at :00 by default) and evaluate at the
   * boundary itself. Every default trigger's step divides the interval, and the incremental evaluator's grid is
   * aligned to the epoch (core/incremental-evaluation.ts), so an evaluation on a boundary sits on the grid: it
   * needs one query per trigger, not two (the value at an `at` off the grid is a query of its own).
   */
  function scheduleNext(delayMs: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runCycle(boundaryJustPassed())
        .catch((error: unknown) => {
          metrics.evaluations.inc({ outcome: 'error' });
          logger.error({ err: error }, 'watcher cycle failed');
        })
        .finally(() => {
          running = null;
          scheduleNext(delayToNextBoundary());
        });
    }, delayMs);
    timer.unref?.();
  }

  function delayToNextBoundary(): number {
    const intervalMs = config.watch.intervalSeconds * 1000;
    return intervalMs - (clock().getTime() % intervalMs);
  }

  /** The boundary the timer fired for, when it fired on time; otherwise (a late or first cycle) now. */
  function boundaryJustPassed(): Date {
    const nowMs = clock().getTime();
    const boundaryMs = nowMs - (nowMs % (config.watch.intervalSeconds * 1000));
    return new Date(nowMs - boundaryMs <= ON_TIME_MS ? boundaryMs : nowMs);
  }

  /**
   * A click that changes a breach: judged on the breach as it is, then written as a compare-and-set; when the
   * breach changed in between, the clicker is told what it is now.
   */
  async function click(breachId: number, what: BreachClick, write: () => Promise<BreachRecord | undefined>): Promise<ClickOutcome> {
    for (let attempt = 0; ; attempt += 1) {
      const refusal = judgeBreachClick(await storage.breaches.get(breachId), what, config.watch.snoozeOptionsSeconds);
      if (refusal) return { changed: false, message: describeClickRefusal(breachId, what, refusal) };
      if (await write()) break;
      // The guard failed, so the breach is no longer as judged: the next judgement refuses. Twice is a bug.
      if (attempt > 0) throw new Error(`breach ${breachId} changed under a click twice`);
    }
    await deliver();
    return { changed: true };
  }

  /** A click on Acknowledge: idempotent, recorded, shown on the message. Returns what to tell the clicker. */
  function acknowledge(breachId: number, user: string, now: Date): Promise<ClickOutcome> {
    return click(breachId, { kind: 'acknowledge' }, () =>
      storage.breaches.acknowledge(breachId, user, now, (row) => ({
        decisions: [
          { at: now, kind: 'breach_acknowledged', actor: user, channel, subject: row.triggerId, outcome: 'acknowledged', detail: { breach_id: breachId } },
        ],
        messages: renderBreach(row, now),
      })),
    );
  }

  function snooze(breachId: number, user: string, seconds: number, now: Date): Promise<ClickOutcome> {
    const until = new Date(now.getTime() + seconds * 1000);
    return click(breachId, { kind: 'snooze', seconds }, () =>
      storage.breaches.snooze(breachId, user, until, (row) => ({
        decisions: [
          {
            at: now,
            kind: 'breach_snoozed',
            actor: user,
            channel,
            subject: row.triggerId,
            outcome: 'snoozed',
            detail: { breach_id: breachId, seconds, until: until.toISOString() },
          },
        ],
        messages: renderBreach(row, now),
      })),
    );
  }

  /** What an Alertmanager alert asks of its breach (by its fingerprint key). */
  function alertChange(alert: AlertmanagerAlert, now: Date): AlertChange {
    const lastValue = alert.value !== undefined ? { lastValue: alert.value } : {};
    if (alert.status === 'resolved') return { status: 'resolved', key: alert.key, at: alert.endsAt && alert.endsAt < now ? alert.endsAt : now, ...lastValue };
    const detail: BreachDetail = {
      ...(alert.summary ? { summary: alert.summary } : {}),
      ...(alert.description ? { description: alert.description } : {}),
      ...(alert.advice ? { advice: alert.advice } : {}),
      ...(alert.generatorUrl ? { generatorUrl: alert.generatorUrl } : {}),
    };
    return {
      status: 'firing',
      key: alert.key,
      open: {
        key: alert.key,
        source: 'alertmanager',
        triggerId: alert.alertname,
        name: alert.alertname,
        severity: alert.severity,
        labels: alert.labels,
        openedAt: now,
        breachedSince: alert.startsAt < now ? alert.startsAt : now,
        lastValue: alert.value ?? null,
        lastSeenAt: now,
        detail: { ...detail },
      },
      refresh: { ...lastValue, lastSeenAt: now, detail: { ...detail } },
    };
  }

  function alertEffects(now: Date) {
    return (outcome: AlertOutcome): Effects => {
      switch (outcome.kind) {
        case 'ignored':
          return {};
        case 'resolved':
          return resolvedEffects((outcome.change as Extract<AlertChange, { status: 'resolved' }>).at, 'Alertmanager resolved it')(outcome.breach);
        case 'updated':
          return rendered(now)(outcome.breach);
        case 'opened': {
          const { breach } = outcome;
          return {
            decisions: [
              {
                at: now,
                kind: 'breach_opened',
                actor: 'alertmanager',
                channel,
                subject: breach.triggerId,
                outcome: 'firing',
                detail: { breach_id: breach.id, key: breach.key, labels: breach.labels },
              },
            ],
            messages: renderBreach(breach, now),
          };
        }
      }
    };
  }

  /**
   * Alerts from an Alertmanager webhook go through the same pipeline: one breach and one message per alert
   * (keyed by its fingerprint), edited on repeats, resolved in its thread. Alertmanager decides when.
   */
  async function applyAlertmanagerAlerts(alerts: readonly AlertmanagerAlert[], now: Date) {
    // One transaction for the whole request: a failure part way opens nothing (Alertmanager sends it again).
    const outcomes = await storage.breaches.applyAlerts(
      alerts.map((alert) => alertChange(alert, now)),
      alertEffects(now),
    );
    const counts = { opened: 0, updated: 0, resolved: 0, ignored: 0 };
    for (const outcome of outcomes) {
      counts[outcome.kind] += 1;
      if (outcome.kind === 'opened') metrics.breachesOpened.inc({ severity: outcome.breach.severity });
      if (outcome.kind === 'resolved') metrics.breachesResolved.inc({ severity: outcome.breach.severity });
    }
    await deliver();
    return counts;
  }

  /** A webhook body refused (malformed, too many alerts): on record, with why; nothing else is stored. */
  async function recordAlertmanagerRefusal(reason: string, status: number, now: Date): Promise<void> {
    await storage.decisions.append({ at: now, kind: 'alertmanager_refused', actor: 'alertmanager', channel, outcome: 'refused', detail: { status, reason } });
  }

  return {
    runCycle,
    deliver,
    applyAlertmanagerAlerts,
    recordAlertmanagerRefusal,
    acknowledge,
    snooze,
    /** The full /scale status answer in a breach's thread (the Status button). */
    /** 'posted', or 'already' when a click in the same half minute has queued the status already. */
    async postStatusInThread(breachId: number, now: Date): Promise<'posted' | 'already' | 'no_breach'> {
      const breach = await storage.breaches.get(breachId);
      if (!breach) return 'no_breach';
      const report = await collectStatus(config.triggers, deps.prometheus, now, config.prometheus.lookbackSeconds);
      // Two clicks within the same half minute post one status, not two: of two posts with one key, one is queued.
      const [status] = reply(
        breach,
        `status:${Math.floor(now.getTime() / 30_000)}`,
        payloadOf(buildStatusBlocks(report, { dashboardUrl: config.grafana.dashboardUrl, chartMenu: Boolean(deps.charts?.enabled) })),
        now,
      );
      const queued = status ? await storage.outbox.post(status) : true;
      await deliver();
      return queued ? 'posted' : 'already';
    },
    start() {
      stopped = false;
      scheduleNext(0);
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    breachKey,
  };
}

export type Watcher = ReturnType<typeof createWatcher>;
