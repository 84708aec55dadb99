import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import type { CommandDeps } from '../commands/types.ts';
import type { DatabaseHandle } from '../db/client.ts';
import { openStorage, type SqliteStorage, type StorageOptions } from '../db/storage.ts';
import { WebClient } from '@slack/web-api';
import { createOffThreadPrometheus } from '../integrations/prometheus-off-thread.ts';
import { FALLBACK_SCRAPE_INTERVAL_SECONDS, watchScrapeInterval } from '../integrations/prometheus-config.ts';
import { withEvaluationCache } from '../core/evaluation-cache.ts';
import type { ChecklistRuns } from '../services/checklists/index.ts';
import type { Storage } from '../core/ports.ts';
import type { FenceTokenOf } from '../core/storage/leases.ts';
import { createLeadership, type Leadership, type LeaderJob } from '../services/leadership.ts';
import { createSsh } from '../integrations/ssh.ts';
import type { RunbookRunner } from '../services/runbooks/index.ts';
import { createRunbooksAndChecklists } from '../services/wiring.ts';
import { createOutboxDeliverer } from '../services/outbox.ts';
import { createResponderCheck } from '../integrations/slack-responders.ts';
import { slackSender } from '../integrations/slack-upload.ts';
import { createChartRenderer } from '../charts/off-thread.ts';
import { createChartPoster } from '../services/charts.ts';
import { createWatcher, type Watcher } from '../services/watcher.ts';
import { createDigestScheduler } from '../services/digest.ts';
import { createAlertmanagerRoute, openDoorProblem } from './alertmanager-route.ts';
import { displayUrl, registerSecrets, urlSecrets } from '../core/redact.ts';
import { createApp, toBoltLogger } from './app.ts';
import { configWarnings, type Config, type Settings } from '../core/config/index.ts';
import { loadConfig, loadSettings } from './config.ts';
import { createLogger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createHttpServer } from './server.ts';

export interface StartOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** --config FILE; else SCALEBOT_CONFIG; else the built-in defaults. */
  readonly configFile?: string;
  readonly clock?: () => Date;
  readonly logDestination?: DestinationStream;
  /**
   * When a checklist was last completed (the advisor counts the optimization checklist as "optimized").
   * Default: the checklist runs in storage (`checklists.lastCompleted`); tests may answer instead.
   */
  readonly checklistCompletedAt?: (checklistId: string) => Date | null | Promise<Date | null>;
}

