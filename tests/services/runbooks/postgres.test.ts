import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../../bot/config.ts';
import { listDecisions } from '../../../db/decision-log.ts';
import { getRun, listRuns, listSteps } from '../../../db/runbooks.ts';
import { startTestBot, type TestBot } from '../../helpers/bot.ts';
import { runbookDriver, shippedRunbookEntries, type RunbookEntry, type StepEntry } from '../../helpers/runbook-driver.ts';
import { createEmptyCluster, startPostgresCluster, type PostgresCluster } from '../../helpers/postgres/index.ts';
import { startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';
import { startSshd, type SshdFixture } from '../../../devkit/sshd/index.ts';

// End to end on real databases (issues 5 and 18): the default replica setup and failover runbooks, their commands
// taken from config/runbooks.yaml and passed through DOCKER_COMPOSE_TO_LOCAL_CLUSTERS (below) so that pg_ctl/psql on
// two throwaway clusters stand in for `docker compose`, run by the real bot over a real sshd (as `postgres`),
// requested by one person and approved (and confirmed) by another, through the Slack harness. The replica runbook
// runs twice (every step idempotent), then its rollback takes apart what it built.

const CHANNEL = 'C0DBOPS';
const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;

let primary: PostgresCluster;
let replica: PostgresCluster;
let sshd: SshdFixture;
let fake: FakeSlack;
let harness: TestBot;
let appDir: string;

const flat = (value: unknown) => JSON.stringify(value);
const db = () => harness.bot.database.db;
const { command, click, driveToEnd } = runbookDriver({ channel: CHANNEL, lead: LEAD, harness: () => harness, fake: () => fake });

/** The app dir the default runbook `cd`s into: here only `secrets/replicator.password`, readable by postgres alone. */
function makeAppDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-app-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  mkdirSync(join(dir, 'secrets'), { mode: 0o700 });
  writeFileSync(join(dir, 'secrets', 'replicator.password'), `${PASSWORD}\n`, { mode: 0o600 });
  for (const path of [dir, join(dir, 'secrets'), join(dir, 'secrets', 'replicator.password')]) chownSync(path, uid, gid);
  chmodSync(dir, 0o755);
  return dir;
}

/**
 * The fixture trusts every replication connection from 127.0.0.1; take that out, so the replica can only get in
 * through the md5 line the `allow-replication` step adds, with the password the steps read from the file.
 */
function requirePasswordForReplication(cluster: PostgresCluster): void {
  const file = join(cluster.dataDir, 'pg_hba.conf');
  const lines = readFileSync(file, 'utf8').split('\n');
  writeFileSync(file, lines.filter((line) => !/^\s*host\s+replication\s+all\s+127\.0\.0\.1\/32\s+trust\b/.test(line)).join('\n'));
}

/**
 * The translation of the default runbooks' commands for this test: the app dir becomes a temp dir, and each
 * `docker compose` form the replica and failover runbooks use becomes what it does to the cluster on the step's
 * host: `exec -T postgres psql` is psql on its port, `exec -T postgres sh -c` and `run … --entrypoint sh postgres -c`
 * are a shell as postgres (the sshd user) with PGDATA set (and PGPORT, the primary's, for pg_basebackup), and
 * restart/stop/up -d are pg_ctl. Everything else in the commands (SQL, pg_hba.conf edits, markers) runs as written.
 */
function DOCKER_COMPOSE_TO_LOCAL_CLUSTERS(cluster: PostgresCluster): Array<[RegExp, string]> {
  const bin = primary.binDir;
  const pgCtl = `${bin}/pg_ctl -D ${cluster.dataDir}`;
  return [
    [/cd \/home\/deploy\/galion\b/g, `cd ${appDir}`],
    [/docker compose exec -T postgres psql -U postgres/g, `${bin}/psql -h 127.0.0.1 -p ${cluster.port} -U postgres`],
    [/docker compose exec -T postgres sh -c/g, 'sh -c'],
    [
      /docker compose run --rm --no-deps -T --user postgres (-e PGPASSWORD )?--entrypoint sh postgres -c/g,
      `env PATH=${bin}:$PATH PGDATA=${cluster.dataDir} PGPORT=${primary.port} sh -c`,
    ],
    [/docker compose restart postgres/g, `${pgCtl} -l ${cluster.logFile} -m fast -w -t 60 restart`],
    [/docker compose stop postgres/g, `{ ! ${pgCtl} status > /dev/null || ${pgCtl} -m fast -w stop; }`],
    // -l: without a log file the server would hold the channel's output open (fixture README).
    [
      /docker compose up -d postgres/g,
      `{ ${pgCtl} status > /dev/null || ${pgCtl} -l ${cluster.logFile} -o "-p ${cluster.port} -k ${cluster.socketDir}" -w -t 60 start; }`,
    ],
  ];
}

