// The environment settings' own schema: pure parsing of an env record, every problem named at once, in the
// order a person sets the app up, and no secret ever echoed.
import { describe, expect, it } from 'vitest';
import { parseSettings, SettingsError } from '../../../core/config/settings.ts';

function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    parseSettings(env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('expected a SettingsError');
}

describe('parseSettings', () => {
  it('fills what the environment leaves unset, trims values and treats an empty one as unset', () => {
    expect(parseSettings({ SLACK_BOT_TOKEN: ' xoxb-1 ', SLACK_SIGNING_SECRET: 's', PORT: '', LOG_LEVEL: '  ', SCALEBOT_CONFIG: '' })).toEqual({
      mode: 'http',
      botToken: 'xoxb-1',
      signingSecret: 's',
      appToken: null,
      slackApiUrl: null,
      apiRetries: null,
      host: '127.0.0.1',
      port: 3000,
      configFile: null,
      database: { kind: 'sqlite', file: './data/scalebot.db' },
      leaseMs: 15_000,
      logLevel: 'info',
      alertmanagerToken: null,
    });
  });

  it('reads every variable it knows, ignores the others, and returns a frozen record', () => {
    const settings = parseSettings({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1',
      SLACK_API_URL: 'http://127.0.0.1:9/api',
      SLACK_API_RETRIES: '0',
      HOST: '0.0.0.0',
      PORT: '0',
      SCALEBOT_CONFIG: '/etc/scalebot.yaml',
      SCALEBOT_DB: '/var/lib/scalebot.db',
      SCALEBOT_LEASE_SECONDS: '30',
      LOG_LEVEL: 'silent',
      ALERTMANAGER_TOKEN: 'am',
      HOME: '/root',
    });
    expect(settings).toEqual({
      mode: 'socket',
      botToken: 'xoxb-1',
      signingSecret: null,
      appToken: 'xapp-1',
      slackApiUrl: 'http://127.0.0.1:9/api/',
      apiRetries: 0,
      host: '0.0.0.0',
      port: 0,
      configFile: '/etc/scalebot.yaml',
      database: { kind: 'sqlite', file: '/var/lib/scalebot.db' },
      leaseMs: 30_000,
      logLevel: 'silent',
      alertmanagerToken: 'am',
    });
    expect(Object.isFrozen(settings)).toBe(true);
  });

  it('names every problem at once, in setup order, whatever order the schema finds them in', () => {
    expect(problemsOf({ SLACK_APP_TOKEN: 'xoxb-wrong', SLACK_API_URL: 'nope', SLACK_API_RETRIES: '1.5', PORT: '65536', LOG_LEVEL: 'loud' })).toEqual([
      'SLACK_BOT_TOKEN is not set: the Bot User OAuth Token (xoxb-…) from "OAuth & Permissions"',
      'SLACK_APP_TOKEN must be an app-level token with connections:write, starting with xapp-',
      'SLACK_API_URL: "nope" is not a URL',
      'SLACK_API_RETRIES: "1.5" is not a whole number of retries',
      'PORT: "65536" is not a port number',
      'LOG_LEVEL: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
    ]);
    expect(problemsOf({ PORT: '-1', SLACK_API_RETRIES: '-1' })).toEqual([
      'SLACK_BOT_TOKEN is not set: the Bot User OAuth Token (xoxb-…) from "OAuth & Permissions"',
      'SLACK_SIGNING_SECRET is not set: the Signing Secret from "Basic Information" (HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)',
      'SLACK_API_RETRIES: "-1" is not a whole number of retries',
      'PORT: "-1" is not a port number',
    ]);
  });

  it('reads SCALEBOT_DB as a SQLite path or a PostgreSQL URL, and refuses anything else with what to write, among the other problems', () => {
    const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
    expect(parseSettings({ ...base, SCALEBOT_DB: 'postgres://bot:pw@db.internal:5432/scalebot' }).database).toEqual({
      kind: 'postgres',
      url: 'postgres://bot:pw@db.internal:5432/scalebot',
    });
    expect(parseSettings({ ...base, SCALEBOT_DB: ' ./state/bot.db ' }).database).toEqual({ kind: 'sqlite', file: './state/bot.db' });
    expect(problemsOf({ ...base, SCALEBOT_DB: 'mysql://bot:hunter2@db/scalebot', PORT: 'x' })).toEqual([
      'PORT: "x" is not a port number',
      expect.stringMatching(/^SCALEBOT_DB: "mysql:" is not a database scalebot can use; write a SQLite file's path .* or a PostgreSQL URL/),
    ]);
    // The password of a URL it cannot read is not repeated back.
    expect(problemsOf({ ...base, SCALEBOT_DB: 'postgres://bot:hunter2@[::1' }).join('\n')).not.toMatch(/hunter2/);
  });

  it('takes the lease in whole seconds from 3 to 300', () => {
    const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' };
    expect(parseSettings({ ...base, SCALEBOT_LEASE_SECONDS: '3' }).leaseMs).toBe(3000);
    expect(parseSettings({ ...base, SCALEBOT_LEASE_SECONDS: '300' }).leaseMs).toBe(300_000);
    for (const value of ['2', '301', '1.5', 'soon']) {
      expect(problemsOf({ ...base, SCALEBOT_LEASE_SECONDS: value })).toEqual([
        `SCALEBOT_LEASE_SECONDS: "${value}" is not a whole number of seconds from 3 to 300`,
      ]);
    }
  });

  it('asks for the signing secret in HTTP mode only, and never echoes a token', () => {
    expect(problemsOf({ SLACK_BOT_TOKEN: 'xoxb-1' })).toEqual([expect.stringMatching(/^SLACK_SIGNING_SECRET is not set/)]);
    expect(parseSettings({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).mode).toBe('socket');
    const problems = problemsOf({ SLACK_BOT_TOKEN: 'xoxp-user-secret', SLACK_APP_TOKEN: 'xoxb-app-secret' });
    expect(problems).toEqual([
      'SLACK_BOT_TOKEN must be a bot token, starting with xoxb-',
      'SLACK_APP_TOKEN must be an app-level token with connections:write, starting with xapp-',
    ]);
    expect(problems.join('\n')).not.toMatch(/secret/);
  });

  it('says how to create the app', () => {
    expect(() => parseSettings({})).toThrow(/manifest\.yml[\s\S]*npm run playground/);
  });
});
