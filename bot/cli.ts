import { existsSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { collectStatus, statusReportToJson } from '../core/status.ts';
import { createPrometheus } from '../integrations/prometheus.ts';
import { ConfigError, loadConfig, SettingsError } from './config.ts';
import { startBot } from './main.ts';
import { formatStatusTable } from './status-table.ts';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Exit statuses of `scalebot status`, as scripts and cron jobs read them. */
export const EXIT = { ok: 0, failure: 1, scale: 2 } as const;

function configFileFrom(options: { config?: string }, env: CliIo['env']): string | undefined {
  return options.config ?? (env.SCALEBOT_CONFIG?.trim() || undefined);
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('scalebot')
    .description('A Slack ChatOps bot that watches, advises and acts on your scaling guide.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('serve', { isDefault: true })
    .description('run the bot (Socket Mode when SLACK_APP_TOKEN is set, else HTTP mode on PORT)')
    .option('-c, --config <file>', 'YAML config file (default: SCALEBOT_CONFIG, else the built-in guide)')
    .action(async (options: { config?: string }) => {
      const bot = await startBot({ env: io.env, configFile: configFileFrom(options, io.env) });
      io.stderr(`scalebot is running (${bot.settings.mode} mode); health and metrics at ${bot.url}\n`);
      await new Promise<void>((resolve) => {
        const shutdown = () => void bot.stop().then(resolve);
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
    });

  program
    .command('status')
    .description('every scaling trigger, live from Prometheus; exit 0 no need, 2 scale now/soon, 1 cannot tell')
    .option('-c, --config <file>', 'YAML config file')
    .option('--json', 'print JSON instead of a table')
    .addOption(new Option('--at <time>', 'evaluate at this ISO-8601 time instead of now'))
    .action(async (options: { config?: string; json?: boolean; at?: string }) => {
      const config = loadConfig({ file: configFileFrom(options, io.env), env: io.env });
      const at = options.at ? new Date(options.at) : new Date();
      if (Number.isNaN(at.getTime())) throw new UsageProblem(`--at "${options.at}" is not a time: write it like 2026-11-28T14:00:00Z`);
      const prometheus = createPrometheus({ url: config.prometheus.url, timeoutMs: config.prometheus.timeoutMs });
      const report = await collectStatus(config.triggers, prometheus, at, config.prometheus.lookbackSeconds);
      io.stdout(options.json ? `${JSON.stringify(statusReportToJson(report), null, 2)}\n` : formatStatusTable(report));
      if (report.failure) {
        io.stderr(`scalebot: nothing could be evaluated: ${report.failure}\n`);
        exitCode = EXIT.failure;
      } else {
        exitCode = report.verdict === 'ok' ? EXIT.ok : EXIT.scale;
      }
    });

  program
    .command('check-config')
    .description('validate a config file: every problem with its file, line and path')
    .argument('[file]', 'the YAML file (default: --config, SCALEBOT_CONFIG, else only the built-in defaults)')
    .option('-c, --config <file>', 'YAML config file')
    .action((file: string | undefined, options: { config?: string }) => {
      const path = file ?? configFileFrom(options, io.env);
      const config = loadConfig({ file: path, env: io.env });
      io.stdout(`ok: ${config.sources.join(', ')}: ${config.triggers.length} triggers\n`);
    });

  try {
    await program.parseAsync(['node', 'scalebot', ...argv]);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.failure;
    if (error instanceof ConfigError || error instanceof SettingsError || error instanceof UsageProblem) {
      io.stderr(`${error.message}\n`);
      return EXIT.failure;
    }
    io.stderr(`scalebot: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT.failure;
  }
}

class UsageProblem extends Error {}

/** The process entry: .env (when present) fills what the environment leaves unset. */
export async function main(argv: readonly string[]): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const code = await runCli(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  });
  process.exitCode = code;
}
