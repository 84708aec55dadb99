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
import { createEmptyCluster, startPostgresCluster, type PostgresCluster } from '../../helpers/postgres/index.ts';
import { buildBlockActionsPayload, sendInteraction, sendSlashCommand, startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';
import { startSshd, type SshdFixture } from '../../../devkit/sshd/index.ts';

// End to end on real databases (issue 5): the guide's replica setup and failover runbooks, with pg_ctl/psql on
// two throwaway clusters in place of `docker compose`, run by the real bot over a real sshd (as `postgres`),
// requested by one person and approved (and confirmed) by another, through the Slack harness.

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

function config(): string {
  const host = { address: '127.0.0.1', port: sshd.host.port, user: sshd.host.user, private_key_file: sshd.host.privateKeyFile, host_key: sshd.host.hostKey };
  const bin = primary.binDir;
  const psqlPrimary = `${bin}/psql -X -h 127.0.0.1 -p ${primary.port} -U postgres`;
  const psqlReplica = `${bin}/psql -X -h 127.0.0.1 -p ${replica.port} -U postgres`;
  return stringify(
    {
      hosts: { 'db-primary': host, 'db-replica': host },
      runbooks: [
        {
          // The default's ids, order, confirm flags and rollback; pg_ctl/psql on the local clusters for docker compose.
          id: 'add-read-replica',
          // Not waiting for the default's `before` checklist here (tests/bot/checklist-runbooks.test.ts covers that gate).
          requires_checklist: null,
          approval: { approvers: [LEAD], required: 1, allow_self: false, expires: '30m' },
          steps: [
            {
              id: 'create-user',
              title: 'Create the replication user on the primary',
              host: '{{primary}}',
              run:
                `cd ${appDir} && printf '%s\\n' "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'pw';" | ` +
                `${psqlPrimary} -v ON_ERROR_STOP=1 -v pw="$(cat secrets/replicator.password)"`,
              timeout: '2m',
            },
            {
              id: 'allow-replication',
              title: 'Allow replication connections (pg_hba.conf)',
              host: '{{primary}}',
              run: `echo host replication replicator {{replica_ip}}/32 md5 >> ${primary.dataDir}/pg_hba.conf`,
              timeout: '1m',
            },
            {
              id: 'restart-primary',
              title: 'Restart PostgreSQL on the primary',
              host: '{{primary}}',
              run: `${bin}/pg_ctl -D ${primary.dataDir} -l ${primary.logFile} -m fast -w -t 60 restart`,
              timeout: '5m',
              confirm: true,
            },
            {
              id: 'stop-replica',
              title: 'Stop PostgreSQL on the replica',
              host: '{{replica}}',
              run:
                `if [ -f ${replica.dataDir}/postmaster.pid ]; then ${bin}/pg_ctl -D ${replica.dataDir} -m fast -w stop; ` +
                'else echo the replica is not running; fi',
              timeout: '5m',
            },
            { id: 'clear-replica', title: "Remove the replica's data", host: '{{replica}}', run: `rm -rf ${replica.dataDir}`, timeout: '5m', confirm: true },
            {
              id: 'basebackup',
              title: 'Base backup from the primary',
              host: '{{replica}}',
              run:
                `cd ${appDir} && PGPASSWORD="$(cat secrets/replicator.password)" ` +
                `${bin}/pg_basebackup -h {{primary_ip}} -p ${primary.port} -U replicator -D ${replica.dataDir} -P -R --checkpoint=fast`,
              timeout: '30m',
            },
            {
              // -l: without a log file the server would hold the channel's output open (fixture README).
              id: 'start-replica',
              title: 'Start PostgreSQL on the replica',
              host: '{{replica}}',
              run: `${bin}/pg_ctl -D ${replica.dataDir} -l ${replica.logFile} -o "-p ${replica.port} -k ${replica.socketDir}" -w -t 60 start`,
              timeout: '5m',
            },
            {
              // The walreceiver connects a moment after the standby accepts connections: ask for up to 20 s.
              id: 'verify-primary',
              title: 'The primary streams to the replica',
              host: '{{primary}}',
              run:
                `for i in $(seq 1 100); do ${psqlPrimary} -Atc 'SELECT client_addr, state FROM pg_stat_replication' | grep streaming && exit 0; ` +
                'sleep 0.2; done; exit 1',
              timeout: '2m',
            },
            {
              id: 'verify-replica',
              title: 'The replica is in recovery',
              host: '{{replica}}',
              run: `${psqlReplica} -Atc 'SELECT pg_is_in_recovery()' | grep -x t`,
              timeout: '2m',
            },
          ],
          rollback: [
            { id: 'stop-replica', title: 'Stop the replica', host: '{{replica}}', run: `${bin}/pg_ctl -D ${replica.dataDir} -m fast -w stop`, timeout: '5m' },
          ],
        },
        {
          id: 'db-failover',
          approval: { approvers: [LEAD], required: 1, allow_self: false, expires: '30m' },
          steps: [
            {
              id: 'promote',
              title: 'Promote the replica',
              host: '{{replica}}',
              run: `${psqlReplica} -Atc 'SELECT pg_promote()' | grep -x t`,
              timeout: '2m',
              confirm: true,
            },
            {
              id: 'verify-writable',
              title: 'The new primary accepts writes',
              host: '{{replica}}',
              run: `${psqlReplica} -Atc 'SELECT pg_is_in_recovery()' | grep -x f`,
              timeout: '2m',
            },
          ],
        },
      ],
    },
    { lineWidth: 0 },
  );
}

async function command(text: string, user: string) {
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user });
  const answer = await sendSlashCommand(harness.url, harness.secret, { text, user_id: user, channel_id: CHANNEL, response_url: responseUrl });
  expect(answer.status).toBe(200);
  return responseUrl;
}

