import type { Logger } from 'pino';
import { buildDigestMessage, digestChartTitle } from '../blocks/digest.ts';
import type { Config } from '../core/config/index.ts';
import {
  buildDigest,
  DIGEST_DECISION_KINDS,
  DIGEST_FORECAST_HORIZON_SECONDS,
  digestChartKey,
  digestChartModels,
  dueDigest,
  peakQuery,
  peakStepSeconds,
  summarizePeaks,
  type DigestReport,
  type TriggerPeak,
} from '../core/digest.ts';
import type { ChartRenderer, Clock, LeaderGate, PrometheusPort, Storage } from '../core/ports.ts';
import type { TriggerResult } from '../core/triggers.ts';
import type { LeaderJob } from './leadership.ts';
import { payloadOf, postMessage, replyInThread } from './outbox.ts';

/** What the digest reads: the triggers, the forecast settings, the advisor's tables, and where and when it posts. */
export type DigestConfig = Pick<Config, 'digest' | 'triggers' | 'forecast' | 'charts' | 'capacity' | 'advisor' | 'prometheus'>;

export interface DigestSources {
  readonly storage: Pick<Storage, 'breaches' | 'decisions'>;
  readonly config: DigestConfig;
  readonly prometheus: Pick<PrometheusPort, 'queryRange' | 'judgeTriggers'>;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Every trigger's worst value over [since, until], one range query each, all at once. */
async function readPeaks(sources: DigestSources, since: Date, until: Date): Promise<TriggerPeak[]> {
  const windowSeconds = (until.getTime() - since.getTime()) / 1000;
  const stepSeconds = peakStepSeconds(windowSeconds);
  const end = until.getTime() / 1000;
  // The first point covers the first step after `since`; each point is the worst of the step before it.
  const start = Math.min(end, since.getTime() / 1000 + stepSeconds);
  return Promise.all(
    sources.config.triggers.map(async (trigger) => {
      try {
        return summarizePeaks(trigger, await sources.prometheus.queryRange(peakQuery(trigger, stepSeconds), start, end, stepSeconds));
      } catch (error) {
        return summarizePeaks(trigger, [], errorText(error));
      }
    }),
  );
}

/**
 * The digest of [since, until], read from Prometheus and the storage as of `now` (forecasts and open breaches
 * are as of `now`: a late digest says what is open when it is posted). `scalebot digest` prints the same.
 */
export async function collectDigest(sources: DigestSources, window: { since: Date; until: Date; now: Date; late: boolean }): Promise<DigestReport> {
  const { config, storage, prometheus } = sources;
  const forecastTriggers = config.triggers.filter((trigger) => trigger.forecast);
  const [peaks, forecastResults, openBreaches, decisions] = await Promise.all([
    readPeaks(sources, window.since, window.until),
    forecastTriggers.length === 0
      ? Promise.resolve([] as readonly TriggerResult[])
      : prometheus
          .judgeTriggers(forecastTriggers, window.now, config.prometheus.lookbackSeconds, { forecast: config.forecast })
          .then((report) => report.results)
          .catch(() => [] as readonly TriggerResult[]),
    storage.breaches.listOpen(),
    storage.decisions.list({ since: window.since, kinds: DIGEST_DECISION_KINDS, limit: 100_000 }),
  ]);
  const failed = peaks.length > 0 && peaks.every((entry) => entry.failure) ? peaks[0]!.failure : undefined;
  return buildDigest({
    since: window.since,
    until: window.until,
    generatedAt: window.now,
    late: window.late,
    timezone: config.digest.timezone,
    peaks,
    forecastResults,
    forecastHorizonSeconds: Math.max(DIGEST_FORECAST_HORIZON_SECONDS, config.forecast.warnWithinSeconds),
    openBreaches,
    decisions,
    capacity: config.capacity,
    plan: config.advisor.plan,
    ...(failed ? { failure: failed } : {}),
  });
}

/** What one check did. */
export type DigestCheck =
  | { readonly kind: 'no_channel' | 'not_leader' | 'busy' }
  | { readonly kind: 'posted' | 'already_posted'; readonly key: string; readonly late: boolean; readonly chart: 'posted' | 'failed' | 'none' | 'already' };

export interface DigestSchedulerOptions {
  readonly storage: Pick<Storage, 'outbox' | 'breaches' | 'decisions'>;
  readonly config: DigestConfig;
  readonly prometheus: Pick<PrometheusPort, 'queryRange' | 'judgeTriggers'>;
  /** Draws the small multiples; null (or `charts.enabled: false`): the digest goes out as text alone. */
  readonly renderer: ChartRenderer | null;
  /** The outbox's delivery loop, run after a digest is queued. */
  readonly deliver: () => Promise<unknown>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly leader: LeaderGate;
  /** Default a minute. */
  readonly intervalMs?: number;
}

export interface DigestScheduler {
  /** Posts the due digest unless it was posted (see core/digest.ts dueDigest for the rule). */
  check(): Promise<DigestCheck>;
  /** Checks now and every `intervalMs` while this replica leads. */
  readonly leaderJob: LeaderJob;
}

/**
 * The weekly digest, posted by the leader: every minute (and at its start) it asks for the digest of the period
 * it is in, and queues it unless a row with its key `digest:<period start>` is in the outbox. The key is what
 * makes it exactly once: across restarts, and across replicas (a second post with one key queues nothing).
 */
export function createDigestScheduler(options: DigestSchedulerOptions): DigestScheduler {
  const { storage, config, prometheus, renderer, deliver, clock, logger, leader } = options;
  const intervalMs = options.intervalMs ?? 60_000;
  const sources: DigestSources = { storage, config, prometheus };
  // The pictures this process tried to post: a failed render is said once, and a digest with nothing to draw
  // is not read from Prometheus again every minute of its week (a restart tries once more).
  const chartTried = new Set<string>();
  let running: Promise<DigestCheck> | null = null;
  let timer: NodeJS.Timeout | null = null;

  async function postChart(key: string, channel: string, report: DigestReport, now: Date): Promise<'posted' | 'failed' | 'none'> {
    const models = digestChartModels(report.peaks, report, config.charts.theme);
    if (models.length === 0) return 'none';
    const chartKey = digestChartKey(key);
    try {
      const title = digestChartTitle(report);
      const chart = await renderer!.renderSmallMultiples(models, { title });
      const file = {
        filename: `capacity-digest-${report.until.toISOString().slice(0, 10)}.png`,
        title,
        altText: chart.altText,
        base64: Buffer.from(chart.png).toString('base64'),
      };
      await storage.outbox.post(replyInThread(key, chartKey, channel, { text: title, file }, now));
      return 'posted';
    } catch (error) {
      logger.warn({ err: error, key }, 'digest: the picture of the week could not be drawn; the digest went out as text');
      const text = `:warning: The picture of the week could not be drawn (${errorText(error)}); the digest above says it in words.`;
      await storage.outbox.post(replyInThread(key, chartKey, channel, { text }, now));
      return 'failed';
    }
  }

  async function checkOnce(): Promise<DigestCheck> {
    const channel = config.digest.channel;
    if (!channel) return { kind: 'no_channel' };
    if (!leader.isLeader()) return { kind: 'not_leader' };
    const now = clock();
    const due = dueDigest(now, config.digest);
    let report: DigestReport | null = null;
    const collect = async () => {
      report ??= await collectDigest(sources, { since: due.period.previous, until: due.period.start, now, late: due.late });
      return report;
    };
    let kind: 'posted' | 'already_posted' = 'already_posted';
    if (!(await storage.outbox.getByKey(due.key))) {
      const built = await collect();
      // Leadership may have moved while Prometheus answered: the new leader posts it (its fenced write would fail anyway).
      if (!leader.isLeader()) return { kind: 'not_leader' };
      const queued = await storage.outbox.post(postMessage(due.key, channel, payloadOf(buildDigestMessage(built)), now));
      if (queued) {
        kind = 'posted';
        // Not in the post's transaction: the outbox's post takes no Effects. Written only by the check that
        // queued the digest, so at most one row per period (a kill between the two leaves the digest without it).
        await storage.decisions.append({
          at: now,
          kind: 'digest_posted',
          actor: 'scalebot',
          channel,
          subject: due.key,
          outcome: due.late ? 'late' : 'on_time',
          detail: {
            period_start: due.period.start.toISOString(),
            since: built.since.toISOString(),
            over: built.peaks.filter((entry) => entry.over).length,
            forecasts: built.forecasts.length,
            open_breaches: built.openBreaches.length,
          },
        });
        logger.info({ key: due.key, late: due.late }, 'digest: queued the weekly capacity digest');
      }
    }
    let chart: 'posted' | 'failed' | 'none' | 'already' = 'none';
    const chartKey = digestChartKey(due.key);
    if (renderer && config.charts.enabled && !chartTried.has(chartKey)) {
      if (await storage.outbox.getByKey(chartKey)) chart = 'already';
      else {
        chartTried.add(chartKey);
        chart = await postChart(due.key, channel, await collect(), now);
      }
    }
    if (kind === 'posted' || chart === 'posted' || chart === 'failed') await deliver();
    return { kind, key: due.key, late: due.late, chart };
  }

  function check(): Promise<DigestCheck> {
    if (running) return Promise.resolve({ kind: 'busy' });
    running = checkOnce().finally(() => {
      running = null;
    });
    return running;
  }

  const tick = () => {
    void check().catch((error: unknown) => logger.error({ err: error }, 'digest: the check failed; the next one tries again'));
  };

  return {
    check,
    leaderJob: {
      name: 'digest',
      start: () => {
        if (!config.digest.channel) {
          logger.info('digest: no channel set (digest.channel in the config): no weekly digest is posted');
          return;
        }
        tick();
        timer = setInterval(tick, intervalMs);
        timer.unref?.();
      },
      stop: async () => {
        if (timer) clearInterval(timer);
        timer = null;
        await running?.catch(() => {});
      },
    },
  };
}