export interface RunningBot {
  readonly settings: Settings;
  readonly config: Config;
  readonly deps: CommandDeps;
  readonly metrics: Metrics;
  readonly storage: Storage;
  /**
   * The SQLite file under `storage`: tests read rows back through it; the bot itself goes through `storage`.
   * Throws when the state is in PostgreSQL.
   */
  readonly database: DatabaseHandle;
  /** Whether this replica leads (runs the watcher, the outbox sender, runbook steps), and its gate. */
  readonly leadership: Leadership;
  readonly watcher: Watcher;
  readonly runbooks: RunbookRunner;
  readonly checklists: ChecklistRuns;
  /** Where the HTTP server listens (health, metrics, and Slack's requests in HTTP mode). */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * The composition root: settings, config, database, Prometheus, Slack, HTTP server. Anything that is
 * wrong is reported before the bot says it is ready, with what to do about it.
 */
export async function startBot({ env, configFile, clock = () => new Date(), logDestination, checklistCompletedAt }: StartOptions): Promise<RunningBot> {
  const settings = loadSettings(env);
  const config = loadConfig({ file: configFile ?? settings.configFile ?? undefined, env });
  // Cut wherever they appear: Slack-bound texts, the decision log, the outbox and every log line.
  registerSecrets([
    settings.botToken,
    settings.appToken,
    settings.signingSecret,
    settings.alertmanagerToken,
    ...urlSecrets(config.prometheus.url),
    // A PostgreSQL URL's password (a driver's error may quote the URL).
    ...(settings.database.kind === 'postgres' ? urlSecrets(settings.database.url) : []),
  ]);
  const logger: Logger = createLogger({
    level: settings.logLevel,
    secrets: [settings.botToken, settings.signingSecret, settings.appToken].filter((value): value is string => Boolean(value)),
    ...(logDestination ? { destination: logDestination } : {}),
  });
  // A runbook that can run on a host but names no approvers starts disabled; say which, and what to add.
  for (const warning of configWarnings(config)) logger.warn(warning);
  // The storage asks for the fencing token of every write; the leadership that knows it needs the storage's
  // lease store, so it is made just after.
  let leadership: Leadership | undefined;
  const fenceToken: FenceTokenOf = () => leadership?.fenceToken();
  // `serving`: SQLite refuses a second serve process on the same file (it is not HA); PostgreSQL takes any number.
  const storageOptions: StorageOptions = { fenceToken, serving: true };
  const storage: Storage = await openStorage(settings.database, storageOptions);
  const sqliteHandle = 'handle' in storage ? (storage as SqliteStorage).handle : null;
  // Every outside call gets at most a third of the lease, so that a leader renewing on time (every fifth of the
  // lease) always has more time left than the call may take (`mayCallOut`): 5 s for the default 15 s lease.
  const callTimeoutMs = Math.min(10_000, Math.floor(settings.leaseMs / 3));
  const prometheusClient = createOffThreadPrometheus(
    { url: config.prometheus.url, timeoutMs: config.prometheus.timeoutMs },
    {
      onWorkerDied: (reason) =>
        logger.warn(
          { reason: reason instanceof Error ? reason.message : `exit code ${reason}` },
          'the Prometheus worker thread died; judging on the main thread until the next one starts',
        ),
    },
  );
  // Every evaluation of the bot (status, advisor, snapshot, watcher, charts, digest) goes through one cache
  // (core/evaluation-cache.ts) kept by this process; `scalebot status` builds its own client and asks fresh.
  const scrapeInterval =
    config.prometheus.maxAge === 'auto'
      ? watchScrapeInterval({
          url: config.prometheus.url,
          timeoutMs: config.prometheus.timeoutMs,
          onRead: (seconds) => logger.info({ seconds }, 'prometheus.max_age is auto: an evaluation serves for the scrape interval Prometheus reports'),
          onFailed: (error) =>
            logger.warn(
              { reason: error.message },
              `prometheus.max_age is auto and the scrape interval could not be read: ${FALLBACK_SCRAPE_INTERVAL_SECONDS}s it is`,
            ),
        })
      : null;
  const maxAgeSeconds = () => (scrapeInterval ? scrapeInterval.seconds() : (config.prometheus.maxAge as number));
  const prometheus = withEvaluationCache(prometheusClient, {
    clock,
    maxAgeMs: () => maxAgeSeconds() * 1000,
    onOutcome: (outcome) => metrics.evaluationCache.inc({ outcome }),
  });
  const metrics = createMetrics(prometheus, { evaluationMaxAgeSeconds: maxAgeSeconds });
  leadership = createLeadership({ leases: storage.leases, leaseMs: settings.leaseMs, logger, onChange: (change) => metrics.leadership.record(change) });
  const gate = leadership;
  // The watcher posts with no retries of the client's own: a 429 comes back at once with Retry-After, and
  // any other failure is looked up in Slack before the outbox posts again (see services/outbox.ts).
  const watcherClient = new WebClient(settings.botToken, {
    ...(settings.slackApiUrl ? { slackApiUrl: settings.slackApiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: callTimeoutMs,
    // Its own warnings ("http request failed …") go through our logger: LOG_LEVEL holds, secrets are cut.
    logger: toBoltLogger(logger, 'outbox-client'),
  });
  // The runbooks are wired after the outbox they post through; its wait for their steps' results is bound below.
  let stepsSettled = async () => {};
  const deliver = createOutboxDeliverer(
    storage,
    slackSender(watcherClient, { timeoutMs: callTimeoutMs }),
    clock,
    logger,
    (method, error) => metrics.watcher.slackErrors.inc({ method, error }),
    {
      leader: gate,
      callTimeoutMs,
      settled: () => stepsSettled(),
    },
  );
  // Charts are drawn in a worker of their own (charts/off-thread.ts), never on the loop that acks Slack.
  const renderer = config.charts.enabled ? createChartRenderer() : null;
  const charts = createChartPoster({ storage, config, prometheus, renderer, deliver, clock, logger });
  const watcher: Watcher = createWatcher({ storage, config, prometheus, deliver, clock, logger, metrics: metrics.watcher, charts });
  const isAllowed = createResponderCheck(watcherClient, clock);
  const {
    runbooks,
    checklists,
    checklistCompletedAt: completedInStorage,
  } = createRunbooksAndChecklists({
    storage,
    config,
    prometheus,
    ssh: createSsh({ readyTimeoutMs: callTimeoutMs }),
    deliver,
    clock,
    logger,
    isAllowed,
    leader: gate,
    sshConnectTimeoutMs: callTimeoutMs,
  });
  stepsSettled = runbooks.stepsSettled;
  // What only the leader runs, started in its term when elected and stopped when deposed or on stop (in reverse).
  const leaderJobs: LeaderJob[] = [
    {
      name: 'outbox',
      start: () => {
        // Followers queue (a click answered there, an Alertmanager webhook); the leader sends within half a second.
        deliver.startPolling(500);
        void deliver().catch((error: unknown) => logger.error({ err: error }, 'outbox: delivery failed'));
      },
      stop: () => deliver.settle(),
    },
    runbooks.leaderJob,
    {
      name: 'watcher',
      start: () => {
        if (config.watch.enabled) watcher.start();
      },
      stop: () => watcher.stop(),
    },
  ];
  // The weekly capacity digest (services/digest.ts): the leader's, once per period by its outbox key.
  leaderJobs.push(createDigestScheduler({ storage, config, prometheus, renderer, deliver, clock, logger, leader: gate }).leaderJob);
  // The advisor counts a completed optimization checklist as "optimized first: yes".
  const completedAt = async (checklistId: string) => (checklistCompletedAt ? checklistCompletedAt(checklistId) : completedInStorage(checklistId));
  const deps: CommandDeps = { config, prometheus, storage, logger, clock, runbooks, checklists, checklistCompletedAt: completedAt, charts };
  const { app, receiver } = createApp({ settings, deps, metrics, watcher, isAllowed });

  let server: Server | null = null;
  try {
    await app.init();
    server = createHttpServer({
      logger,
      registry: metrics.registry,
      isReady: () => {
        const problems = storage.isOpen() ? [] : ['the database is closed'];
        return { ready: problems.length === 0, problems };
      },
      role: () => gate.role(),
      ...(receiver ? { slackListener: receiver.requestListener } : {}),
      routes: {
        'POST /alertmanager': createAlertmanagerRoute({
          watcher,
          logger,
          clock,
          token: settings.alertmanagerToken,
          enabled: Boolean(config.slack.alertsChannel),
          host: settings.host,
        }),
      },
    });
    await listen(server, settings.host, settings.port);
    const alertmanagerDoor = openDoorProblem(settings.host, settings.alertmanagerToken);
    if (alertmanagerDoor) logger.warn(alertmanagerDoor);
    if (settings.mode === 'socket') await app.start();
    if (!config.watch.enabled && !config.slack.alertsChannel) logger.info('the watcher is off: set slack.alerts_channel in the config to get breaches posted');
    // The first attempt is awaited: a sole replica leads, and has recovered its interrupted runs, once ready.
    await gate.start(leaderJobs);
  } catch (error) {
    server?.close();
    await gate.stop();
    deliver.stop();
    scrapeInterval?.stop();
    await prometheus.close();
    await renderer?.close();
    await storage.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info(
    { mode: settings.mode, url, prometheus: displayUrl(config.prometheus.url), triggers: config.triggers.length, role: gate.role(), holder: gate.holder },
    'scalebot is ready',
  );

  let stopped = false;
  return {
    settings,
    config,
    deps,
    metrics,
    storage,
    get database(): DatabaseHandle {
      if (!sqliteHandle) throw new Error('this bot keeps its state in PostgreSQL');
      return sqliteHandle;
    },
    leadership: gate,
    watcher,
    runbooks,
    checklists,
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      // The leader's jobs stop (steps in flight are cut off, their runs left for the next leader to mark
      // interrupted), then the lease is released: a follower takes over at once, not when it runs out.
      await gate.stop();
      await runbooks.shutdown();
      deliver.stop();
      scrapeInterval?.stop();
      await prometheus.close();
      await renderer?.close();
      if (settings.mode === 'socket') {
        await app.stop().catch(() => {});
        // Bolt's app.stop() resolves before the Socket Mode socket has closed: wait for the close itself.
        const socketReceiver = (app as unknown as { receiver: { client?: { disconnect(): Promise<void> } } }).receiver;
        await socketReceiver.client?.disconnect().catch(() => {});
      }
      await new Promise<void>((resolve) => server!.close(() => resolve()));
      server!.closeAllConnections();
      await storage.close();
      logger.flush();
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