function translate(step: StepEntry): StepEntry {
  const cluster = step.host === '{{primary}}' ? primary : replica;
  const run = DOCKER_COMPOSE_TO_LOCAL_CLUSTERS(cluster).reduce((text, [from, to]) => text.replace(from, to), step.run);
  if (/docker|\/home\/deploy/.test(run)) throw new Error(`step ${step.id}: no translation for\n${run}`);
  return { ...step, run };
}

function config(): string {
  const host = { address: '127.0.0.1', port: sshd.host.port, user: sshd.host.user, private_key_file: sshd.host.privateKeyFile, host_key: sshd.host.hostKey };
  const approval = { approvers: [LEAD], required: 1, allow_self: false, expires: '30m' };
  const defaults = shippedRunbookEntries();
  const translated = (id: string): RunbookEntry => {
    const entry = defaults.find((runbook) => runbook.id === id)!;
    return { ...entry, steps: entry.steps.map(translate), ...(entry.rollback ? { rollback: entry.rollback.map(translate) } : {}) };
  };
  return stringify(
    {
      hosts: { 'db-primary': host, 'db-replica': host },
      runbooks: [
        // Not waiting for the default's `before` checklist here (tests/bot/checklist-runbooks.test.ts covers that gate).
        { ...translated('add-read-replica'), requires_checklist: null, approval },
        { ...translated('db-failover'), approval },
      ],
    },
    { lineWidth: 0 },
  );
}

/** The plan message of the count-th run in the channel. */
function planMessage(count: number) {
  return fake.waitFor(
    (f) => {
      const top = f.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts);
      return top.length >= count ? top[count - 1] : undefined;
    },
    { timeoutMs: 15_000 },
  );
}

/** What the steps printed, for a failure message. */
async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  [primary, replica, sshd, fake] = await Promise.all([startPostgresCluster(), createEmptyCluster(), startSshd({ user: 'postgres' }), startFakeSlack()]);
  requirePasswordForReplication(primary);
  appDir = makeAppDir();
  harness = await startTestBot({ config: config(), fake });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await sshd?.stop();
  await Promise.all([primary?.destroy(), replica?.destroy()]);
  if (appDir) rmSync(appDir, { recursive: true, force: true });
});

describe("this file's runbooks", () => {
  // Only `docker compose` and the app dir differ from what ships: the SQL, the pg_hba.conf edits and the markers are the defaults' own.
  it("are the defaults' steps, confirm flags and rollback, with only DOCKER_COMPOSE_TO_LOCAL_CLUSTERS applied", () => {
    const ours = (parse(config()) as { runbooks: RunbookEntry[] }).runbooks;
    const defaults = shippedRunbookEntries();
    for (const id of ['add-read-replica', 'db-failover']) {
      const mine = ours.find((runbook) => runbook.id === id)!;
      const shipped = defaults.find((runbook) => runbook.id === id)!;
      expect(mine.steps, id).toEqual(shipped.steps.map(translate));
      expect(mine.rollback ?? [], id).toEqual((shipped.rollback ?? []).map(translate));
      expect(shipped.steps.some((step) => step.run.includes('docker compose'))).toBe(true);
    }
    expect(loadConfig().runbooks.find((runbook) => runbook.id === 'add-read-replica')!.steps[0]!.id).toBe('configure-primary');
  });
});

