import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { scenario, startPrometheus, step, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { loadConfig } from '../../bot/config.ts';

const run = promisify(execFile);
const NOW = Math.floor(Date.now() / 1000);
const AT = new Date(NOW * 1000).toISOString();
const dir = mkdtempSync(join(tmpdir(), 'scalebot-cli-'));

/** `npx scalebot …` as a user runs it: a real process, its stdout, stderr and exit status. */
async function scalebot(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/scalebot.js', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let calm: PrometheusFixture;
let busy: PrometheusFixture;

beforeAll(async () => {
  const quiet = scenario({ now: NOW })
    .cpu('web-1:9100', 0.3)
    .memory('web-1:9100', 0.5)
    .apiP99(0.2)
    .dbConnections('db-1:9187', 0.2)
    .redisMemory('redis-1:9121', 0.3)
    .errorRate(0)
    .concurrentUsers('web-1:9100', 120)
    .dailyActiveUsers('web-1:9100', 800)
    .dbSize('db-1:9187', 3e9)
    .cacheHitRate('redis-1:9121', 0.95)
    .responseTimeTrend(1.05);
  const soon = scenario({ now: NOW })
    .cpu('web-1:9100', 0.3)
    .concurrentUsers('web-1:9100', step(NOW - 3600, 300, 720));
  [calm, busy] = await Promise.all([startPrometheus({ openMetrics: quiet.toOpenMetrics() }), startPrometheus({ openMetrics: soon.toOpenMetrics() })]);
});

afterAll(async () => {
  await Promise.all([calm?.stop(), busy?.stop()]);
});

describe('npx scalebot status', () => {
  it('prints a table and exits 0 when there is no need to scale', async () => {
    const result = await scalebot(['status', '--at', AT], { PROMETHEUS_URL: calm.url });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^NO NEED TO SCALE/);
    expect(result.stdout).toMatch(/now\s+cpu\s+instance=web-1:9100\s+30 %\s+> 70 % for 15 min\s+ok/);
    expect(result.stdout).toMatch(/soon\s+db_size\s+instance=db-1:9187\s+3 GB\s+> 20 GB\s+ok/);
  });

  it('prints the JSON report of every trigger and series and exits 2 to scale soon', async () => {
    const result = await scalebot(['status', '--json', '--at', AT], { PROMETHEUS_URL: busy.url });
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout);
    expect(report.verdict).toBe('scale_soon');
    expect(report.evaluated_at).toBe(AT.replace(/\.\d{3}Z$/, '.000Z'));
    expect(report.triggers).toHaveLength(12);
    const users = report.triggers.find((entry: { id: string }) => entry.id === 'concurrent_users');
    expect(users).toMatchObject({ name: 'Concurrent users', severity: 'soon', labels: {}, state: 'breached', value: 720, threshold: 500 });
    expect(users.held_seconds).toBeGreaterThanOrEqual(1800);
    const memory = report.triggers.find((entry: { id: string }) => entry.id === 'memory');
    expect(memory).toMatchObject({ state: 'no_data', value: null, held_seconds: 0 });
    for (const entry of report.triggers) {
      expect(Object.keys(entry)).toEqual(expect.arrayContaining(['id', 'name', 'severity', 'labels', 'state', 'value', 'threshold', 'held_seconds']));
    }
  });

  it('exits 1 with the reason on stderr when Prometheus cannot be reached', async () => {
    const result = await scalebot(['status', '--json'], { PROMETHEUS_URL: 'http://127.0.0.1:9' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nothing could be evaluated: Prometheus at http:\/\/127\.0\.0\.1:9 cannot be reached/);
    expect(JSON.parse(result.stdout).triggers.every((entry: { state: string }) => entry.state === 'no_data')).toBe(true);
  });

  it('exits 1 on a bad config or a bad --at, saying what is wrong', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'triggers:\n  - id: cpu\n    threshold: lots\n');
    const bad = await scalebot(['status', '--config', file], { PROMETHEUS_URL: calm.url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file}:3:16: triggers[0].threshold:`);
    const at = await scalebot(['status', '--at', 'yesterday'], { PROMETHEUS_URL: calm.url });
    expect(at.code).toBe(1);
    expect(at.stderr).toMatch(/--at "yesterday" is not a time/);
  });
});

describe('npx scalebot check-config', () => {
  it('accepts the defaults and a good file, naming what it read', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, 'triggers:\n  - id: cpu\n    query: my_cpu\n');
    const result = await scalebot(['check-config', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: .*good\.yaml: 13 triggers/);
    expect((await scalebot(['check-config'], { SCALEBOT_CONFIG: file })).stdout).toContain('good.yaml');
  });

  it('names file, line, path and problem for every error, and exits 1', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'prometheus:\n  timeout: forever\ntriggers:\n  - id: new_one\n    query: up\n');
    const result = await scalebot(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:2:12: prometheus.timeout: "forever" is not a duration`);
    expect(result.stderr).toMatch(new RegExp(`${file}:4:\\d+: triggers\\[0\\]: new trigger "new_one" needs name, severity, op, threshold, unit`));
  });

  it('exits 1 for a runbook that can run on a host but names no approvers, and 0 once approvers are named', async () => {
    const hosts =
      'hosts:\n  db-1: { address: 127.0.0.1, user: deploy, private_key_file: /tmp/key, ' +
      'host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl" }\n';
    const open = join(dir, 'open.yaml');
    writeFileSync(open, `${hosts}runbooks:\n  - id: mine\n    title: Mine\n    steps:\n      - { id: a, host: db-1, run: "true" }\n`);
    const refused = await scalebot(['check-config', open]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`${open}:4:\\d+: runbooks\\[0\\]: runbook "mine" can run on the configured hosts but names no approvers`));
    expect(refused.stderr).toMatch(/config\/runbooks\.yaml:\d+:\d+: runbooks\[4\]: runbook "db-failover"/);
    const named = join(dir, 'named.yaml');
    // Every built-in runbook, named with approvers: a new one in config/runbooks.yaml needs no edit here.
    const ids = loadConfig().runbooks.map((runbook) => runbook.id);
    const approvals = ids.map((id) => `  - id: ${id}\n    approval: { approvers: [U0LEAD, "@ops-leads"] }\n`).join('');
    writeFileSync(
      named,
      `${hosts}runbooks:\n${approvals}  - id: mine\n    title: Mine\n    approval: { approvers: anyone }\n` +
        '    steps:\n      - { id: a, host: db-1, run: "true" }\n',
    );
    const accepted = await scalebot(['check-config', '--no-prometheus', named]);
    expect(accepted.stderr).toBe('');
    expect(accepted.code).toBe(0);
  });
});

