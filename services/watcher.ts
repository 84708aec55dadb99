import type { Logger } from 'pino';
import { collectStatus } from '../core/status.ts';
import type { Trigger } from '../core/triggers.ts';
import { breachKey, planWatchCycle, type OpenBreach } from '../core/watch.ts';
import { inTransaction, type Db } from '../db/client.ts';
import {
  findOpenBreach,
  getBreach,
  getOpenBlindPeriod,
  listOpenBreaches,
  openBlindPeriod,
  openBreach,
  updateBlindPeriod,
  updateBreach,
  type BreachRow,
} from '../db/breaches.ts';
import { recordDecision } from '../db/decision-log.ts';
import { enqueueMessage, getMessageByKey, setMessagePayload } from '../db/outbox.ts';
import type { AlertmanagerAlert } from '../integrations/alertmanager.ts';
import type { PrometheusPort } from '../integrations/prometheus.ts';
import { buildBlindMessage, buildBreachMessage, buildReminderMessage, buildResolvedReply, type BreachDetail } from '../blocks/breach.ts';
import { buildStatusBlocks } from '../blocks/status.ts';
import type { Config } from '../core/config/index.ts';
import type { WatcherMetrics } from '../bot/metrics.ts';
import type { OutboxDeliverer } from './outbox.ts';

