// What the failover tests and the failover bench share: one PostgreSQL cluster, one Prometheus scraping a live
// exporter, and per scenario a replica set with its own database, fake Slack, series and sshd.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startExporter, startPrometheus, waitForValue, type Exporter, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { killMatching, startSshd, type SshdFixture } from '../../devkit/sshd/index.ts';
import { exactlyOnceProblems, outboxKeyOf, until, type ExpectedSlackMessage } from '../helpers/crash/index.ts';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres/index.ts';
import { startReplicaSet, type ReplicaSet } from '../helpers/replicas.ts';
import { buildBlockActionsPayload, sendInteraction, sendSlashCommand, type StoredMessage } from '../helpers/slack/index.ts';
import { WITHOUT_DEFAULT_TRIGGERS } from '../helpers/watch-config.ts';

export const CHANNEL = 'C0HA';
export const METRIC = 'ha_load';
export const REQUESTER = 'U0REQUESTER';
export const APPROVERS = ['U0LEAD1', 'U0LEAD2', 'U0LEAD3'] as const;
export const CHECKLIST_ITEMS = Array.from({ length: 12 }, (_, i) => `item_${i + 1}`);
/** Per condition: a deadline bounds a failure only (a loaded 2-core machine starts a bot in up to 15 s). */
export const STEP_TIMEOUT_MS = 60_000;

export interface World {
  cluster: PostgresCluster;
  exporter: Exporter;
  prometheus: PrometheusFixture;
  dir: string;
  stop(): Promise<void>;
}