describe('npx scalebot rules', () => {
  it("prints every trigger as a Prometheus alerting rule that promtool accepts, named as the guide's monitoring/alerts.yml", async () => {
    const result = await scalebot(['rules']);
    expect(result.code).toBe(0);
    const rules = parse(result.stdout);
    expect(rules.groups[0].rules).toHaveLength(13);
    expect(rules.groups[0].rules[0]).toMatchObject({
      alert: 'HighCPUUsage',
      expr: '(1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))) > 0.7',
      for: '15m',
      labels: { severity: 'critical', scalebot_trigger: 'cpu' },
    });
    // The guide's five alerts under its names, so that either file can replace the other; ours keep Scalebot….
    const names = Object.fromEntries(
      rules.groups[0].rules.map((rule: { alert: string; labels: { scalebot_trigger: string } }) => [rule.labels.scalebot_trigger, rule.alert]),
    );
    expect(names).toMatchObject({
      cpu: 'HighCPUUsage',
      memory: 'HighMemoryUsage',
      db_connections: 'DatabaseConnectionsHigh',
      api_p99: 'HighAPILatency',
      concurrent_users: 'HighConcurrentUsers',
      error_rate: 'ScalebotErrorRate',
      response_time_trend: 'ScalebotResponseTimeTrend',
      replica_lag: 'ScalebotReplicaLag',
    });
    // Where a rule is ours, not the guide's, the rule says so.
    const trend = rules.groups[0].rules.find((rule: { alert: string }) => rule.alert === 'ScalebotResponseTimeTrend');
    expect(trend.annotations.summary).toContain("(our rule, not the guide's)");
    expect(trend.annotations.description).toContain('The guide says only "trending upward"');
    const file = join(dir, 'rules.yml');
    writeFileSync(file, result.stdout);
    const check = await run('promtool', ['check', 'rules', file]);
    expect(check.stdout).toContain('SUCCESS: 13 rules found');
  });
});
