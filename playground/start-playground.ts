// Starts everything `npm run playground` runs: the Slack emulator, the bot itself (startBot, HTTP mode,
// unchanged: it only gets a SLACK_API_URL and a config file, as any deployment does), the page, and with
// --demo a story-playing exporter and a real Prometheus scraping it. Nothing listens beyond 127.0.0.1 and no
// token leaves the machine: the bot's token and signing secret are made up here, for this run.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DestinationStream } from 'pino';
import { startBot, type RunningBot } from '../bot/main.ts';
import { SUBCOMMANDS } from '../commands/registry.ts';
import { buildPlaygroundConfig } from './config.ts';
import { startDemoExporter, type DemoExporter } from './demo/exporter.ts';
import { buildDemoHistory } from './demo/history.ts';
import { findPrometheus, PROMETHEUS_INSTALL_HINT, startDemoPrometheus, type DemoPrometheus } from './demo/prometheus.ts';
import { PlaygroundEmulator } from './person-side.ts';
import { freeLoopbackPort } from '../devkit/ports.ts';
import { startPageServer, type PageServer } from './page-server.ts';
import { prepareRunbookTarget, runbookConfig, type RunbookTarget } from './runbook-target.ts';
import { ALERTS_CHANNEL } from './workspace.ts';

export interface PlaygroundOptions {
  /** Play the guide's scenario through a local exporter and Prometheus. */
  readonly demo?: boolean;
  /** A person's own config file; the playground's settings (alerts channel, …) go on top of it. */
  readonly configFile?: string;
  /** Keep the bot's SQLite here; default: a temp file, gone when the playground stops. */
  readonly databaseFile?: string;
  /** The page's port; 0 (the default) takes a free one. */
  readonly port?: number;
  /** PROMETHEUS_URL (without --demo), PROMETHEUS_BIN, SSHD_BIN, LOG_LEVEL, ALERTMANAGER_TOKEN. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the bot's JSON log lines go; default stderr. */
  readonly logDestination?: DestinationStream;
}

export type PrometheusStatus =
  | { readonly mode: 'demo'; readonly url: string; readonly history: DemoHistoryStatus }
  | { readonly mode: 'missing'; readonly installHint: string }
  | { readonly mode: 'external'; readonly url: string; readonly answers: boolean | null };

/** The backfilled week the demo starts with, and what it cost at start. */
export interface DemoHistoryStatus {
  readonly days: number;
  readonly samples: number;
  /** Building the samples, promtool writing their blocks, Prometheus starting on them. */
  readonly buildMs: number;
  readonly backfillMs: number;
  readonly startMs: number;
}

export interface PlaygroundStatus {
  readonly prometheus: PrometheusStatus;
  readonly demo: { readonly phase: string; readonly elapsedSeconds: number; readonly level: number } | null;
  readonly runbooks: { readonly mode: RunbookTarget['mode']; readonly summary: string };
  readonly alertsChannel: string;
  readonly botUrl: string;
}

export interface RunningPlayground {
  /** The page: `http://127.0.0.1:PORT/`. */
  readonly url: string;
  readonly bot: RunningBot;
  readonly emulator: PlaygroundEmulator;
  status(): PlaygroundStatus;
  stop(): Promise<void>;
}