export async function startWorld(): Promise<World> {
  const [cluster, exporter] = await Promise.all([startPostgresCluster(), startExporter()]);
  exporter.set(METRIC, { scenario: 'warm-up', instance: 'warm-up' }, 0.1);
  const prometheus = await startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 });
  await waitForValue(prometheus, `${METRIC}{scenario="warm-up"}`, (value) => value === 0.1, 30_000);
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-ha-'));
  return {
    cluster,
    exporter,
    prometheus,
    dir,
    async stop() {
      await prometheus.stop();
      await Promise.all([exporter.stop(), cluster.destroy()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let scenarios = 0;

/** One scenario's replicas, series, marker file and step command, and what every scenario checks at its end. */
export interface Scenario {
  readonly set: ReplicaSet;
  readonly name: string;
  /** The host-side file the runbook step appends a line to when it starts. */
  readonly marker: string;
  /** The step's `sleep`, a command line no other process has (to find and kill it). */
  readonly sleep: string;
  setLoad(instance: string, value: number): void;
  /** Lines in the marker file: how many times the step started on the host. */
  stepStarts(): number;
  outbox(): Promise<ExpectedSlackMessage[]>;
  decisions(): Promise<Map<string, number>>;
  /** Everything wrong with the end state that every scenario promises; [] is the pass. */
  commonProblems(): Promise<string[]>;
  detail(): string;
  stop(): Promise<void>;
}

export function configFor(sshd: SshdFixture, name: string, marker: string, sleep: string): string {
  const query = `max by (instance) (${METRIC}{scenario=\\"${name}\\"})`;
  const host = sshd.host;
  return `prometheus:
  lookback: 30s
  timeout: 2s
slack:
  alerts_channel: ${CHANNEL}
charts:
  enabled: false
watch:
  interval: 1s
  resolve_after: 1s
  repeat: { immediate: 30m, soon: 30m }
triggers:
${WITHOUT_DEFAULT_TRIGGERS}
  - { id: load, name: Load, severity: immediate, query: "${query}", op: ">", threshold: 0.7, for: 0s, unit: percent, advice: "Consider vertical scaling." }
hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
runbooks:
  - id: ha-step
    title: Mark and sleep
    approval: { approvers: [${APPROVERS.join(', ')}], required: 2 }
    params:
      - { name: target, type: host }
    steps:
      - { id: mark-and-sleep, title: Mark and sleep, host: "{{target}}", run: "echo started >> ${marker}; ${sleep}", timeout: 5m }
      - { id: after, title: After, host: "{{target}}", run: "echo after >> ${marker}.after", timeout: 1m }
checklists:
  - id: ha-list
    title: Failover drill
    items:
${CHECKLIST_ITEMS.map((id) => `      - { id: ${id}, text: Step ${id} }`).join('\n')}
`;
}

export async function startScenario(world: World, count: number): Promise<Scenario> {
  scenarios += 1;
  const name = `s${process.pid}x${scenarios}`;
  const marker = join(world.dir, `${name}.marker`);
  const sleep = `sleep 60.${process.pid}${scenarios}`;
  // A host of its own per scenario, with its own HOME: the host remembers the highest fencing token it has
  // seen (~/.cache/scalebot/locks), and each scenario's database counts tokens from 1 again.
  const home = join(world.dir, `${name}.home`);
  mkdirSync(home);
  const sshd = await startSshd({ env: { HOME: home } });
  const set = await startReplicaSet({ count, config: configFor(sshd, name, marker, sleep), prometheusUrl: world.prometheus.url, cluster: world.cluster });
  const series = new Set<string>();
  const scenario: Scenario = {
    set,
    name,
    marker,
    sleep,
    setLoad(instance, value) {
      series.add(instance);
      world.exporter.set(METRIC, { scenario: name, instance }, value);
    },
    stepStarts: () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean).length : 0),
    outbox: () =>
      set.rows<ExpectedSlackMessage>(
        'SELECT id, dedupe_key AS "dedupeKey", channel, status, ts, needs_update AS "needsUpdate", parent_id AS "parentId", payload ' +
          'FROM slack_outbox ORDER BY id',
      ),
    async decisions() {
      const rows = await set.rows<{ kind: string; n: number }>('SELECT kind, count(*)::int AS n FROM decision_log GROUP BY kind');
      return new Map(rows.map((row) => [row.kind, row.n]));
    },
    async commonProblems() {
      const problems: string[] = [];
      for (const replica of set.replicas)
        for (const generation of replica.supervisor.unexpectedExits) problems.push(`replica #${replica.index} process #${generation.index} died by itself`);
      problems.push(...exactlyOnceProblems(set.fake, await scenario.outbox(), [CHANNEL]));
      const breaches = await set.rows<{ id: number; key: string; status: string }>('SELECT id, key, status FROM breaches ORDER BY id');
      const keys = breaches.map((row) => row.key);
      if (new Set(keys).size !== keys.length) problems.push(`a series has more than one breach: ${keys.join(', ')}`);
      const decisions = await scenario.decisions();
      const opened = decisions.get('breach_opened') ?? 0;
      const resolved = decisions.get('breach_resolved') ?? 0;
      if (opened !== breaches.length) problems.push(`${breaches.length} breaches, ${opened} breach_opened decisions`);
      const resolvedRows = breaches.filter((row) => row.status === 'resolved').length;
      if (resolved !== resolvedRows) problems.push(`${resolvedRows} resolved breaches, ${resolved} breach_resolved decisions`);
      const steps = await set.rows<{ id: number }>('SELECT id FROM run_steps');
      if ((decisions.get('step_started') ?? 0) !== steps.length)
        problems.push(`${steps.length} step rows, ${decisions.get('step_started') ?? 0} step_started decisions`);
      if (scenario.stepStarts() > steps.length) problems.push(`the step started ${scenario.stepStarts()} times on the host, ${steps.length} step rows`);
      return problems;
    },
    detail() {
      const shown = set.fake
        .messages(CHANNEL)
        .map((m) => `${m.thread_ts && m.thread_ts !== m.ts ? '    ↳ ' : ''}${m.ts} [${outboxKeyOf(m)}] ${m.text.slice(0, 100)}`)
        .join('\n');
      return `Slack:\n${shown}\n${set.fake.summary()}\n${set.logs()}`;
    },
    async stop() {
      for (const instance of series) world.exporter.remove(METRIC, { scenario: name, instance });
      killMatching(sleep);
      await set.stop();
      await sshd.stop();
    },
  };
  return scenario;
}

export const step = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>) =>
  // No detail here: the outcome carries the scenario's detail once (logs, Slack), whatever step failed.
  until(what, probe, { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 50 });

/** A slash command at replica `i`, as Slack would send it. */
export async function command(scenario: Scenario, i: number, text: string, user: string): Promise<void> {
  const responseUrl = scenario.set.fake.newResponseUrl({ channel: CHANNEL, user });
  const answer = await sendSlashCommand(
    scenario.set.url(i),
    scenario.set.secret,
    { text, user_id: user, channel_id: CHANNEL, response_url: responseUrl },
    { timeoutMs: 15_000 },
  );
  if (answer.status !== 200) throw new Error(`/scale ${text} at replica #${i}: HTTP ${answer.status}`);
}

/** A button click at replica `i` on the message as `user` sees it; resolves once the replica acked. */
export async function click(scenario: Scenario, i: number, message: StoredMessage, actionId: string, user: string): Promise<void> {
  const { fake } = scenario.set;
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user, messageTs: message.ts });
  const payload = buildBlockActionsPayload({ user, channel: CHANNEL, message, action: { action_id: actionId }, response_url: responseUrl });
  const answer = await sendInteraction(scenario.set.url(i), scenario.set.secret, payload, { timeoutMs: 15_000 });
  if (answer.status !== 200) throw new Error(`${actionId} by ${user} at replica #${i}: HTTP ${answer.status}`);
}

/** The top-level message whose outbox key is `key`, once Slack has it. */
export const messageByKey = (scenario: Scenario, key: string) =>
  step(`the message ${key} in Slack`, () => scenario.set.fake.messages(CHANNEL).find((message) => outboxKeyOf(message) === key));

/** Every outbox row sent and no edit due, and `more` holds. */
export const drained = (scenario: Scenario, what: string, more: (rows: ExpectedSlackMessage[]) => boolean = () => true) =>
  step(what, async () => {
    const rows = await scenario.outbox();
    return rows.length > 0 && rows.every((row) => row.status === 'sent' && !row.needsUpdate) && more(rows);
  });
