import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../bot/cli.ts';
import { ConfigError } from '../../../core/config/index.ts';
import { loadConfig } from '../../../bot/config.ts';
import { planFor, priceRecommendation, resolveCurrent } from '../../../core/capacity.ts';

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'scalebot-advisor-config-')), 'scalebot.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(file: string): readonly string[] {
  try {
    loadConfig({ file });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const CUSTOM = `
pricing:
  - { name: small, ram_gb: 4, vcpu: 2, storage_gb: 80, monthly: 12, capacity: { min: 0, max: 300 } }
  - { name: medium, ram_gb: 8, vcpu: 4, storage_gb: 160, monthly: 24, capacity: { min: 300, max: 900 } }
  - { name: large, ram_gb: 16, vcpu: 8, storage_gb: 320, monthly: 48, capacity: { min: 900, max: 2500 } }
stages:
  - name: One box
    servers: [{ role: everything, tier: medium }]
    capacity: { min: 0, max: 900 }
  - name: Own database
    adds: [separate_database]
    servers:
      - { role: app, tier: medium }
      - { role: database, size: managed Postgres, monthly: 60 }
    capacity: { min: 900, max: 4000 }
  - name: Two app servers
    adds: [load_balancer]
    load_balancer: { name: LB, monthly: 10 }
    servers:
      - { role: app, tier: large, count: 2 }
      - { role: database, size: managed Postgres, monthly: 60 }
    capacity: { min: 4000, max: null }
api_costs: { monthly: 40 }
current: { tier: medium }
projection:
  - { months: 6, users: 800 }
  - { months: 6, users: 5000 }
advisor:
  vertical_until_users: 2000
  dau_per_concurrent_user: 10
`;

describe('the advisor tables in a config file', () => {
  it('a custom pricing table replaces the guide’s whole, and plan, price and current use it', () => {
    const { capacity, advisor } = loadConfig({ file: writeConfig(CUSTOM) });
    expect(capacity.tiers.map((tier) => tier.name)).toEqual(['small', 'medium', 'large']);
    expect(capacity.stages.map((stage) => [stage.number, stage.monthly])).toEqual([
      [1, 24],
      [2, 84],
      [3, 166],
    ]);
    expect(resolveCurrent(capacity)).toMatchObject({ label: 'medium (one server)', monthly: 24 });
    expect(priceRecommendation('vertical', capacity)).toMatchObject({ kind: 'tier', delta: 24, newTotalWithApis: 88 });
    expect(priceRecommendation('horizontal', capacity)).toMatchObject({ kind: 'stage', stage: { number: 3 }, delta: 142 });
    const plan = planFor({ users: 2500 }, capacity, advisor.plan);
    expect(plan).toMatchObject({
      recommended: 'horizontal',
      vertical: { fit: { name: 'large' }, totalWithApis: 88 },
      horizontal: { fit: { number: 2 }, totalWithApis: 124 },
    });
    expect(planFor({ dau: 3000 }, capacity, advisor.plan)).toMatchObject({ users: 300, vertical: { fit: { name: 'small' } } });
    // Settings the file did not touch keep their defaults.
    expect(advisor.memory).toEqual({ globalTraffic: 90 * 86400, optimized: 30 * 86400, metricQuestions: 3600 });
    expect(advisor.start).toMatchObject({ vertical: 'checklist:before', optimize_first: 'checklist:optimize' });
  });

  it('the advisor’s triggers follow the config: 80 % over the triggers’ own `for`, overrides, switched-off database triggers, slow queries', () => {
    const defaults = loadConfig().advisor.evidence;
    expect(defaults.cpuMemory.map((t) => [t.id, t.threshold, t.forSeconds])).toEqual([
      ['advisor_cpu', 0.8, 900],
      ['advisor_memory', 0.8, 600],
    ]);
    expect(defaults.database.map((t) => t.id)).toEqual(['db_connections', 'disk_iowait']);
    expect(defaults.immediate).toHaveLength(7);
    expect(defaults.latencyTriggerId).toBe('api_p99');

    const file = writeConfig(`
triggers:
  - { id: db_connections, enabled: false }
advisor:
  cpu_memory_threshold: 0.9
  cpu_query: my_cpu_busy
  cpu_memory_for: 20m
  slow_queries: { query: 'max(pg_stat_activity_max_tx_duration{state="active"})', threshold: 5, for: 5m }
  start: { horizontal: "runbook:add-app-server", dont_scale: null }
`);
    const { evidence, start, cpuMemoryThreshold } = loadConfig({ file }).advisor;
    expect(cpuMemoryThreshold).toBe(0.9);
    expect(evidence.cpuMemory.map((t) => [t.query, t.threshold, t.forSeconds])).toEqual([
      ['my_cpu_busy', 0.9, 1200],
      ['1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes', 0.9, 1200],
    ]);
    expect(evidence.database.map((t) => [t.id, t.threshold, t.forSeconds, t.unit])).toEqual([
      ['disk_iowait', 0.2, 0, 'percent'],
      ['advisor_slow_queries', 5, 300, 'seconds'],
    ]);
    expect(start.horizontal).toBe('runbook:add-app-server');
  });
});

describe('check-config names file:line for the advisor tables', () => {
  it('capacity max below min, unsorted tiers, a tier listed twice, a null max that is not last', () => {
    const file = writeConfig(`pricing:
  - { name: a, ram_gb: 4, vcpu: 2, storage_gb: 80, monthly: 10, capacity: { min: 500, max: 100 } }
  - { name: b, ram_gb: 8, vcpu: 4, storage_gb: 80, monthly: 20, capacity: { min: 0, max: 50 } }
  - { name: b, ram_gb: 8, vcpu: 4, storage_gb: 80, monthly: 20, capacity: { min: 600, max: null } }
  - { name: d, ram_gb: 8, vcpu: 4, storage_gb: 80, monthly: 20, capacity: { min: 900, max: 1000 } }
`);
    const problems = problemsOf(file);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${file}:2:\\d+: pricing\\[0\\]\\.capacity\\.max: capacity max \\(100\\) is below its min \\(500\\)`)),
        expect.stringMatching(new RegExp(`^${file}:3:\\d+: pricing\\[1\\]\\.capacity: tiers must be sorted smallest first`)),
        expect.stringMatching(new RegExp(`^${file}:4:\\d+: pricing\\[2\\]\\.name: tier "b" is listed twice`)),
        expect.stringMatching(new RegExp(`^${file}:4:\\d+: pricing\\[2\\]\\.capacity\\.max: only the last tier may have no capacity max`)),
      ]),
    );
  });

  it('a current that names an unknown tier, or two things, or a stage past the table', () => {
    expect(problemsOf(writeConfig('current:\n  tier: CPX99\n'))).toEqual([
      expect.stringMatching(/:2:\d+: current\.tier: current names tier "CPX99", which is not in the pricing table \(CPX41, CPX51, CPX61, CCX63\)/),
    ]);
    expect(problemsOf(writeConfig('current: { tier: CPX41, stage: 2 }\n'))).toEqual([expect.stringMatching(/:1:\d+: current: current names one thing/)]);
    expect(problemsOf(writeConfig('current: { stage: 9 }\n'))).toEqual([
      expect.stringMatching(/:1:\d+: current\.stage: current names stage 9, but the stages table has 5/),
    ]);
  });

  it('a new pricing table that drops tiers the default stages and current use: reported in the file that dropped them', () => {
    const file = writeConfig(`pricing:
  - { name: only, ram_gb: 4, vcpu: 2, storage_gb: 80, monthly: 10, capacity: { min: 0, max: null } }
`);
    const problems = problemsOf(file);
    expect(problems[0]).toMatch(
      new RegExp(
        `^${file}:2:\\d+: pricing: stage "Single server" names tier "CPX41", which is not in the pricing table \\(only\\) \\(set in .*config/advisor\\.yaml\\)`,
      ),
    );
    expect(problems.at(-1)).toMatch(new RegExp(`^${file}:2:\\d+: pricing: current names tier "CPX41"`));
  });

  it('stage servers: an unknown tier, a server with neither tier nor price, a total below its parts, an unknown feature', () => {
    const file = writeConfig(`stages:
  - name: One
    servers:
      - { role: everything, tier: CPX99 }
    capacity: { min: 0, max: 1000 }
  - name: Two
    adds: [sharding]
    servers:
      - { role: app }
    capacity: { min: 1000, max: null }
current: { stage: 1 }
`);
    expect(problemsOf(file)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${file}:7:\\d+: stages\\[1\\]\\.adds\\[0\\]: `)),
        expect.stringMatching(new RegExp(`^${file}:9:\\d+: stages\\[1\\]\\.servers\\[0\\]: a server names its \`tier\``)),
      ]),
    );
    const unknownTier = writeConfig(`stages:
  - name: One
    servers:
      - { role: everything, tier: CPX99 }
    monthly: 1
    capacity: { min: 0, max: 1000 }
  - name: Two
    servers:
      - { role: app, tier: CPX41, count: 2 }
    monthly: 20
    capacity: { min: 1000, max: null }
`);
    expect(problemsOf(unknownTier)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${unknownTier}:4:\\d+: stages\\[0\\]\\.servers\\[0\\]\\.tier: stage "One" names tier "CPX99"`)),
        expect.stringMatching(
          new RegExp(`^${unknownTier}:10:\\d+: stages\\[1\\]\\.monthly: stage "Two" costs 20 a month, less than its servers and load balancer \\(70\\)`),
        ),
      ]),
    );
  });

  it('advisor settings: an unknown database trigger, a malformed start target, a threshold written as a percent', () => {
    const file = writeConfig(`advisor:
  database_triggers: [db_connections, slow_querys]
  start: { vertical: "checklist before" }
  cpu_memory_threshold: 80
`);
    const problems = problemsOf(file);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${file}:3:\\d+: advisor\\.start\\.vertical: a start target is "checklist:<id>" or "runbook:<id>"`)),
        expect.stringMatching(new RegExp(`^${file}:4:\\d+: advisor\\.cpu_memory_threshold: a percentage is a fraction`)),
      ]),
    );
    const unknownTrigger = writeConfig('advisor:\n  database_triggers: [db_connections, slow_querys]\n');
    expect(problemsOf(unknownTrigger)).toEqual([
      expect.stringMatching(new RegExp(`^${unknownTrigger}:2:\\d+: advisor\\.database_triggers\\[1\\]: no trigger "slow_querys" is configured`)),
    ]);
  });

  it('horizontal rows: a stage that is not there or is multi-region, servers beside `stage:`, a row without servers, an unknown tier', () => {
    const file = writeConfig(`horizontal:
  - { name: A, stage: 9, guide: { total_with_apis: 1, why: x } }
  - { name: B, stage: 5, guide: { total_with_apis: 1, why: x } }
  - { name: C, stage: 3, servers: [{ role: app, tier: CPX41 }], guide: { total_with_apis: 1, why: x } }
  - { name: D, capacity: { min: 10000, max: 20000 } }
`);
    expect(problemsOf(file)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${file}:4:\\d+: horizontal\\[2\\]\\.servers: a row with \`stage: 3\` has that stage's servers`)),
        expect.stringMatching(new RegExp(`^${file}:5:\\d+: horizontal\\[3\\]\\.servers: a row names its servers, or the \`stage:\``)),
      ]),
    );
    const references = writeConfig(`horizontal:
  - { name: A, stage: 9, guide: { total_with_apis: 1, why: x } }
  - { name: B, stage: 5, guide: { total_with_apis: 1, why: x } }
  - { name: E, servers: [{ role: app, tier: CPX99 }], capacity: { min: 10000, max: 20000 } }
`);
    expect(problemsOf(references)).toEqual([
      expect.stringMatching(/:2:\d+: horizontal\[0\]\.stage: horizontal row "A" names stage 9, but the stages table has 5/),
      expect.stringMatching(/:3:\d+: horizontal\[1\]\.stage: horizontal row "B" names stage 5, a multi-region stage/),
      expect.stringMatching(/:4:\d+: horizontal\[2\]\.servers\[0\]\.tier: horizontal row "E" names tier "CPX99"/),
    ]);
  });

  it('a file with its own stages and no horizontal rows has none; global_traffic and aws_comparison are settings like any', () => {
    const { capacity, advisor } = loadConfig({ file: writeConfig(CUSTOM) });
    expect(capacity.horizontal).toEqual([]);
    expect(capacity.stages.flatMap((stage) => stage.guide)).toEqual([]);
    const guide = loadConfig({ file: writeConfig('advisor: { global_traffic: true }\naws_comparison: { year_one: null }\n') });
    expect(guide.advisor).toMatchObject({ globalTraffic: true, awsYearOne: null });
    expect(guide.capacity.horizontal.map((row) => row.name)).toEqual(['4× App (32GB) + 2× DB (64GB) + LB']);
    expect(advisor.globalTraffic).toBeNull();
    expect(problemsOf(writeConfig('advisor: { global_traffic: yes-ish }\n'))).toEqual([expect.stringMatching(/advisor\.global_traffic/)]);
  });

  it('scalebot check-config reports them and counts the tables when all is well', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text), env: {} };
    expect(await runCli(['check-config', writeConfig(CUSTOM)], io)).toBe(0);
    expect(out.join('')).toMatch(/13 triggers, 8 checklists, 3 server tiers, 3 stages/);
    expect(await runCli(['check-config', writeConfig('current:\n  tier: CPX99\n')], io)).toBe(1);
    expect(err.join('')).toMatch(/:2:\d+: current\.tier: current names tier "CPX99"/);
  });
});
