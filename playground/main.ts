// `npm run playground [-- --demo] [--port N] [--config FILE] [--db FILE]`: the bot, a Slack emulator and a
// page on 127.0.0.1, for trying every flow without a Slack workspace. See playground/README.md.
import { parseArgs } from 'node:util';
import { ConfigError, SettingsError } from '../core/config/index.ts';
import { startPlayground, type PlaygroundStatus } from './start-playground.ts';

const USAGE = `Usage: npm run playground [-- options]

  --demo           also start a local Prometheus fed by an exporter that plays the scaling guide's story
                   (traffic grows, CPU climbs past 70 % and stays, the watcher posts a breach)
  --port N         the page's port (default 3100; 0 takes any free port)
  --config FILE    your own scalebot config; the playground sets the alerts channel on top of it
  --db FILE        keep the bot's SQLite database in FILE (default: a temp file, gone on exit)
  -h, --help       this text

Environment: PROMETHEUS_URL (a Prometheus of your own, without --demo), PROMETHEUS_BIN, LOG_LEVEL.`;

const DEFAULT_PORT = 3100;

async function main(argv: string[]): Promise<number> {
  let values: { demo?: boolean; port?: string; config?: string; db?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        demo: { type: 'boolean' },
        port: { type: 'string' },
        config: { type: 'string' },
        db: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port "${values.port}" is not a port number\n`);
    return 1;
  }

  const options = {
    demo: Boolean(values.demo),
    ...(values.config ? { configFile: values.config } : {}),
    ...(values.db ? { databaseFile: values.db } : {}),
  };
  let playground: Awaited<ReturnType<typeof startPlayground>>;
  try {
    playground = await startPlayground({ ...options, port });
  } catch (error) {
    // The default port may be taken (a second playground): any free port will do.
    if (values.port === undefined && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      playground = await startPlayground({ ...options, port: 0 });
    } else if (error instanceof ConfigError || error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    } else {
      throw error;
    }
  }

  process.stdout.write(describe(playground.url, playground.status()));
  await new Promise<void>((resolve) => {
    const shutdown = () => {
      process.stdout.write('\nstopping the playground…\n');
      void playground.stop().then(resolve);
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  return 0;
}

function describe(url: string, status: PlaygroundStatus): string {
  const lines = ['', `  scalebot playground: open ${url}`, '', `  the bot (unchanged, HTTP mode)  ${status.botUrl}`];
  const prometheus = status.prometheus;
  if (prometheus.mode === 'demo') {
    const { days, samples, buildMs, backfillMs } = prometheus.history;
    lines.push(`  Prometheus (demo)               ${prometheus.url}, scraping the demo exporter every second`);
    lines.push(
      `                                  with ${days} days of history (${samples.toLocaleString('en-US')} samples: ` +
        `built in ${(buildMs / 1000).toFixed(1)} s, backfilled in ${(backfillMs / 1000).toFixed(1)} s)`,
    );
  } else if (prometheus.mode === 'missing')
    lines.push(`  Prometheus                      not installed: ${prometheus.installHint}, then run with --demo again`);
  else {
    const answer = prometheus.answers ? 'answers' : 'does not answer: the bot will say "no data" (try: npm run playground -- --demo)';
    lines.push(`  Prometheus                      ${prometheus.url} ${answer}`);
  }
  lines.push(`  runbooks                        ${status.runbooks.summary}`, '', '  Ctrl-C stops everything.', '');
  return `${lines.join('\n')}\n`;
}

process.exitCode = await main(process.argv.slice(2));
