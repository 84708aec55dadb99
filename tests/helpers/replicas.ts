// N real bot processes (`node bin/scalebot.js serve`, as production runs it) sharing one PostgreSQL database,
// one fake Slack, one Prometheus and one config: the replicas of issue 15. Each replica reaches PostgreSQL
// through its own TCP proxy (so its database connection can be cut and restored) and Slack through its own
// recording proxy (so every Web API call is known by the replica that made it).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBotSupervisor, startSlackProxy, until, type BotSupervisor, type ProxiedCall, type SlackCall, type SlackProxy } from './crash/index.ts';
import { startPostgresCluster, type PostgresCluster } from './postgres/index.ts';
import { startFakeSlack, type FakeSlack } from './slack/index.ts';

export const REPLICA_BOT_TOKEN = 'xoxb-replicas-0000-token';
export const REPLICA_SIGNING_SECRET = 'replicas-signing-secret-4f2c';

export type Role = 'leader' | 'follower';

/** A loopback TCP proxy in front of one server; `cut()` is a network split, `restore()` its end. */
export interface TcpProxy {
  readonly port: number;
  readonly cut: boolean;
  /** Destroys every open connection and refuses new ones (accepted and destroyed at once). */
  cutNow(): void;
  restore(): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<Socket>();
  let isCut = false;
  const server: Server = createServer((client) => {
    if (isCut) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    pairs.add(client);
    pairs.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(client);
      pairs.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    get cut() {
      return isCut;
    },
    cutNow() {
      isCut = true;
      for (const socket of pairs) socket.destroy();
      pairs.clear();
    },
    restore() {
      isCut = false;
    },
    stop() {
      isCut = true;
      for (const socket of pairs) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Replica {
  readonly index: number;
  readonly supervisor: BotSupervisor;
  /** This replica's calls to Slack (and only its own): `calls`, crash points with `at`. */
  readonly slack: SlackProxy;
  /** The proxy between this replica and PostgreSQL. */
  readonly database: TcpProxy;
  /** SIGSTOPped and not resumed yet. */
  paused: boolean;
  /** Killed (kill9) and not restarted yet. */
  killed: boolean;
}

export interface ReplicaSetOptions {
  count: number;
  /** The config file's YAML, shared by every replica. */
  config: string;
  /** PROMETHEUS_URL for every replica. */
  prometheusUrl: string;
  /** SCALEBOT_LEASE_SECONDS; default 3. */
  leaseSeconds?: number;
  /** A cluster shared by the test file (a new database is made in it); default: a cluster of its own. */
  cluster?: PostgresCluster;
  /** Names each Slack call's point by phase (see crash/slack.ts). */
  qualify?: (call: SlackCall, key: string | undefined) => string | undefined;
  /** More environment for every replica (LOG_LEVEL…). */
  env?: Record<string, string>;
}

export interface ReplicaSet {
  readonly replicas: readonly Replica[];
  readonly fake: FakeSlack;
  readonly cluster: PostgresCluster;
  readonly databaseName: string;
  readonly leaseMs: number;
  readonly secret: string;
  /** Where replica `i` serves Slack's requests, health and metrics (its newest process). */
  url(i: number): string;
  /** What replica `i` says it is, or undefined (paused, killed, not answering within a second). */
  role(i: number): Promise<Role | undefined>;
  /**
   * Waits (no timing asserted: the deadline only bounds a failure) until exactly one running replica answers
   * role leader, and none of `not`; returns its index.
   */
  leader(options?: { not?: readonly number[]; timeoutMs?: number; detail?: () => string }): Promise<number>;
  /** kill -9; waits until the process is gone. */
  kill9(i: number): Promise<void>;
  /** Starts a killed replica again (a new process, same database proxy and Slack proxy) and waits until ready. */
  restart(i: number): Promise<void>;
  /** SIGSTOP: a stalled process (a GC pause, a VM frozen). */
  pause(i: number): void;
  /** SIGCONT. */
  resume(i: number): void;
  /** Cuts replica `i`'s connections to PostgreSQL and refuses new ones. */
  cutDatabase(i: number): void;
  restoreDatabase(i: number): void;
  /** Rows of a query on the replicas' database (through psql, as JSON: columns by their SQL names). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Slack calls that change what Slack shows (posts, edits, deletes…), by replica. */
  slackWrites(i: number): ProxiedCall[];
  logs(): string;
  stop(): Promise<void>;
}

/** Web API methods that only read: every other call changes what Slack shows (or says something). */
const READ_METHODS = /^(conversations\.(history|replies|info|members|list)|users\.|usergroups\.|auth\.test|team\.info|bots\.info|apps\.)/;

export const isSlackWrite = (call: ProxiedCall) => {
  const method = call.path.replace(/^.*\/api\//, '');
  return !READ_METHODS.test(method);
};

let databases = 0;

export async function startReplicaSet(options: ReplicaSetOptions): Promise<ReplicaSet> {
  const { count, config, prometheusUrl, leaseSeconds = 3, qualify, env = {} } = options;
  const ownCluster = options.cluster === undefined;
  const cluster = options.cluster ?? (await startPostgresCluster());
  databases += 1;
  const databaseName = `ha_${process.pid}_${databases}`;
  await cluster.psql(`CREATE DATABASE ${databaseName}`);
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-replicas-'));
  const configFile = join(dir, 'scalebot.yaml');
  writeFileSync(configFile, config);
  const fake = await startFakeSlack();
  const replicas: Replica[] = [];
  for (let index = 0; index < count; index++) {
    const database = await startTcpProxy(cluster.port);
    const slack = await startSlackProxy(fake, qualify);
    const supervisor = createBotSupervisor({
      env: {
        SLACK_BOT_TOKEN: REPLICA_BOT_TOKEN,
        SLACK_SIGNING_SECRET: REPLICA_SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        SCALEBOT_DB: `postgres://postgres@127.0.0.1:${database.port}/${databaseName}`,
        SCALEBOT_CONFIG: configFile,
        SCALEBOT_LEASE_SECONDS: String(leaseSeconds),
        PROMETHEUS_URL: prometheusUrl,
        // Leadership changes are logged at info: a failure's report says when and why the lease moved.
        LOG_LEVEL: 'info',
        ...env,
      },
    });
    replicas.push({ index, supervisor, slack, database, paused: false, killed: false });
  }

  const replica = (i: number) => {
    const found = replicas[i];
    if (!found) throw new Error(`no replica #${i} (there are ${replicas.length})`);
    return found;
  };
  const processOf = (i: number) => {
    const child = replica(i).supervisor.current?.child;
    if (!child) throw new Error(`replica #${i} has no process`);
    return child;
  };

  const set: ReplicaSet = {
    replicas,
    fake,
    cluster,
    databaseName,
    leaseMs: leaseSeconds * 1000,
    secret: REPLICA_SIGNING_SECRET,
    url(i) {
      const url = replica(i).supervisor.current?.url;
      if (!url) throw new Error(`replica #${i} has no URL yet`);
      return url;
    },
    async role(i) {
      const { paused, killed, supervisor } = replica(i);
      const url = supervisor.current?.url;
      if (paused || killed || !url) return undefined;
      try {
        const answer = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1000) });
        const body = (await answer.json()) as { role?: unknown };
        return body.role === 'leader' || body.role === 'follower' ? body.role : undefined;
      } catch {
        return undefined;
      }
    },
    async leader({ not = [], timeoutMs = 60_000, detail } = {}) {
      let lastRoles: Array<Role | undefined> = [];
      return until(
        `exactly one replica to lead${not.length ? ` (not #${not.join(', #')})` : ''}`,
        async () => {
          const roles = await Promise.all(replicas.map((_, i) => set.role(i)));
          const leaders = roles.flatMap((role, i) => (role === 'leader' ? [i] : []));
          lastRoles = roles;
          // 0 is falsy: answer index + 1 to `until`, then take it back.
          return leaders.length === 1 && !not.includes(leaders[0]!) ? leaders[0]! + 1 : undefined;
        },
        {
          timeoutMs,
          intervalMs: 50,
          detail: () => `roles last answered: ${lastRoles.map((role, i) => `#${i} ${role ?? '-'}`).join(', ')}\n${detail?.() ?? ''}`,
        },
      ).then((oneBased) => oneBased - 1);
    },
    async kill9(i) {
      const target = replica(i);
      if (target.paused) target.paused = false; // SIGKILL ends a stopped process too
      target.killed = true;
      await target.supervisor.stop();
    },
    async restart(i) {
      const target = replica(i);
      await target.supervisor.start();
      target.killed = false;
    },
    pause(i) {
      processOf(i).kill('SIGSTOP');
      replica(i).paused = true;
    },
    resume(i) {
      processOf(i).kill('SIGCONT');
      replica(i).paused = false;
    },
    cutDatabase(i) {
      replica(i).database.cutNow();
    },
    restoreDatabase(i) {
      replica(i).database.restore();
    },
    async rows<T>(sql: string) {
      const text = await cluster.psql(`SELECT coalesce(json_agg(t), '[]'::json) FROM (${sql}) t`, { database: databaseName });
      return JSON.parse(text) as T[];
    },
    slackWrites(i) {
      return replica(i).slack.calls.filter(isSlackWrite);
    },
    logs() {
      return replicas
        .map((each) => `===== replica #${each.index}${each.paused ? ' (paused)' : ''}${each.killed ? ' (killed)' : ''}\n${each.supervisor.logs()}`)
        .join('\n');
    },
    async stop() {
      for (const each of replicas) {
        const child = each.supervisor.current?.child;
        if (each.paused && child) child.kill('SIGCONT');
      }
      await Promise.all(replicas.map((each) => each.supervisor.stop()));
      await Promise.all(replicas.flatMap((each) => [each.slack.stop(), each.database.stop()]));
      await fake.close();
      if (ownCluster) await cluster.destroy();
      else await cluster.psql(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(replicas.map((each) => each.supervisor.start()));
  } catch (error) {
    await set.stop().catch(() => undefined);
    throw error;
  }
  return set;
}
