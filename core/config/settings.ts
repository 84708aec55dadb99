import { z } from 'zod';
import { parseDatabaseTarget } from './database-target.ts';

/**
 * Process settings: secrets and wiring from the environment (or .env), never from the YAML. Pure: the loader
 * (bot/config.ts) hands over the environment as a record.
 */

export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      [
        'scalebot cannot start:',
        ...problems.map((problem) => `  - ${problem}`),
        '',
        'Create the Slack app from manifest.yml (https://api.slack.com/apps → Create New App → From an app manifest),',
        'install it to your workspace, and put its tokens in .env (see .env.example) or the environment.',
        'To try the bot without Slack, run: npm run playground',
      ].join('\n'),
    );
    this.name = 'SettingsError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A variable as the settings read it: trimmed, and unset when empty. */
const variable = z
  .string()
  .optional()
  .transform((value) => value?.trim() || null);

/** Each problem's message is the whole line, variable name included; its path (the variable) orders the lines. */
const problem = (context: z.RefinementCtx, message: string, path: string[] = []) => context.addIssue({ code: 'custom', path, message });

const wholeNumber = (name: string, what: string, valid: (value: number) => boolean) =>
  variable.transform((text, context) => {
    if (text === null) return null;
    const value = Number(text);
    if (!Number.isInteger(value) || !valid(value)) problem(context, `${name}: "${text}" is not ${what}`);
    return value;
  });

/** The Web API client joins method names onto this URL, so it must end with a slash. */
function normalizeApiUrl(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

const variables = {
  SLACK_BOT_TOKEN: variable,
  SLACK_APP_TOKEN: variable.superRefine((token, context) => {
    if (token && !token.startsWith('xapp-')) problem(context, 'SLACK_APP_TOKEN must be an app-level token with connections:write, starting with xapp-');
  }),
  SLACK_SIGNING_SECRET: variable,
  SLACK_API_URL: variable.superRefine((url, context) => {
    if (url && !z.url().safeParse(url).success) problem(context, `SLACK_API_URL: "${url}" is not a URL`);
  }),
  SLACK_API_RETRIES: wholeNumber('SLACK_API_RETRIES', 'a whole number of retries', (retries) => retries >= 0),
  HOST: variable,
  PORT: variable.transform((text, context) => {
    const portText = text ?? '3000';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) problem(context, `PORT: "${portText}" is not a port number`);
    return port;
  }),
  SCALEBOT_CONFIG: variable,
  SCALEBOT_DB: variable.transform((text, context) => {
    const parsed = parseDatabaseTarget(text);
    if (parsed.ok) return parsed.target;
    problem(context, parsed.problem);
    return null;
  }),
  /**
   * How long the leader's lease lasts without a renewal: how soon another replica takes over from a leader that
   * died (renewed every fifth of it). Whole seconds; below 3 a slow database would depose healthy leaders.
   */
  SCALEBOT_LEASE_SECONDS: wholeNumber('SCALEBOT_LEASE_SECONDS', 'a whole number of seconds from 3 to 300', (seconds) => seconds >= 3 && seconds <= 300),
  LOG_LEVEL: variable.transform((text, context) => {
    const level = text ?? 'info';
    if (!LOG_LEVELS.includes(level)) problem(context, `LOG_LEVEL: "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
    return level;
  }),
  ALERTMANAGER_TOKEN: variable,
};

/** The order problems are listed in: the way a person sets the app up. */
const PROBLEM_ORDER = [
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_API_URL',
  'SLACK_API_RETRIES',
  'PORT',
  'SCALEBOT_DB',
  'SCALEBOT_LEASE_SECONDS',
  'LOG_LEVEL',
];

export const settingsSchema = z
  .object(variables)
  .superRefine(
    (env, context) => {
      if (!env.SLACK_BOT_TOKEN)
        problem(context, 'SLACK_BOT_TOKEN is not set: the Bot User OAuth Token (xoxb-…) from "OAuth & Permissions"', ['SLACK_BOT_TOKEN']);
      else if (!env.SLACK_BOT_TOKEN.startsWith('xoxb-')) problem(context, 'SLACK_BOT_TOKEN must be a bot token, starting with xoxb-', ['SLACK_BOT_TOKEN']);
      if (!env.SLACK_APP_TOKEN && !env.SLACK_SIGNING_SECRET) {
        problem(context, 'SLACK_SIGNING_SECRET is not set: the Signing Secret from "Basic Information" (HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)', [
          'SLACK_SIGNING_SECRET',
        ]);
      }
    },
    { when: () => true },
  )
  .transform((env) => ({
    mode: env.SLACK_APP_TOKEN ? ('socket' as const) : ('http' as const),
    botToken: env.SLACK_BOT_TOKEN!,
    signingSecret: env.SLACK_SIGNING_SECRET,
    appToken: env.SLACK_APP_TOKEN,
    /** Base URL of Slack's Web API; tests and the playground point it at a local fake. */
    slackApiUrl: env.SLACK_API_URL ? normalizeApiUrl(env.SLACK_API_URL) : null,
    /** Web API retries; null keeps Slack's client default (about 30 minutes of retries). */
    apiRetries: env.SLACK_API_RETRIES,
    host: env.HOST ?? '127.0.0.1',
    port: env.PORT,
    configFile: env.SCALEBOT_CONFIG,
    /** Where the state lives: a SQLite file (the default, ./data/scalebot.db) or a PostgreSQL database (replicas). */
    database: env.SCALEBOT_DB!,
    /** The leader's lease (services/leadership.ts), default 15 s. */
    leaseMs: (env.SCALEBOT_LEASE_SECONDS ?? 15) * 1000,
    logLevel: env.LOG_LEVEL,
    /** When set, POST /alertmanager requires `Authorization: Bearer <this>`. */
    alertmanagerToken: env.ALERTMANAGER_TOKEN,
  }))
  .readonly();

export type Settings = z.output<typeof settingsSchema>;

/** The settings an environment gives, or a SettingsError naming every problem (and never a secret's value). */
export function parseSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const result = settingsSchema.safeParse(env);
  if (result.success) return result.data;
  const rank = (issue: z.core.$ZodIssue) => PROBLEM_ORDER.indexOf(String(issue.path[0]));
  throw new SettingsError([...result.error.issues].sort((a, b) => rank(a) - rank(b)).map((issue) => issue.message));
}
