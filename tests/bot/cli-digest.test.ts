import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../db/client.ts';
import { createSqliteStorage } from '../../db/storage.ts';
import { scenario, startPrometheus, unusedLoopbackUrl, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { WITHOUT_DEFAULT_TRIGGERS } from '../helpers/watch-config.ts';

// `npx scalebot digest [--since 7d] [--json]`: the weekly digest printed without Slack, through the real entry point
// (bin/scalebot.js) on a real Prometheus and a SQLite file. Each run pays tsx and the bot's imports (2-3 s of CPU).

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NOW = Math.floor(Date.now() / 1000);
let dir: string;
let databaseFile: string;
let configFile: string;
let prometheus: PrometheusFixture;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function scalebot(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/scalebot.js', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const envFor = (prometheusUrl: string) => ({ SCALEBOT_DB: databaseFile, SCALEBOT_CONFIG: configFile, PROMETHEUS_URL: prometheusUrl });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scalebot-cli-digest-'));
  databaseFile = join(dir, 'scalebot.db');
  configFile = join(dir, 'scalebot.yaml');
  writeFileSync(
    configFile,
    `digest:
  schedule: "Mon 09:00"
  timezone: Europe/Berlin
triggers:
${WITHOUT_DEFAULT_TRIGGERS}
  - { id: load, name: Load, severity: immediate, query: "max by (instance) (test_load)", op: ">", threshold: 0.7, for: 5m, unit: percent }
  - { id: users, name: Users online, severity: soon, query: "sum(test_users)", op: ">", threshold: 500, unit: count }
`,
  );
  const s = scenario({ now: NOW })
    .gauge('test_load', { instance: 'web-1' }, (t) => (t > NOW - 3 * 3600 && t < NOW - 2 * 3600 ? 0.92 : 0.3))
    .gauge('test_users', {}, 120);
  prometheus = await startPrometheus({ openMetrics: s.toOpenMetrics() });
  const storage = createSqliteStorage(openDatabase(databaseFile));
  const at = (hoursAgo: number) => new Date((NOW - hoursAgo * 3600) * 1000);
  try {
    const rows = [
      { at: at(5), kind: 'run_requested', actor: 'U0REQ', channel: 'C0OPS', subject: 'add-read-replica', outcome: 'pending_approval', detail: { run_id: 1 } },
      { at: at(4), kind: 'run_failed', actor: 'scalebot', channel: 'C0OPS', subject: 'add-read-replica', outcome: 'failed', detail: { run_id: 1 } },
      { at: at(3), kind: 'advice', actor: 'U0OPS', channel: 'C0OPS', subject: 'horizontal', outcome: 'horizontal', detail: {} },
      { at: at(2), kind: 'breach_acknowledged', actor: 'U0OPS', channel: 'C0OPS', subject: 'load', outcome: 'acknowledged', detail: { breach_id: 1 } },
      { at: at(24 * 9), kind: 'advice', actor: 'U0OPS', channel: 'C0OPS', subject: 'vertical', outcome: 'vertical', detail: {} },
    ];
    for (const row of rows) await storage.decisions.append(row);
    await storage.breaches.open(
      {
        key: 'load|instance=web-1',
        source: 'watcher',
        triggerId: 'load',
        name: 'Load',
        severity: 'immediate',
        labels: { instance: 'web-1' },
        openedAt: at(3),
        breachedSince: at(3),
        lastValue: '0.92',
        lastSeenAt: at(2),
        detail: {},
      },
      () => ({}),
    );
  } finally {
    await storage.close();
  }
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('scalebot digest', () => {
  it('--json prints the week: peaks against thresholds, open breaches, decisions and costs', async () => {
    const run = await scalebot(['digest', '--json'], envFor(prometheus.url));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const json = JSON.parse(run.stdout);
    expect(Object.keys(json)).toEqual([
      'since',
      'until',
      'generated_at',
      'late',
      'timezone',
      'peaks',
      'forecast_horizon_seconds',
      'forecasts',
      'open_breaches',
      'decisions',
      'costs',
    ]);
    expect(Date.parse(json.until) - Date.parse(json.since)).toBe(7 * 86_400_000);
    expect(json).toMatchObject({ late: false, timezone: 'Europe/Berlin', forecasts: [] });
    expect(json.peaks).toEqual([
      expect.objectContaining({
        id: 'load',
        state: 'over',
        threshold: 0.7,
        op: '>',
        unit: 'percent',
        peak: expect.objectContaining({ value: 0.92, labels: { instance: 'web-1' } }),
      }),
      expect.objectContaining({ id: 'users', state: 'under', peak: expect.objectContaining({ value: 120 }) }),
    ]);
    expect(json.open_breaches).toEqual([expect.objectContaining({ trigger: 'load', labels: { instance: 'web-1' }, open_seconds: expect.any(Number) })]);
    expect(json.open_breaches[0].open_seconds).toBeGreaterThanOrEqual(3 * 3600);
    // The advice of nine days ago is outside the week; the run's last word in the week was "failed".
    expect(json.decisions).toMatchObject({
      runs_requested: 1,
      runs: [{ run_id: 1, runbook: 'add-read-replica', outcome: 'failed' }],
      advice: [{ subject: 'horizontal' }],
      acknowledgements: [{ actor: 'U0OPS', subject: 'load' }],
      checklists_completed: [],
    });
    expect(json.costs).toMatchObject({ current: 'CPX41 (one server)', total_monthly: 225, next_step: 'horizontal', next_step_reason: 'advice' });
  }, 60_000);

  it('prints text by default, and --since picks the window', async () => {
    const run = await scalebot(['digest', '--since', '1h'], envFor(prometheus.url));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Weekly capacity digest');
    // The load's peak was two to three hours ago: over the last hour it is under.
    expect(run.stdout).toMatch(/ok {3}Load: peak 30 % against > 70 %, under/);
    expect(run.stdout).toContain('Open breaches (1)');
    expect(run.stdout).toContain('Now: CPX41 (one server) $35/month + $190 APIs = $225/month');
  }, 60_000);

  it('says what to write for a bad --since, and fails when Prometheus answers nothing', async () => {
    const [bad, down] = await Promise.all([
      scalebot(['digest', '--since', 'a week'], envFor(prometheus.url)),
      scalebot(['digest', '--json'], envFor(await unusedLoopbackUrl())),
    ]);
    expect(bad).toMatchObject({ code: 1, stdout: '' });
    expect(bad.stderr).toBe('--since "a week" is not a duration: write it like 7d, 36h or 2w\n');
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('scalebot: Prometheus answered no query:');
    expect(JSON.parse(down.stdout).failure).toBeTruthy();
  }, 60_000);
});