async function click(user: string, ts: string, actionId: string) {
  const message = fake.message(CHANNEL, ts)!;
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user, messageTs: ts });
  const payload = buildBlockActionsPayload({ user, channel: CHANNEL, message, action: { action_id: actionId }, response_url: responseUrl });
  expect((await sendInteraction(harness.url, harness.secret, payload)).status).toBe(200);
  return responseUrl;
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
function describeSteps(runId: number): string {
  return listSteps(db(), runId)
    .map((step) => `${step.phase}/${step.stepId}: ${step.status} (exit ${step.exitCode}) ${step.message ?? ''}\n${step.output ?? ''}`)
    .join('\n---\n');
}

/**
 * Waits for the run to end; each time it stops at a confirm step, the lead clicks Confirm on the plan message
 * (once the message shows that step's button). Returns the step ids that were confirmed.
 */
async function driveToEnd(runId: number, planTs: string, timeoutMs = 45_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const confirmed: string[] = [];
  for (;;) {
    const run = getRun(db(), runId)!;
    if (['succeeded', 'failed', 'rollback_failed', 'stopped', 'interrupted', 'rejected', 'expired'].includes(run.status)) {
      await harness.bot.runbooks.idle();
      if (run.status !== 'succeeded') throw new Error(`run #${runId} ended ${run.status}:\n${describeSteps(runId)}`);
      return confirmed;
    }
    const key = `${run.phase}:${run.stepIndex}`;
    if (run.status === 'awaiting_confirmation' && !confirmed.includes(key)) {
      const value = `${runId}:${run.phase}:${run.stepIndex}`;
      await fake.waitFor((f) => flat(f.message(CHANNEL, planTs)?.blocks).includes(`"value":"${value}"`), { timeoutMs: 10_000 });
      await click(LEAD, planTs, 'run_confirm');
      confirmed.push(key);
    }
    if (Date.now() > deadline) throw new Error(`run #${runId} still ${run.status} at step ${run.stepIndex + 1}:\n${describeSteps(runId)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

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
  // The commands differ (local clusters, not docker compose); what four eyes and the test below rely on must not.
  it("keep the defaults' step ids, order, confirm flags and rollback", () => {
    const shape = (runbook: { steps: ReadonlyArray<{ id: string; confirm?: boolean }>; rollback?: ReadonlyArray<{ id: string }> }) => ({
      steps: runbook.steps.map((step) => [step.id, step.confirm ?? false]),
      rollback: (runbook.rollback ?? []).map((step) => step.id),
    });
    const ours = (parse(config()) as { runbooks: Array<{ id: string } & Parameters<typeof shape>[0]> }).runbooks;
    const defaults = loadConfig().runbooks;
    for (const id of ['add-read-replica', 'db-failover']) {
      expect(shape(ours.find((runbook) => runbook.id === id)!), id).toEqual(shape(defaults.find((runbook) => runbook.id === id)!));
    }
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
    // restart-primary (3) and clear-replica (5): the default's confirm steps, kept here (checked above)
    expect(confirmed).toEqual(['steps:2', 'steps:4']);
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

  it('promotes the replica with the failover runbook: out of recovery, writes accepted', async () => {
    await command('run db-failover replica=db-replica', REQUESTER);
    const plan = await planMessage(2);
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
      '127.0.0.1|streaming',
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
});