export async function startPlayground(options: PlaygroundOptions = {}): Promise<RunningPlayground> {
  const env = options.env ?? process.env;
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-playground-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => {});
  };

  try {
    const botToken = `xoxb-playground-${randomBytes(12).toString('hex')}`;
    const signingSecret = randomBytes(24).toString('hex');
    const emulator = await PlaygroundEmulator.start({ botToken });
    cleanups.push(() => emulator.close());

    let exporter: DemoExporter | null = null;
    let prometheus: PrometheusStatus;
    let prometheusUrl: string | undefined = env.PROMETHEUS_URL?.trim() || undefined;
    if (options.demo) {
      const binary = findPrometheus(env);
      if (binary) {
        // A week of history first, so forecasts, charts and the digest have something to say from the start.
        const began = performance.now();
        const history = buildDemoHistory({ end: Math.floor(Date.now() / 1000) });
        const buildMs = Math.round(performance.now() - began);
        exporter = await startDemoExporter({ continueFrom: history });
        cleanups.push(() => exporter?.stop());
        const server: DemoPrometheus = await startDemoPrometheus({ binary, scrapeTarget: exporter.target, history });
        cleanups.push(() => server.stop());
        prometheusUrl = server.url;
        const { backfillMs, startMs } = server.timings;
        const days = (history.end - history.start) / 86_400;
        prometheus = {
          mode: 'demo',
          url: server.url,
          history: { days, samples: history.samples, buildMs, backfillMs: Math.round(backfillMs), startMs: Math.round(startMs) },
        };
      } else {
        // Honest "no data": a loopback port where nothing listens.
        prometheusUrl = `http://127.0.0.1:${await freeLoopbackPort()}`;
        prometheus = { mode: 'missing', installHint: PROMETHEUS_INSTALL_HINT };
      }
    } else {
      prometheus = { mode: 'external', url: '', answers: null };
    }

    const runbookTarget = await prepareRunbookTarget({
      runbooksAvailable: SUBCOMMANDS.some((sub) => sub.name === 'run'),
      ...(env.SSHD_BIN ? { sshdBinary: env.SSHD_BIN } : {}),
    });
    cleanups.push(() => runbookTarget.stop());

    const userConfig = options.configFile ? readFileSync(resolve(options.configFile), 'utf8') : undefined;
    const configText = buildPlaygroundConfig({
      demo: Boolean(options.demo),
      ...(userConfig !== undefined ? { userConfig } : {}),
      ...(runbookTarget.mode !== 'unavailable' ? { runbooks: runbookConfig(runbookTarget.host) } : {}),
    });
    const configFile = join(dir, 'playground.yaml');
    writeFileSync(configFile, configText);

    const databaseFile = options.databaseFile ? resolve(options.databaseFile) : join(dir, 'playground.db');
    const bot = await startBot({
      env: {
        SLACK_BOT_TOKEN: botToken,
        SLACK_SIGNING_SECRET: signingSecret,
        SLACK_API_URL: emulator.apiUrl,
        // The emulator answers at once; a refusal should show on the page now, not after half an hour of retries.
        SLACK_API_RETRIES: '0',
        HOST: '127.0.0.1',
        PORT: '0',
        SCALEBOT_DB: databaseFile,
        LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
        // POST /alertmanager takes alerts with this token only: a made-up one unless you bring your own.
        ALERTMANAGER_TOKEN: env.ALERTMANAGER_TOKEN?.trim() || randomBytes(16).toString('hex'),
        ...(prometheusUrl ? { PROMETHEUS_URL: prometheusUrl } : {}),
      },
      configFile,
      ...(options.logDestination ? { logDestination: options.logDestination } : {}),
    });
    cleanups.push(() => bot.stop());
    emulator.connectBot({ url: bot.url, signingSecret });

    if (prometheus.mode === 'external') prometheus = { mode: 'external', url: bot.config.prometheus.url, answers: null };
    const probe = async () => {
      if (prometheus.mode !== 'external') return;
      const answers = await fetch(new URL('/-/ready', prometheus.url), { signal: AbortSignal.timeout(2000) }).then(
        (response) => response.ok,
        () => false,
      );
      if (prometheus.mode === 'external' && prometheus.answers !== answers) {
        prometheus = { ...prometheus, answers };
        page?.broadcast();
      }
    };

    const status = (): PlaygroundStatus => {
      const moment = exporter?.moment();
      return {
        prometheus,
        demo: moment ? { phase: moment.phase, elapsedSeconds: Math.round(moment.elapsedSeconds), level: moment.level } : null,
        runbooks: { mode: runbookTarget.mode, summary: runbookTarget.summary },
        alertsChannel: ALERTS_CHANNEL.id,
        botUrl: bot.url,
      };
    };

    let page: PageServer | undefined;
    page = await startPageServer({
      emulator,
      status,
      commandHints: SUBCOMMANDS.map((sub) => sub.usage),
      ...(exporter ? { demoControl: (what: 'replay' | 'calm-down') => (what === 'replay' ? exporter!.replay() : exporter!.calmDown()) } : {}),
      ...(options.port !== undefined ? { port: options.port } : {}),
    });
    cleanups.push(() => page?.close());

    // The page's status line follows the demo's story, and each new chapter is told in #ops. The story
    // starts once Prometheus holds a few live samples: the demo's irate needs two, the rest is margin.
    let lastPhase = exporter?.moment().phase;
    if (exporter) emulator.notify(ALERTS_CHANNEL.id, demoNarration(lastPhase!));
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks += 1;
      if (exporter) {
        if (exporter.moment().phase === 'warming up' && exporter.scrapes >= DEMO_WARM_UP_SCRAPES) exporter.startStory();
        const phase = exporter.moment().phase;
        if (phase !== lastPhase) {
          lastPhase = phase;
          emulator.notify(ALERTS_CHANNEL.id, demoNarration(phase));
        } else if (ticks % 3 === 0) {
          page?.broadcast();
        }
      } else if (ticks % 15 === 0) {
        void probe();
      }
    }, 1000);
    ticker.unref();
    cleanups.push(() => clearInterval(ticker));
    await probe();

    return {
      url: page.url,
      bot,
      emulator,
      status,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Scrapes (one a second) before the story starts: two for the demo's irate, and a little more. */
const DEMO_WARM_UP_SCRAPES = 4;

function demoNarration(phase: string): string {
  switch (phase) {
    case 'warming up':
      return 'Demo: Prometheus has the week before the demo and is collecting its first live samples; the story starts in a few seconds.';
    case 'calm':
      return 'Demo: a calm single server (CPU about 32 %, 140 users online). In about 10 seconds traffic starts to grow.';
    case 'traffic grows':
      return 'Demo: traffic grows. Users online climb towards 640 and CPU towards 86 %; watch `/scale status`.';
    case 'CPU stays above 70 %':
      return 'Demo: CPU stays above 70 %. The cpu trigger (70 % for 15 minutes in the guide, 30 seconds in the demo) breaches and the watcher posts it here.';
    case 'load drops':
      return 'Demo: the load drops. Once CPU has been back under 70 % for 30 seconds (`watch.resolve_after` in the demo), the breach resolves.';
    case 'calm again':
      return 'Demo: calm again. "Replay" starts the story over.';
    default:
      return `Demo: ${phase}`;
  }
}
