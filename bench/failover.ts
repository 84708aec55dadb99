// The failover time of issue 15, measured over many runs (never asserted by a timed test):
//
//   node --import tsx bench/failover.ts                   20 runs with 2 replicas, 10 with 3, written to bench/RESULTS.md
//   node --import tsx bench/failover.ts --runs 5 --quick   fewer runs, printed only
//   node --import tsx bench/failover.ts --out FILE         the section written elsewhere
//
// One run: kill -9 the leader; at once a follower is asked for a checklist (a message queued while nobody
// leads); then two times, from the kill: until another replica answers role leader on /health/ready, and
// until the queued message is in Slack. The killed replica is started again and the next run waits until it
// follows. Every process is real (the bot as `node bin/scalebot.js serve`, PostgreSQL, Prometheus) and on
// 127.0.0.1; the harness is the failover tests' (tests/helpers/replicas.ts).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { outboxKeyOf, until } from '../tests/helpers/crash/index.ts';
import { CHANNEL, REQUESTER, command, startScenario, startWorld, type Scenario } from '../tests/ha/world.ts';
import { REPO_ROOT } from './processes.ts';
import { median, percentile } from './stats.ts';

const args = process.argv.slice(2);
const option = (name: string) => {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
};
const quick = args.includes('--quick');
const runsOption = option('--runs');
const outFile = option('--out') ?? (quick ? null : join(REPO_ROOT, 'bench', 'RESULTS.md'));
const PLAN: Array<{ replicas: number; runs: number }> = quick
  ? [{ replicas: 2, runs: Number(runsOption ?? 3) }]
  : [
      { replicas: 2, runs: Number(runsOption ?? 20) },
      { replicas: 3, runs: Math.ceil(Number(runsOption ?? 20) / 2) },
    ];
/** What the tests' config sets (tests/ha/world.ts): SCALEBOT_LEASE_SECONDS=3 and `watch.interval: 1s`. */
const LEASE_MS = 3000;
const WATCH_INTERVAL_MS = 1000;
const BOUND_MS = LEASE_MS + WATCH_INTERVAL_MS;

const began = Date.now();
const log = (message: string) => process.stderr.write(`[failover ${((Date.now() - began) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);

interface Run {
  leaderMs: number;
  postedMs: number;
}

async function oneRun(scenario: Scenario, checklistNumber: number): Promise<Run> {
  const { set } = scenario;
  const victim = await set.leader();
  const follower = (victim + 1) % set.replicas.length;
  const killedAt = performance.now();
  const killed = set.kill9(victim);
  // Queued while nobody leads: a follower writes the run and its outbox row; only a leader posts it.
  const asked = command(scenario, follower, 'checklist ha-list', REQUESTER);
  const key = `checklist:${checklistNumber}`;
  const leaderMs = await until(
    'another replica to lead',
    async () => {
      const roles = await Promise.all(set.replicas.map((_, i) => (i === victim ? undefined : set.role(i))));
      return roles.includes('leader') ? performance.now() - killedAt : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 10, detail: set.logs },
  );
  const postedMs = await until(
    `${key} in Slack`,
    () => (set.fake.messages(CHANNEL).some((message) => outboxKeyOf(message) === key) ? performance.now() - killedAt : undefined),
    { timeoutMs: 60_000, intervalMs: 10, detail: set.logs },
  );
  await Promise.all([killed, asked]);
  await set.restart(victim);
  await until('the restarted replica to follow', async () => (await set.role(victim)) === 'follower', { timeoutMs: 60_000, detail: set.logs });
  return { leaderMs, postedMs };
}

const ms = (value: number) => `${Math.round(value)} ms`;

async function main() {
  const loadBefore = loadavg();
  log('starting PostgreSQL, Prometheus and sshd');
  const world = await startWorld();
  const rows: string[] = [];
  try {
    for (const { replicas, runs } of PLAN) {
      log(`${replicas} replicas: starting`);
      const scenario = await startScenario(world, replicas);
      try {
        const results: Run[] = [];
        for (let i = 1; i <= runs; i++) {
          const result = await oneRun(scenario, i);
          results.push(result);
          log(`${replicas} replicas, run ${i}/${runs}: a new leader after ${ms(result.leaderMs)}, the queued message posted after ${ms(result.postedMs)}`);
        }
        const leaders = results.map((run) => run.leaderMs);
        const posts = results.map((run) => run.postedMs);
        const within = posts.filter((value) => value <= BOUND_MS).length;
        const cells = [
          replicas,
          runs,
          ms(median(leaders)),
          ms(percentile(leaders, 90)),
          ms(Math.max(...leaders)),
          ms(median(posts)),
          ms(percentile(posts, 90)),
          ms(Math.max(...posts)),
          ms(BOUND_MS),
          `${within} of ${runs}`,
        ];
        rows.push(`| ${cells.join(' | ')} |`);
      } finally {
        await scenario.stop();
      }
    }
  } finally {
    await world.stop();
  }
  const loadAfter = loadavg();
  const section = [
    '<!-- failover:begin (written by bench/failover.ts) -->',
    '## Failover: kill -9 the leader, until another replica leads and a queued message is posted',
    '',
    `Written by \`bench/failover.ts\` on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; ${cpus().length} CPUs, ` +
      `load average before / after ${loadBefore.map((v) => v.toFixed(2)).join(', ')} / ${loadAfter.map((v) => v.toFixed(2)).join(', ')}.`,
    '',
    `Real bot processes (\`node bin/scalebot.js serve\`) on one PostgreSQL database, lease ${LEASE_MS / 1000} s ` +
      `(renewed every lease / 5), \`watch.interval\` ${WATCH_INTERVAL_MS / 1000} s. Each run kills the leader with SIGKILL and at once ` +
      'asks a follower for a checklist (its message is queued while nobody leads), then times, from the kill: until another replica ' +
      'answers `"role": "leader"` on `/health/ready`, and until the queued message is in Slack. ' +
      `The bound is lease + one watch interval (${ms(BOUND_MS)}). The killed replica is restarted and follows before the next run.`,
    '',
    '| replicas | runs | new leader, median | p90 | worst | message posted, median | p90 | worst | bound | posted within the bound |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '<!-- failover:end -->',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  if (outFile) {
    const before = existsSync(outFile) ? readFileSync(outFile, 'utf8') : '';
    const marked = /<!-- failover:begin[\s\S]*?<!-- failover:end -->/;
    const after = marked.test(before) ? before.replace(marked, section) : `${before.trimEnd()}\n\n${section}\n`;
    writeFileSync(outFile, after);
    log(`written to ${outFile}`);
  }
}

await main();
// Whatever a helper left open (sockets, timers), the bench is done.
process.exit(0);