export interface WatcherDeps {
  readonly db: Db;
  readonly config: Config;
  readonly prometheus: Pick<PrometheusPort, 'judgeTriggers'>;
  /** The process's one outbox delivery loop (services/outbox.ts). */
  readonly deliver: OutboxDeliverer;
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly metrics: WatcherMetrics;
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

function toOpenBreach(row: BreachRow): OpenBreach {
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
 * and sends what changed through the outbox. Every state change is written to SQLite before Slack hears of
 * it, so a restart picks up where it stopped and never posts a breach twice.
 */
export function createWatcher(deps: WatcherDeps) {
  const { db, config, clock, logger, metrics } = deps;
  const channel = config.slack.alertsChannel;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = false;

  /** Re-renders a breach's message from its row; posts it if it has none yet. */
  function renderBreach(breach: BreachRow, now: Date): void {
    if (!channel) return;
    const message = buildBreachMessage(breach, { now, snoozeOptionsSeconds: config.watch.snoozeOptionsSeconds });
    const payload = { text: message.text, blocks: [...(message.blocks ?? [])] };
    if (breach.messageId) {
      setMessagePayload(db, breach.messageId, payload);
      return;
    }
    const row = enqueueMessage(db, { dedupeKey: `breach:${breach.id}`, channel, payload, at: now });
    updateBreach(db, breach.id, { messageId: row.id });
  }

  /** Queues a reply in the breach's thread (once per key); the row, or null without a channel or message. */
  function reply(breach: BreachRow, key: string, text: string, now: Date, blocks?: unknown[]) {
    if (!channel || !breach.messageId) return null;
    return enqueueMessage(db, {
      dedupeKey: `breach:${breach.id}:${key}`,
      channel,
      parentId: breach.messageId,
      payload: { text, ...(blocks ? { blocks } : {}) },
      at: now,
    });
  }

  function resolveBreach(breach: BreachRow, now: Date, lastValue: string | null, reason: string): BreachRow {
    const resolved = updateBreach(db, breach.id, {
      status: 'resolved',
      resolvedAt: now,
      ...(lastValue !== null ? { lastValue } : {}),
    });
    renderBreach(resolved, now);
    reply(resolved, 'resolved', buildResolvedReply(resolved).text, now);
    recordDecision(db, {
      at: now,
      kind: 'breach_resolved',
      actor: 'scalebot',
      channel,
      subject: breach.triggerId,
      outcome: 'resolved',
      detail: { breach_id: breach.id, key: breach.key, reason, lasted_seconds: Math.round((now.getTime() - breach.breachedSince.getTime()) / 1000) },
    });
    metrics.breachesResolved.inc({ severity: breach.severity });
    return resolved;
  }

  function handleBlindness(failure: string | undefined, now: Date): void {
    const period = getOpenBlindPeriod(db);
    if (failure && !period) {
      const opened = openBlindPeriod(db, now, failure);
      recordDecision(db, { at: now, kind: 'monitoring_blind', actor: 'scalebot', channel, outcome: 'blind', detail: { reason: failure } });
      if (channel) {
        const message = buildBlindMessage(opened, now);
        const row = enqueueMessage(db, { dedupeKey: `blind:${opened.id}`, channel, payload: { text: message.text, blocks: [...(message.blocks ?? [])] }, at: now });
        updateBlindPeriod(db, opened.id, { outboxId: row.id });
      }
    } else if (!failure && period) {
      const ended = updateBlindPeriod(db, period.id, { endedAt: now });
      recordDecision(db, { at: now, kind: 'monitoring_recovered', actor: 'scalebot', channel, outcome: 'recovered', detail: { blind_seconds: Math.round((now.getTime() - period.startedAt.getTime()) / 1000) } });
      if (ended.outboxId) {
        const message = buildBlindMessage(ended, now);
        setMessagePayload(db, ended.outboxId, { text: message.text, blocks: [...(message.blocks ?? [])] });
      }
    }
  }

  async function runCycle(): Promise<CycleSummary> {
    const now = clock();
    const report = await collectStatus(config.triggers, deps.prometheus, now, config.prometheus.lookbackSeconds);
    metrics.evaluations.inc({ outcome: report.failure ? 'blind' : 'ok' });
    inTransaction(db, () => handleBlindness(report.failure, now));
    const openRows = listOpenBreaches(db);
    const plan = planWatchCycle(
      report,
      openRows.map(toOpenBreach),
      now,
      { resolveAfterSeconds: config.watch.resolveAfterSeconds, repeatSeconds: config.watch.repeatSeconds },
      (breach) => openRows.find((row) => row.id === breach.id)?.source === 'watcher',
    );
    let opened = 0;
    for (const { key, result, breachedSince } of plan.open) {
      const created = inTransaction(db, () => {
      const { breach, created } = openBreach(db, {
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
      });
      if (!created) return null;
      recordDecision(db, {
        at: now,
        kind: 'breach_opened',
        actor: 'scalebot',
        channel,
        subject: breach.triggerId,
        outcome: 'breached',
        detail: { breach_id: breach.id, key, value: result.value, threshold: result.trigger.threshold, held_seconds: result.heldSeconds },
      });
      renderBreach(breach, now);
      return breach;
      });
      if (!created) continue;
      opened += 1;
      metrics.breachesOpened.inc({ severity: created.severity });
    }
    for (const { breach, result } of plan.holding) {
      const row = updateBreach(db, breach.id, { lastValue: String(result.value), lastSeenAt: now, conditionFalseSince: null });
      renderBreach(row, now);
    }
    for (const { breach, result, falseSince } of plan.clearing) {
      const row = updateBreach(db, breach.id, {
        conditionFalseSince: falseSince,
        ...(result ? { lastValue: String(result.value), lastSeenAt: now } : {}),
      });
      renderBreach(row, now);
    }
    for (const { breach, result } of plan.resolve) {
      inTransaction(db, () =>
        resolveBreach(getBreach(db, breach.id)!, now, result ? String(result.value) : null, result ? 'back within the threshold' : 'the series is gone'),
      );
    }
    for (const breach of plan.remind) {
      inTransaction(db, () => {
        const row = updateBreach(db, breach.id, { lastReminderAt: now });
        reply(row, `reminder:${now.getTime()}`, buildReminderMessage(row, now).text, now);
      });
    }
    await deliver();
    return { blind: plan.blind, opened, resolved: plan.resolve.length, reminded: plan.remind.length, open: listOpenBreaches(db).length };
  }

  const deliver = deps.deliver;

  function scheduleNext(delayMs: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      running = runCycle()
        .catch((error: unknown) => {
          metrics.evaluations.inc({ outcome: 'error' });
          logger.error({ err: error }, 'watcher cycle failed');
        })
        .finally(() => {
          running = null;
          scheduleNext(config.watch.intervalSeconds * 1000);
        });
    }, delayMs);
    timer.unref?.();
  }

  /** A click on Acknowledge: idempotent, recorded, shown on the message. Returns what to tell the clicker. */
  async function acknowledge(breachId: number, user: string, now: Date): Promise<ClickOutcome> {
    const outcome = inTransaction(db, (): ClickOutcome => {
      const breach = getBreach(db, breachId);
      if (!breach) return { changed: false, message: `Breach #${breachId} does not exist.` };
      if (breach.status !== 'open') return { changed: false, message: `This breach was resolved; nothing to acknowledge.` };
      if (breach.ackedBy) return { changed: false, message: `Already acknowledged by <@${breach.ackedBy}>.` };
      const row = updateBreach(db, breachId, { ackedBy: user, ackedAt: now });
      recordDecision(db, { at: now, kind: 'breach_acknowledged', actor: user, channel, subject: breach.triggerId, outcome: 'acknowledged', detail: { breach_id: breachId } });
      renderBreach(row, now);
      return { changed: true };
    });
    if (outcome.changed) await deliver();
    return outcome;
  }