describe('the replica-setup and failover runbooks on real PostgreSQL, through the bot', () => {
  let replicaRunId: number;

  it('sets up a streaming replica: requested by one person, approved and confirmed by another', async () => {
    await command('run add-read-replica primary=db-primary replica=db-replica primary_ip=127.0.0.1 replica_ip=127.0.0.1', REQUESTER);
    const plan = await planMessage(1);
    replicaRunId = listRuns(db(), { limit: 1 })[0]!.id;
    const text = flat(plan.blocks);
    expect(text).toContain('pg_basebackup -h');
    expect(text).toContain("'127.0.0.1'");
    expect(text).not.toContain(PASSWORD);

    await click(LEAD, plan.ts, 'run_approve');
    const confirmed = await driveToEnd(replicaRunId, plan.ts);
    // restart-primary (4) and clear-replica (6): the default's confirm steps, kept here (checked above)
    expect(confirmed).toEqual(['steps:3', 'steps:5']);
    expect(flat(fake.message(CHANNEL, plan.ts)?.blocks)).toContain('Succeeded');
    expect(await harness.bot.runbooks.getLock('db-primary')).toBeUndefined();
    expect(await harness.bot.runbooks.getLock('db-replica')).toBeUndefined();
  }, 60_000);

  it('leaves the replica streaming: listed in pg_stat_replication, in recovery, replaying writes', async () => {
    expect(await primary.psql("SELECT usename || ' ' || host(client_addr) || ' ' || state FROM pg_stat_replication")).toBe('replicator 127.0.0.1 streaming');
    expect(await replica.psql('SELECT pg_is_in_recovery()')).toBe('t');
    // Only the md5 line the runbook added lets replication in: the password from the file was really used.
    expect(await primary.psql("SELECT string_agg(auth_method, ',') FROM pg_hba_file_rules WHERE 'replication' = ANY(database) AND address = '127.0.0.1'")).toBe(
      'md5',
    );
    await primary.psql("CREATE TABLE scalebot_e2e (id int PRIMARY KEY, note text); INSERT INTO scalebot_e2e VALUES (1, 'written on the primary')");
    await eventually('the row on the replica', async () => (await replica.psql('SELECT note FROM scalebot_e2e WHERE id = 1')) === 'written on the primary');
    await expect(replica.psql("INSERT INTO scalebot_e2e VALUES (2, 'on the standby')")).rejects.toThrow(/read-only transaction/);
  });

  it('runs again on the same servers without harm: one role, one pg_hba.conf line, the replica not cloned again', async () => {
    const hbaLines = () =>
      readFileSync(join(primary.dataDir, 'pg_hba.conf'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('added by scalebot'));
    const before = {
      lines: hbaLines(),
      settings: readFileSync(join(appDir, '.scalebot/add-read-replica/primary-settings-before.sql'), 'utf8'),
      started: await replica.psql('SELECT pg_postmaster_start_time()'),
    };
    expect(before.lines).toEqual(['host replication replicator 127.0.0.1/32 md5 # added by scalebot add-read-replica']);
    // The fixture's wal_keep_size (64MB, from postgresql.conf) fell short of 1GB: the first run raised it and kept the way back.
    expect(before.settings.trim()).toBe('ALTER SYSTEM RESET wal_keep_size;');
    expect(await primary.psql('SHOW wal_keep_size')).toBe('1GB');

    await command('run add-read-replica primary=db-primary replica=db-replica primary_ip=127.0.0.1 replica_ip=127.0.0.1', REQUESTER);
    const plan = await planMessage(2);
    const runId = listRuns(db(), { limit: 1 })[0]!.id;
    expect(runId).not.toBe(replicaRunId);
    await click(LEAD, plan.ts, 'run_approve');
    expect(await driveToEnd(runId, plan.ts)).toEqual(['steps:3', 'steps:5']);

    const output = Object.fromEntries(listSteps(db(), runId).map((step) => [step.stepId, step.output ?? '']));
    expect(output['create-user']).toContain('role replicator exists');
    expect(output['allow-replication']).toContain('pg_hba.conf has it already');
    expect(output['restart-primary']).toContain('no setting waits for a restart');
    expect(output['stop-replica']).toContain('already a streaming replica');
    expect(output.basebackup).toContain('no base backup');
    expect(hbaLines()).toEqual(before.lines);
    expect(readFileSync(join(appDir, '.scalebot/add-read-replica/primary-settings-before.sql'), 'utf8')).toBe(before.settings);
    expect(await primary.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'replicator'")).toBe('1');
    expect(await replica.psql('SELECT pg_postmaster_start_time()')).toBe(before.started);
    expect(await primary.psql('SELECT state FROM pg_stat_replication')).toBe('streaming');
  }, 60_000);

  it('promotes the replica with the failover runbook: out of recovery, writes accepted', async () => {
    await command('run db-failover replica=db-replica', REQUESTER);
    const plan = await planMessage(3);
    const runId = listRuns(db(), { limit: 1 })[0]!.id;
    expect(runId).not.toBe(replicaRunId);
    await click(LEAD, plan.ts, 'run_approve');
    expect(await driveToEnd(runId, plan.ts)).toEqual(['steps:0']);
    expect(await replica.psql('SELECT pg_is_in_recovery()')).toBe('f');
    await replica.psql("INSERT INTO scalebot_e2e VALUES (2, 'written on the promoted replica')");
    expect(await replica.psql('SELECT count(*) FROM scalebot_e2e')).toBe('2');
  }, 60_000);

  it('keeps the approval with its trigger snapshot and every step with its exit code in the decision log', async () => {
    const rows = listDecisions(db(), { limit: 1000 }).filter((row) => (row.detail as { run_id?: number }).run_id === replicaRunId);
    const approval = rows.find((row) => row.kind === 'approval')!;
    expect(approval).toMatchObject({ actor: LEAD, outcome: 'approved' });
    expect(approval.detail).toHaveProperty('trigger_snapshot.verdict');
    const confirmations = rows.filter((row) => row.kind === 'confirmation').reverse();
    expect(confirmations.map((row) => [row.actor, (row.detail as { step: string }).step])).toEqual([
      [LEAD, 'restart-primary'],
      [LEAD, 'clear-replica'],
    ]);
    const ids = [
      'configure-primary',
      'create-user',
      'allow-replication',
      'restart-primary',
      'stop-replica',
      'clear-replica',
      'basebackup',
      'start-replica',
      'verify-primary',
      'verify-replica',
    ];
    const started = rows.filter((row) => row.kind === 'step_started').reverse();
    const finished = rows.filter((row) => row.kind === 'step_finished').reverse();
    expect(started.map((row) => (row.detail as { step: string }).step)).toEqual(ids);
    expect(finished.map((row) => [(row.detail as { step: string }).step, row.outcome, (row.detail as { exit_code: number }).exit_code])).toEqual(
      ids.map((id) => [id, 'succeeded', 0]),
    );
    expect(finished.every((row) => typeof (row.detail as { duration_ms?: unknown }).duration_ms === 'number')).toBe(true);
    expect((finished.find((row) => (row.detail as { step: string }).step === 'verify-primary')!.detail as { output_tail: string }).output_tail).toContain(
      'replicator streaming',
    );
  });

  it('never shows the replication password or the SSH key, in Slack, the decision log or the database', async () => {
    const key = readFileSync(sshd.host.privateKeyFile, 'utf8');
    const keyBody = key
      .split('\n')
      .filter((line) => line && !line.startsWith('-----'))
      .join('');
    const slack = flat({ calls: fake.calls, responses: fake.responses, messages: fake.messages() });
    const log = flat(listDecisions(db(), { limit: 10_000 }));
    const steps = flat(listRuns(db(), { limit: 100 }).flatMap((run) => listSteps(db(), run.id)));
    for (const [where, text] of [
      ['Slack', slack],
      ['decision log', log],
      ['run steps', steps],
    ] as const) {
      expect(text, where).not.toContain(PASSWORD);
      expect(text, where).not.toContain('PRIVATE KEY');
      for (let index = 0; index + 24 <= keyBody.length; index += 24) expect(text, where).not.toContain(keyBody.slice(index, index + 24));
    }
    // The whole SQLite file too (and its WAL), not just what the queries above read.
    for (const file of [harness.databaseFile, `${harness.databaseFile}-wal`].filter((path) => existsSync(path))) {
      expect(readFileSync(file).includes(PASSWORD), file).toBe(false);
    }
    // The password did reach PostgreSQL: the replica's recovery settings carry it (pg_basebackup -R).
    expect(readFileSync(join(replica.dataDir, 'postgresql.auto.conf'), 'utf8')).toContain('user=replicator');
  });

  it('rolls back what the runbook built: the replica stopped, no role, no pg_hba.conf line, the settings as before', async () => {
    await command('run add-read-replica primary=db-primary replica=db-replica primary_ip=127.0.0.1 replica_ip=127.0.0.1', REQUESTER);
    const plan = await planMessage(4);
    const runId = listRuns(db(), { limit: 1 })[0]!.id;
    await click(LEAD, plan.ts, 'run_approve');
    // Stopped at restart-primary's confirmation, after the steps that touch the role, the line and the settings ran again.
    await driveToEnd(runId, plan.ts, { stopAt: 'steps:3' });
    await click(LEAD, plan.ts, 'run_stop');
    await eventually('the run stopped', async () => getRun(db(), runId)!.status === 'stopped');
    await fake.waitFor((f) => flat(f.message(CHANNEL, plan.ts)?.blocks).includes('run_rollback'), { timeoutMs: 10_000 });
    await click(LEAD, plan.ts, 'run_rollback');
    expect(await driveToEnd(runId, plan.ts, { status: 'rolled_back', timeoutMs: 60_000 })).toEqual(['rollback:3']);

    expect(await primary.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'replicator'")).toBe('0');
    expect(readFileSync(join(primary.dataDir, 'pg_hba.conf'), 'utf8')).not.toContain('replicator');
    expect(await primary.psql("SELECT count(*) FROM pg_hba_file_rules WHERE 'replicator' = ANY(user_name)")).toBe('0');
    expect(await primary.psql('SHOW wal_keep_size')).toBe('64MB');
    expect(readFileSync(join(primary.dataDir, 'postgresql.auto.conf'), 'utf8')).not.toContain('wal_keep_size');
    expect(existsSync(join(appDir, '.scalebot/add-read-replica/primary-settings-before.sql'))).toBe(false);
    await expect(replica.psql('SELECT 1')).rejects.toThrow();
  }, 90_000);
});
