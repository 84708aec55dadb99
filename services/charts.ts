import type { Logger } from 'pino';
import { breachChartComment, breachChartTitle, chartFailedReply, triggerChartComment } from '../blocks/chart-replies.ts';
import { buildChartModel, chartWindowSeconds } from '../core/chart.ts';
import type { Config } from '../core/config/index.ts';
import type { ChartRenderer, Clock, PrometheusPort, Storage } from '../core/ports.ts';
import type { BreachRecord } from '../core/storage/breaches.ts';
import type { FilePayload } from '../core/storage/effects.ts';
import type { PostWrite } from '../core/storage/outbox.ts';
import type { Forecast } from '../core/forecast.ts';
import type { Series, Trigger } from '../core/triggers.ts';
import { breachKey, breachMessageKey } from '../core/watch.ts';
import { postMessage, replyInThread, uploadFailureKey, type OutboxDeliverer } from './outbox.ts';

export interface ChartPosterDeps {
  readonly storage: Storage;
  readonly config: Config;
  readonly prometheus: Pick<PrometheusPort, 'queryRange' | 'judgeTriggers'>;
  /** null: this process draws no charts (charts off, or no renderer); every call then posts nothing. */
  readonly renderer: ChartRenderer | null;
  readonly deliver: OutboxDeliverer;
  readonly clock: Clock;
  readonly logger: Logger;
}

export type BreachChartMoment = 'opened' | 'resolved';

/**
 * What a request for a chart did: queued (and, once delivered, in Slack); `already` when the same chart (same
 * key) was queued before; `failed` with why it could not be drawn; `off` when there is no chart to draw (charts
 * off, an Alertmanager breach, no channel, no breach message to reply to).
 */
export type ChartOutcome =
  | { readonly kind: 'queued' | 'already' | 'off' }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'no_breach' };

/** How long after a breach opened or resolved its chart is still drawn by the catch-up (a restart, a failed cycle). */
export const CATCH_UP_SECONDS = 3600;
/** Points per series on a chart: enough for a smooth line at 800 px, cheap for Prometheus and the renderer. */
const POINTS_PER_SERIES = 240;

/** The outbox key of a breach's chart at a moment; its failure note has its own key, so each is said once. */
export function breachChartKey(breachId: number, moment: BreachChartMoment): string {
  return `${breachMessageKey(breachId)}:chart:${moment}`;
}
/**
 * The key of the note that a breach's chart is not coming: the same key the outbox gives its notice of an upload
 * Slack refused for good, so a chart that could not be drawn and one that could not be uploaded say so once between them.
 */
const failedKey = (breachId: number, moment: BreachChartMoment) => uploadFailureKey(breachChartKey(breachId, moment));