  async function snooze(breachId: number, user: string, seconds: number, now: Date): Promise<ClickOutcome> {
    if (!config.watch.snoozeOptionsSeconds.includes(seconds)) return { changed: false, message: 'That snooze length is not offered.' };
    const outcome = inTransaction(db, (): ClickOutcome => {
      const breach = getBreach(db, breachId);
      if (!breach) return { changed: false, message: `Breach #${breachId} does not exist.` };
      if (breach.status !== 'open') return { changed: false, message: 'This breach was resolved; nothing to snooze.' };
      const until = new Date(now.getTime() + seconds * 1000);
      const row = updateBreach(db, breachId, { snoozedBy: user, snoozedUntil: until });
      recordDecision(db, {
        at: now,
        kind: 'breach_snoozed',
        actor: user,
        channel,
        subject: breach.triggerId,
        outcome: 'snoozed',
        detail: { breach_id: breachId, seconds, until: until.toISOString() },
      });
      renderBreach(row, now);
      return { changed: true };
    });
    if (outcome.changed) await deliver();
    return outcome;
  }

  /**
   * Alerts from an Alertmanager webhook go through the same pipeline: one breach and one message per alert
   * (keyed by its fingerprint), edited on repeats, resolved in its thread. Alertmanager decides when.
   */
  async function applyAlertmanagerAlerts(alerts: readonly AlertmanagerAlert[], now: Date) {
    const counts = { opened: 0, updated: 0, resolved: 0, ignored: 0 };
    // One transaction for the whole request: a failure part way opens nothing (Alertmanager sends it again).
    inTransaction(db, () => {
      for (const alert of alerts) {
        inTransaction(db, () => {
          const existing = findOpenBreach(db, alert.key);
          const detail: BreachDetail = {
            ...(alert.summary ? { summary: alert.summary } : {}),
            ...(alert.description ? { description: alert.description } : {}),
            ...(alert.advice ? { advice: alert.advice } : {}),
            ...(alert.generatorUrl ? { generatorUrl: alert.generatorUrl } : {}),
          };
          if (alert.status === 'resolved') {
            if (!existing) {
              counts.ignored += 1;
              return;
            }
            resolveBreach(existing, alert.endsAt && alert.endsAt < now ? alert.endsAt : now, alert.value ?? existing.lastValue, 'Alertmanager resolved it');
            counts.resolved += 1;
            return;
          }
          if (existing) {
            const row = updateBreach(db, existing.id, { lastValue: alert.value ?? existing.lastValue, lastSeenAt: now, detail: { ...detail } });
            renderBreach(row, now);
            counts.updated += 1;
            return;
          }
          const { breach, created } = openBreach(db, {
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
          });
          if (!created) return;
          recordDecision(db, {
            at: now,
            kind: 'breach_opened',
            actor: 'alertmanager',
            channel,
            subject: alert.alertname,
            outcome: 'firing',
            detail: { breach_id: breach.id, key: alert.key, labels: alert.labels },
          });
          metrics.breachesOpened.inc({ severity: breach.severity });
          renderBreach(breach, now);
          counts.opened += 1;
        });
      }
    });
    await deliver();
    return counts;
  }

  /** A webhook body refused (malformed, too many alerts): on record, with why; nothing else is stored. */
  function recordAlertmanagerRefusal(reason: string, status: number, now: Date): void {
    recordDecision(db, { at: now, kind: 'alertmanager_refused', actor: 'alertmanager', channel, outcome: 'refused', detail: { status, reason } });
  }

  return {
    runCycle,
    deliver,
    applyAlertmanagerAlerts,
    recordAlertmanagerRefusal,
    acknowledge,
    snooze,
    renderBreach,
    reply,
    resolveBreach,
    /** The full /scale status answer in a breach's thread (the Status button). */
    /** 'posted', or 'already' when a click in the same half minute has queued the status already. */
    async postStatusInThread(breachId: number, now: Date): Promise<'posted' | 'already' | 'no_breach'> {
      const breach = getBreach(db, breachId);
      if (!breach) return 'no_breach';
      const report = await collectStatus(config.triggers, deps.prometheus, now, config.prometheus.lookbackSeconds);
      const message = buildStatusBlocks(report, { dashboardUrl: config.grafana.dashboardUrl });
      // Two clicks within the same half minute post one status, not two.
      const key = `status:${Math.floor(now.getTime() / 30_000)}`;
      // Checked and queued in one turn of the event loop: of two clicks, exactly one finds nothing queued.
      const already = Boolean(getMessageByKey(db, `breach:${breach.id}:${key}`));
      reply(breach, key, message.text, now, [...(message.blocks ?? [])]);
      await deliver();
      return already ? 'already' : 'posted';
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
