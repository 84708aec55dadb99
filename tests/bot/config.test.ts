import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, SettingsError } from '../../core/config/index.ts';
import { loadConfig, loadSettings } from '../../bot/config.ts';

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'scalebot-config-')), 'scalebot.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it("defaults to the guide's twelve triggers and replica lag", () => {
    const config = loadConfig();
    expect(config.triggers.map((trigger) => trigger.id)).toEqual([
      'cpu',
      'memory',
      'api_p99',
      'db_connections',
      'redis_memory',
      'disk_iowait',
      'error_rate',
      'concurrent_users',
      'daily_active_users',
      'db_size',
      'cache_hit_rate',
      'response_time_trend',
      'replica_lag',
    ]);
    expect(config.triggers.find((trigger) => trigger.id === 'cpu')).toMatchObject({ threshold: 0.7, forSeconds: 900, op: '>' });
    expect(config.triggers.find((trigger) => trigger.id === 'cache_hit_rate')).toMatchObject({ op: '<', severity: 'soon' });
    expect(config.prometheus).toEqual({ url: 'http://127.0.0.1:9090', timeoutMs: 5000, lookbackSeconds: 1800, maxAge: 'auto' });
  });

  it("overrides one default trigger's query by id, keeps the rest, adds new ones and drops disabled ones", () => {
    const file = writeConfig(`
prometheus: { url: "http://10.0.0.5:9090", timeout: 2s }
grafana: { dashboard_url: "https://grafana.example.com/d/abc/scaling" }
triggers:
  - id: cpu
    query: my_cpu_busy_ratio
  - id: db_size
    enabled: false
  - id: queue_depth
    name: Job queue depth
    severity: soon
    query: sum(jobs_waiting)
    op: ">="
    threshold: 1000
    for: 10m
    unit: count
`);
    const config = loadConfig({ file });
    const cpu = config.triggers.find((trigger) => trigger.id === 'cpu');
    expect(cpu).toMatchObject({ query: 'my_cpu_busy_ratio', threshold: 0.7, forSeconds: 900, name: 'CPU usage' });
    expect(config.triggers.some((trigger) => trigger.id === 'db_size')).toBe(false);
    expect(config.triggers.at(-1)).toMatchObject({ id: 'queue_depth', op: '>=', forSeconds: 600 });
    expect(config.prometheus).toEqual({ url: 'http://10.0.0.5:9090', timeoutMs: 2000, lookbackSeconds: 1800, maxAge: 'auto' });
    expect(config.grafana.dashboardUrl).toBe('https://grafana.example.com/d/abc/scaling');
    expect(Object.isFrozen(config.triggers)).toBe(true);
  });

  it('lets PROMETHEUS_URL win over the file', () => {
    const config = loadConfig({ env: { PROMETHEUS_URL: 'http://127.0.0.1:19090' } });
    expect(config.prometheus.url).toBe('http://127.0.0.1:19090');
  });

  it('names file, line, path and problem for every error at once', () => {
    const file = writeConfig(`prometheus:
  url: not a url
  timeout: soon
triggers:
  - id: cpu
    threshold: high
  - id: brand_new
    query: up
  - id: memory
    op: "=>"
colour: blue
`);
    const problems = problemsOf(() => loadConfig({ file }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${file}:2:\\d+: prometheus\\.url: `)),
        expect.stringMatching(new RegExp(`^${file}:3:\\d+: prometheus\\.timeout: "soon" is not a duration`)),
        expect.stringMatching(new RegExp(`^${file}:6:\\d+: triggers\\[0\\]\\.threshold: .*number`)),
        expect.stringMatching(new RegExp(`^${file}:10:\\d+: triggers\\[2\\]\\.op: `)),
        expect.stringMatching(/colour/),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(5);
  });

  it('says what a new trigger lacks', () => {
    const file = writeConfig('triggers:\n  - id: brand_new\n    query: up\n');
    expect(problemsOf(() => loadConfig({ file }))).toEqual([
      expect.stringMatching(/:2:\d+: triggers\[0\]: new trigger "brand_new" needs name, severity, op, threshold, unit/),
    ]);
  });

  it('reports broken YAML with its position, and a missing file with what to do', () => {
    const broken = writeConfig('triggers:\n  - id: cpu\n   query: [unclosed\n');
    expect(problemsOf(() => loadConfig({ file: broken }))[0]).toMatch(new RegExp(`^${broken}:\\d+:\\d+: not valid YAML`));
    expect(problemsOf(() => loadConfig({ file: '/nonexistent/scalebot.yaml' }))[0]).toMatch(/no such file.*--config or SCALEBOT_CONFIG/);
  });

  it('refuses a trigger listed twice and an id with spaces', () => {
    const twice = writeConfig('triggers:\n  - { id: cpu, threshold: 0.8 }\n  - { id: cpu, threshold: 0.9 }\n');
    expect(problemsOf(() => loadConfig({ file: twice }))).toEqual([expect.stringMatching(/:3:\d+: triggers\[1\]\.id: trigger "cpu" is listed twice/)]);
    const spaced = writeConfig('triggers:\n  - { id: "my trigger", threshold: 1 }\n');
    expect(problemsOf(() => loadConfig({ file: spaced }))).toEqual([expect.stringMatching(/triggers\[0\]\.id: an id is lower-case/)]);
  });
});

describe('slack.alerts_channel', () => {
  it('takes a channel id, and refuses a name or a user with where to find the id', () => {
    expect(loadConfig({ file: writeConfig('slack:\n  alerts_channel: C0123ABCD\n') }).slack.alertsChannel).toBe('C0123ABCD');
    for (const value of ['"#ops"', 'ops', 'U0123ABCD', 'D0123ABCD']) {
      const file = writeConfig(`slack:\n  alerts_channel: ${value}\n`);
      expect(() => loadConfig({ file }), value).toThrow(/slack\.alerts_channel: the channel id \(C…\), not its name or a user.*Channel ID/);
    }
  });
});

describe('loadSettings', () => {
  it('chooses Socket Mode when an app token is set, HTTP mode otherwise', () => {
    expect(loadSettings({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }).mode).toBe('socket');
    const http = loadSettings({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's', SLACK_API_URL: 'http://127.0.0.1:9/api' });
    expect(http).toMatchObject({
      mode: 'http',
      port: 3000,
      host: '127.0.0.1',
      slackApiUrl: 'http://127.0.0.1:9/api/',
      database: { kind: 'sqlite', file: './data/scalebot.db' },
    });
  });

  it('names every missing variable and how to create the app', () => {
    let error: unknown;
    try {
      loadSettings({ PORT: 'eighty', SLACK_API_RETRIES: '' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as Error).message;
    expect(message).toMatch(/SLACK_BOT_TOKEN is not set/);
    expect(message).toMatch(/SLACK_SIGNING_SECRET is not set/);
    expect(message).toMatch(/PORT: "eighty"/);
    expect(message).toMatch(/manifest\.yml/);
  });

  it('refuses tokens of the wrong kind without echoing them', () => {
    expect(() => loadSettings({ SLACK_BOT_TOKEN: 'xoxp-user-secret', SLACK_APP_TOKEN: 'xoxb-wrong' })).toThrow(/xoxb-.*xapp-/s);
    let error: unknown;
    try {
      loadSettings({ SLACK_BOT_TOKEN: 'xoxp-user-secret' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as Error).message).toMatch(/xoxb-/);
    expect((error as Error).message).not.toContain('user-secret');
  });
});