function sameSeries(labels: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean {
  const names = (record: Readonly<Record<string, string>>) => Object.keys(record).filter((name) => name !== '__name__');
  const ours = names(wanted);
  return ours.length === names(labels).length && ours.every((name) => labels[name] === wanted[name]);
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Charts in Slack: a breach's picture in its thread when it opens and when it resolves, and a trigger's picture
 * on request. Every chart is a post through the outbox under a dedupe key, so it goes out exactly once however
 * often it is asked for (a restart, two clicks); a chart that cannot be drawn is said once, in text.
 */
export function createChartPoster(deps: ChartPosterDeps) {
  const { storage, config, prometheus, renderer, clock, logger } = deps;
  const channel = config.slack.alertsChannel;
  const enabled = config.charts.enabled && renderer !== null;
  const triggerOf = (id: string): Trigger | undefined => config.triggers.find((trigger) => trigger.id === id);

  /** The picture of `trigger` over the `windowSeconds` up to `at`: of its series `only` (a breach's own), or all of them. */
  async function draw(
    trigger: Trigger,
    at: Date,
    windowSeconds: number,
    options: {
      readonly only?: Readonly<Record<string, string>>;
      readonly breachSpan?: { start: number; end: number };
      readonly title?: string;
      /** Continue the first line with its trend (a trigger's chart on request; a breach is past its threshold already). */
      readonly withForecast?: boolean;
    },
    filename: string,
  ): Promise<FilePayload> {
    const end = Math.floor(at.getTime() / 1000);
    const stepSeconds = Math.max(1, Math.ceil(windowSeconds / POINTS_PER_SERIES));
    const [series, forecasts] = await Promise.all([
      prometheus.queryRange(trigger.query, end - windowSeconds, end, stepSeconds) as Promise<Series[]>,
      options.withForecast && trigger.forecast ? forecastsOf(trigger, at) : Promise.resolve(null),
    ]);
    if (series.length === 0) throw new Error(`Prometheus has no data for ${trigger.id} in that window`);
    // A breach's picture is its own series alone: the chart ranks lines by their last value, so beside others
    // the breach's line (back under the threshold once resolved) would lose its place and its label. Without it
    // in the window (a series that is gone), the trigger's series stand in.
    const wanted = options.only;
    const own = wanted ? series.filter((candidate) => sameSeries(candidate.labels, wanted)) : [];
    const model = buildChartModel({
      trigger,
      series: own.length > 0 ? own : series,
      at,
      windowSeconds,
      theme: config.charts.theme,
      ...(forecasts ? { forecast: (labels: Readonly<Record<string, string>>) => forecasts.get(breachKey(trigger.id, labels)) } : {}),
      ...(options.breachSpan ? { breachSpan: options.breachSpan } : {}),
      ...(options.title ? { title: options.title } : {}),
    });
    const rendered = await renderer!.render(model);
    return { filename, title: model.title, altText: rendered.altText, base64: Buffer.from(rendered.png).toString('base64') };
  }

  /**
   * Each series' forecast, by its key, from the same evaluation `/scale status` makes (the client's memo fits each
   * trigger once per step). A forecast that cannot be had leaves the chart without its dashed line, never without the chart.
   */
  async function forecastsOf(trigger: Trigger, at: Date): Promise<Map<string, Forecast> | null> {
    try {
      const report = await prometheus.judgeTriggers([trigger], at, config.prometheus.lookbackSeconds, { forecast: config.forecast });
      return new Map(report.results.flatMap((result) => (result.forecast ? [[breachKey(trigger.id, result.labels), result.forecast] as const] : [])));
    } catch (error) {
      logger.warn({ trigger: trigger.id, err: error }, 'no forecast for the chart: it is drawn without its trend');
      return null;
    }
  }

  /** The window and shading of a breach's chart: up to now while open; the whole breach, with a margin before it, once resolved. */
  function breachWindow(
    breach: BreachRecord,
    trigger: Trigger,
    at: Date,
    whole: boolean,
  ): { at: Date; windowSeconds: number; breachSpan: { start: number; end: number } } {
    const since = Math.floor(breach.breachedSince.getTime() / 1000);
    if (whole && breach.resolvedAt) {
      const end = Math.floor(breach.resolvedAt.getTime() / 1000);
      const span = Math.max(end - since, 1);
      // Enough before the breach to see it begin, at least the trigger's `for` window and a quarter of the span.
      const margin = Math.max(trigger.forSeconds, Math.ceil(span / 4), 600);
      return { at: breach.resolvedAt, windowSeconds: span + margin, breachSpan: { start: since, end } };
    }
    const end = Math.floor(at.getTime() / 1000);
    return { at, windowSeconds: Math.max(chartWindowSeconds(trigger), end - since + trigger.forSeconds), breachSpan: { start: since, end } };
  }

  /** Whether a chart of this breach can be drawn at all: charts on, its own trigger, a message to reply to. */
  function chartable(breach: BreachRecord): Trigger | undefined {
    if (!enabled || !channel || breach.source !== 'watcher' || !breach.messageId) return undefined;
    return triggerOf(breach.triggerId);
  }

  async function queue(write: PostWrite): Promise<boolean> {
    const queued = await storage.outbox.post(write);
    await deps.deliver();
    return queued;
  }

  /**
   * The breach's chart in its thread as it opened or resolved, once per breach and moment: a second call (the
   * catch-up after a restart, a cycle that ran twice) finds its key and draws nothing. A chart that cannot be
   * drawn is said in the thread once instead; that moment is then settled (no retry every cycle).
   */
  async function chartForBreach(breach: BreachRecord, moment: BreachChartMoment): Promise<ChartOutcome> {
    const trigger = chartable(breach);
    if (!trigger || !channel) return { kind: 'off' };
    if (moment === 'resolved' && breach.status !== 'resolved') return { kind: 'off' };
    const key = breachChartKey(breach.id, moment);
    if ((await storage.outbox.getByKey(key)) || (await storage.outbox.getByKey(failedKey(breach.id, moment)))) return { kind: 'already' };
    const parentKey = breachMessageKey(breach.id);
    const now = clock();
    const window = breachWindow(breach, trigger, breach.openedAt, moment === 'resolved');
    let file: FilePayload;
    try {
      file = await draw(
        trigger,
        window.at,
        window.windowSeconds,
        { only: breach.labels, breachSpan: window.breachSpan, title: breachChartTitle(breach) },
        `${trigger.id}-breach-${breach.id}-${moment}.png`,
      );
    } catch (error) {
      const reason = reasonOf(error);
      logger.warn({ breachId: breach.id, moment, reason }, 'could not draw a breach chart; saying so in its thread');
      const said = await queue(replyInThread(parentKey, failedKey(breach.id, moment), channel, { text: chartFailedReply(reason) }, now));
      return said ? { kind: 'failed', reason } : { kind: 'already' };
    }
    const text = breachChartComment(breach, moment, window.windowSeconds);
    return (await queue(replyInThread(parentKey, key, channel, { text, file }, now))) ? { kind: 'queued' } : { kind: 'already' };
  }

  /**
   * Charts a restart (or a failed cycle) left undrawn: open breaches opened, and breaches resolved, in the last
   * hour. Cheap when nothing is missing: two key look-ups a breach.
   */
  async function catchUp(): Promise<number> {
    if (!enabled || !channel) return 0;
    const since = new Date(clock().getTime() - CATCH_UP_SECONDS * 1000);
    let drawn = 0;
    const due: Array<[BreachRecord, BreachChartMoment]> = [
      ...(await storage.breaches.listOpen())
        .filter((breach) => breach.openedAt >= since)
        .map((breach): [BreachRecord, BreachChartMoment] => [breach, 'opened']),
      ...(await storage.breaches.listResolvedSince(since)).map((breach): [BreachRecord, BreachChartMoment] => [breach, 'resolved']),
    ];
    for (const [breach, moment] of due) {
      const outcome = await chartForBreach(breach, moment);
      if (outcome.kind === 'queued' || outcome.kind === 'failed') drawn += 1;
    }
    return drawn;
  }

  /** A Chart button on a breach's message: the chart as it is now, in its thread; one per half minute. */
  async function chartInBreachThread(breachId: number, now: Date): Promise<ChartOutcome> {
    const breach = await storage.breaches.get(breachId);
    if (!breach) return { kind: 'no_breach' };
    if (enabled && breach.source !== 'watcher')
      return { kind: 'failed', reason: 'this alert came from Alertmanager, and the bot has no query of its own for it' };
    const trigger = chartable(breach);
    if (!trigger || !channel) return { kind: 'off' };
    const parentKey = breachMessageKey(breach.id);
    const key = `${parentKey}:chart:${Math.floor(now.getTime() / 30_000)}`;
    if (await storage.outbox.getByKey(key)) return { kind: 'already' };
    const window = breachWindow(breach, trigger, now, breach.status === 'resolved');
    try {
      const file = await draw(
        trigger,
        window.at,
        window.windowSeconds,
        { only: breach.labels, breachSpan: window.breachSpan, title: breachChartTitle(breach) },
        `${trigger.id}-breach-${breach.id}.png`,
      );
      const text = breachChartComment(breach, breach.status === 'resolved' ? 'resolved' : 'now', window.windowSeconds);
      return (await queue(replyInThread(parentKey, key, channel, { text, file }, now))) ? { kind: 'queued' } : { kind: 'already' };
    } catch (error) {
      return { kind: 'failed', reason: reasonOf(error) };
    }
  }

  /**
   * A trigger's chart posted to `target` (`/scale chart`, the status message's Chart menu). The key holds the
   * channel, trigger, range and `slotMs` slot of `now`: a double submit posts one chart.
   */
  async function chartToChannel(request: {
    readonly trigger: Trigger;
    readonly channel: string;
    readonly windowSeconds: number;
    readonly rangeName: string;
    readonly user: string | null;
    readonly now: Date;
    readonly slotMs: number;
  }): Promise<ChartOutcome & { readonly key?: string }> {
    if (!enabled) return { kind: 'off' };
    const { trigger, now } = request;
    const key = `chart:${request.channel}:${trigger.id}:${request.rangeName}:${Math.floor(now.getTime() / request.slotMs)}`;
    if (await storage.outbox.getByKey(key)) return { kind: 'already', key };
    let file: FilePayload;
    try {
      file = await draw(trigger, now, request.windowSeconds, { withForecast: true }, `${trigger.id}-${request.rangeName}.png`);
    } catch (error) {
      return { kind: 'failed', reason: reasonOf(error) };
    }
    const text = triggerChartComment(trigger, request.windowSeconds, request.user);
    return { kind: (await queue(postMessage(key, request.channel, { text, file }, now))) ? 'queued' : 'already', key };
  }

  return { enabled, chartForBreach, catchUp, chartInBreachThread, chartToChannel, triggerOf };
}

export type ChartPoster = ReturnType<typeof createChartPoster>;
