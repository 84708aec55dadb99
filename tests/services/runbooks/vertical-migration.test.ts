import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { listRuns, listSteps } from '../../../db/runbooks.ts';
import { startSshd, type SshdFixture } from '../../../devkit/sshd/index.ts';
import { startTestBot, type TestBot } from '../../helpers/bot.ts';
import { runbookDriver, shippedRunbookEntries, type RunbookEntry, type StepEntry } from '../../helpers/runbook-driver.ts';
import { databaseDigest, startComposeStandIn, type ComposeServer, type ComposeStandIn } from '../../helpers/compose-stand-in.ts';
import { startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';

// End to end with real rsync and sudo (issue 18): the two vertical-migration runbooks, their commands taken from
// config/runbooks.yaml and passed through DEPLOY_SERVERS_ON_LOOPBACK (below), run by the real bot over a real sshd
// as an unprivileged OS user of the test's own, requested by one person and approved (and confirmed) by another
// through the Slack harness. Each "server" is an app dir standing for /home/deploy/galion; `docker compose` is a
// stand-in whose engine runs as root (tests/helpers/compose-stand-in.ts), and data/postgres belongs to another uid
// with mode 0700, so only `sudo -n rsync` (the README's sudoers rule, installed for the test) can copy it.

const CHANNEL = 'C0MIGRATE';
const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';
/** The SSH user, standing for `deploy`: created if missing (and then removed), its home a temp dir. */
const USER = 'scalebot-deploy';
/** The README's rule, for the test's user; in a file of the test's own, never /etc/sudoers.d/scalebot. */
const SUDO_RULE = `${USER} ALL=(root) NOPASSWD: /usr/bin/rsync`;
const SUDOERS_FILE = '/etc/sudoers.d/scalebot-vertical-migration-test';
/** A whole second, so that a file rewritten in place can get its exact mtime back (what rsync's quick check compares). */
const DATA_MTIME = Math.floor(Date.now() / 1000) - 3600;

let root: string;
let home: string;
let userCreated = false;
/** The home of a user that was there before this run, given back in afterAll. */
let previousHome: string | undefined;
let ids: { uid: number; gid: number };
/** The database's owner: the container's postgres, uid 999, a number with no meaning to the SSH user. */
let databaseIds: { uid: number; gid: number };
let servers: Record<'old1' | 'new1' | 'old2' | 'new2', ComposeServer>;
let engine: ComposeStandIn;
let sshd: SshdFixture;
let fake: FakeSlack;
let harness: TestBot;

const flat = (value: unknown) => JSON.stringify(value);
const db = () => harness.bot.database.db;
const { command, click, driveToEnd } = runbookDriver({ channel: CHANNEL, lead: LEAD, harness: () => harness, fake: () => fake });
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Which pair of servers each runbook runs on here: the rsync path and the restore path each get their own. */
const PAIRS = {
  'vertical-migration': () => ({ old: servers.old1, new: servers.new1 }),
  'vertical-migration-restore': () => ({ old: servers.old2, new: servers.new2 }),
} as const;
type MigrationId = keyof typeof PAIRS;

/**
 * The translation of the shipped commands for this test, and nothing else: the app dir of the step's host (old or
 * new) and the rsync destination become the two servers' temp dirs; deploy@ becomes the test's user; the sshd's port
 * goes into each ssh rsync starts (the key and known_hosts stay as written: the user's own, StrictHostKeyChecking
 * on); `docker compose` becomes the stand-in, for exactly the forms these runbooks use.
 */
function DEPLOY_SERVERS_ON_LOOPBACK(pair: { old: ComposeServer; new: ComposeServer }, host: string): Array<[RegExp, string]> {
  const server = host === '{{new}}' ? pair.new : pair.old;
  return [
    [/\bdeploy@\{\{new_ip\}\}:\/home\/deploy\/galion\//g, `${USER}@{{new_ip}}:${pair.new.appDir}/`],
    [
      /-e "ssh -i \$HOME\/\.ssh\/id_ed25519 -o UserKnownHostsFile=\$HOME\/\.ssh\/known_hosts"/g,
      `-e "ssh -p ${sshd.host.port} -i $HOME/.ssh/id_ed25519 -o UserKnownHostsFile=$HOME/.ssh/known_hosts"`,
    ],
    // The dump's copy runs as deploy with ssh's own defaults (~/.ssh/id_ed25519, ~/.ssh/known_hosts): only the port is added.
    [/(\brsync -\w+)( --info=progress2,stats1 backups\/)/g, `$1 -e "ssh -p ${sshd.host.port}"$2`],
    [/\/home\/deploy\/galion\b/g, server.appDir],
    [/\bdocker compose (?=version\b|config --services\b|config --quiet\b|stop\b|down\b|up -d\b|exec -T postgres pg_isready -q\b)/g, `${engine.client} `],
  ];
}

function translate(runbookId: MigrationId, step: StepEntry): StepEntry {
  const run = DEPLOY_SERVERS_ON_LOOPBACK(PAIRS[runbookId](), step.host).reduce((text, [from, to]) => text.replace(from, to), step.run);
  if (/docker|\/home\/deploy|(^|[^-\w])deploy@/.test(run)) throw new Error(`step ${step.id}: no translation for\n${run}`);
  return { ...step, run };
}

function config(): string {
  const host = { address: '127.0.0.1', port: sshd.host.port, user: sshd.host.user, private_key_file: sshd.host.privateKeyFile, host_key: sshd.host.hostKey };
  const approval = { approvers: [LEAD], required: 1, allow_self: false, expires: '30m' };
  const defaults = shippedRunbookEntries();
  const translated = (id: MigrationId): RunbookEntry => {
    const entry = defaults.find((runbook) => runbook.id === id)!;
    return { ...entry, steps: entry.steps.map((step) => translate(id, step)), rollback: (entry.rollback ?? []).map((step) => translate(id, step)) };
  };
  return stringify(
    {
      hosts: Object.fromEntries(['old-1', 'new-1', 'old-2', 'new-2'].map((name) => [name, host])),
      // Not waiting for the default's `before` checklist here (tests/bot/checklist-runbooks.test.ts covers that gate).
      runbooks: (Object.keys(PAIRS) as MigrationId[]).map((id) => ({ ...translated(id), requires_checklist: null, approval })),
    },
    { lineWidth: 0 },
  );
}

// --- the servers ---

function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** As the SSH user, without SSH (the engine is not involved: these never call the stand-in). */
function asUser(command: string) {
  return spawnSync('runuser', ['-u', USER, '--', 'sh', '-c', command], { encoding: 'utf8', timeout: 30_000 });
}

/** The user, made idempotently: created if missing (and removed in afterAll), its home pointed at this run's temp dir (and back). */
function ensureUser(): { uid: number; gid: number } {
  const existing = spawnSync('getent', ['passwd', USER], { encoding: 'utf8' });
  if (existing.status === 0) {
    previousHome = existing.stdout.split(':')[5];
    sh('usermod', ['-d', home, USER]);
  } else {
    sh('useradd', ['-M', '-d', home, '-s', '/bin/bash', '-U', USER]);
    userCreated = true;
  }
  return { uid: Number(sh('id', ['-u', USER])), gid: Number(sh('id', ['-g', USER])) };
}

function ownedBy(path: string, owner: { uid: number; gid: number }, mode: number): void {
  chownSync(path, owner.uid, owner.gid);
  chmodSync(path, mode);
}

function writeAs(path: string, content: string | Buffer, owner: { uid: number; gid: number }, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  ownedBy(path, owner, mode);
}

/** The database's files, as the container's postgres leaves them: its uid, 0700 dirs, 0600 files, whole-second mtimes. */
function writeDatabase(appDir: string, files: Record<string, Buffer>): void {
  const dataDir = join(appDir, 'data', 'postgres');
  mkdirSync(join(appDir, 'data'), { recursive: true });
  ownedBy(join(appDir, 'data'), ids, 0o755);
  mkdirSync(dataDir, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    const path = join(dataDir, file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    ownedBy(path, databaseIds, 0o600);
    utimesSync(path, DATA_MTIME, DATA_MTIME);
  }
  for (const entry of walk(dataDir)) if (entry.stat.isDirectory()) ownedBy(join(dataDir, entry.path), databaseIds, 0o700);
  ownedBy(dataDir, databaseIds, 0o700);
}

/** The app's scripts: the guide's names, with the stand-in for `docker compose` (the same path on both servers, as docker). */
function scripts(): Record<string, string> {
  const prelude = '#!/bin/sh\nset -eu\ncd "$(dirname "$0")/.."\n';
  return {
    // As the real one: pg_dump through compose (so it needs the database running), gzipped, dated, galion_latest pointing at it.
    'backup.sh':
      prelude +
      'mkdir -p backups\nfile=backups/galion_$(date +%Y%m%d_%H%M%S_%N).dump\n' +
      `if ! ${engine.client} exec -T postgres pg_dump > "$file"; then rm -f "$file"; echo "backup failed: the database is not running" >&2; exit 1; fi\n` +
      'gzip -n "$file"\nln -sfn "$(basename "$file").gz" backups/galion_latest.dump.gz\necho "backup written: $file.gz"\n',
    'restore.sh': `${prelude}[ -f "$1" ] || { echo "restore: no such dump: $1" >&2; exit 1; }\ngunzip -c "$1" | ${engine.client} exec -T postgres pg_restore\n`,
    'health-check.sh': `${prelude}${engine.client} exec -T app health\n`,
  };
}

/** A server set up as the guide's: compose file, .env, scripts, uploads, backups, and the database's files. */
function setUpServer(server: ComposeServer, database: Record<string, Buffer>, uploads: boolean): void {
  const appDir = server.appDir;
  mkdirSync(appDir, { recursive: true });
  ownedBy(appDir, ids, 0o755);
  writeAs(join(appDir, 'compose.yaml'), 'services:\n  postgres:\n    image: postgres:16\n  app:\n    image: galion/api\n', ids, 0o644);
  writeAs(join(appDir, '.env'), `POSTGRES_PASSWORD=${randomBytes(8).toString('hex')}\n`, ids, 0o600);
  for (const [name, text] of Object.entries(scripts())) writeAs(join(appDir, 'scripts', name), text, ids, 0o755);
  ownedBy(join(appDir, 'scripts'), ids, 0o755);
  mkdirSync(join(appDir, 'backups'), { recursive: true });
  ownedBy(join(appDir, 'backups'), ids, 0o755);
  if (uploads) {
    writeAs(join(appDir, 'uploads', 'avatar-1.png'), randomBytes(3000), ids, 0o644);
    linkSync(join(appDir, 'uploads', 'avatar-1.png'), join(appDir, 'uploads', 'avatar-1-thumb.png'));
    writeAs(join(appDir, 'uploads', 'avatar-2.png'), randomBytes(2000), ids, 0o644);
    writeAs(join(appDir, 'uploads', 'report.csv'), 'id,total\n1,10\n', ids, 0o640);
    ownedBy(join(appDir, 'uploads'), ids, 0o755);
  }
  writeDatabase(appDir, database);
}

const liveDatabase = () => ({
  PG_VERSION: Buffer.from('16\n'),
  'base/1/1259': randomBytes(8192),
  'base/1/2608': randomBytes(8192),
  'base/1/16384': randomBytes(8192),
  'pg_wal/000000010000000000000001': randomBytes(16384),
});

interface Entry {
  path: string;
  stat: Stats;
}
function walk(dir: string, prefix = ''): Entry[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = `${prefix}${name}`;
      const stat = lstatSync(join(dir, name));
      return [{ path, stat }, ...(stat.isDirectory() ? walk(join(dir, name), `${path}/`) : [])];
    });
}

/** Everything rsync -aH --numeric-ids must carry: type, contents, link targets, owners by number, modes, file mtimes, hard links. */
function tree(dir: string): Record<string, unknown> {
  const describe = (path: string, stat: Entry['stat']) => ({
    type: stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'file',
    uid: stat.uid,
    gid: stat.gid,
    mode: (Number(stat.mode) & 0o7777).toString(8),
    ...(stat.isFile() ? { sha: sha(path), mtime: Math.floor(Number(stat.mtimeMs) / 1000), links: Number(stat.nlink) } : {}),
    ...(stat.isSymbolicLink() ? { target: readlinkSync(path) } : {}),
  });
  return Object.fromEntries([
    ['.', describe(dir, lstatSync(dir))],
    ...walk(dir).map((entry) => [entry.path, describe(join(dir, entry.path), entry.stat)] as const),
  ]);
}

/** Rewrites a file in place with other bytes of the same length and gives it back its mtime: only --checksum sees it. */
function rewriteKeepingSizeAndMtime(path: string): void {
  const before = statSync(path);
  writeFileSync(path, randomBytes(before.size));
  utimesSync(path, before.atime, DATA_MTIME);
  expect(statSync(path).size).toBe(before.size);
  expect(Math.floor(statSync(path).mtimeMs / 1000)).toBe(DATA_MTIME);
}

/** A file the database writes while it runs: its uid and mode. */
function writeDatabaseFile(path: string, content: Buffer): void {
  writeFileSync(path, content);
  ownedBy(path, databaseIds, 0o600);
}

// --- Slack ---

/** Requests the run, has the lead approve it; returns the run's id and its plan message's ts. */
async function requestAndApprove(text: string): Promise<{ runId: number; ts: string }> {
  const count = fake.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts).length;
  await command(text, REQUESTER);
  const plan = await fake.waitFor(
    (f) => {
      const top = f.messages(CHANNEL).filter((message) => !message.thread_ts || message.thread_ts === message.ts);
      return top.length > count ? top[count] : undefined;
    },
    { timeoutMs: 15_000 },
  );
  const runId = listRuns(db(), { limit: 1 })[0]!.id;
  await click(LEAD, plan.ts, 'run_approve');
  return { runId, ts: plan.ts };
}

/** What the steps printed, for a failure message. */
const outputOf = (runId: number, stepId: string, phase = 'steps') =>
  listSteps(db(), runId)
    .filter((step) => step.stepId === stepId && step.phase === phase)
    .map((step) => step.output ?? '')
    .join('\n');

async function rollBack(runId: number, planTs: string): Promise<void> {
  await fake.waitFor((f) => flat(f.message(CHANNEL, planTs)?.blocks).includes('run_rollback'), { timeoutMs: 10_000 });
  await click(LEAD, planTs, 'run_rollback');
  await driveToEnd(runId, planTs, { status: 'rolled_back' });
}

function installSudoRule(): void {
  // visudo checks the file before it is put where sudo reads it: a broken sudoers.d file locks sudo out for everyone.
  const draft = join(root, 'sudoers-draft');
  writeFileSync(draft, `${SUDO_RULE}\n`, { mode: 0o440 });
  sh('visudo', ['-cf', draft]);
  writeFileSync(SUDOERS_FILE, `${SUDO_RULE}\n`, { mode: 0o440 });
  chmodSync(SUDOERS_FILE, 0o440);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'scalebot-migration-'));
  chmodSync(root, 0o755);
  home = join(root, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  ids = ensureUser();
  // The container's postgres is uid 999 on the host; any other uid than the user's would do.
  databaseIds = ids.uid === 999 ? { uid: 998, gid: 998 } : { uid: 999, gid: 999 };
  const keyFile = join(home, '.ssh', 'id_ed25519');
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${USER}@old-server`, '-f', keyFile]);
  ownedBy(home, ids, 0o755);
  ownedBy(join(home, '.ssh'), ids, 0o700);
  ownedBy(keyFile, ids, 0o600);
  ownedBy(`${keyFile}.pub`, ids, 0o644);

  const server = (name: string): ComposeServer => {
    mkdirSync(join(root, name), { recursive: true });
    ownedBy(join(root, name), ids, 0o755);
    return { name, appDir: join(root, name, 'galion'), runDir: join(root, name, 'run') };
  };
  servers = { old1: server('old-1'), new1: server('new-1'), old2: server('old-2'), new2: server('new-2') };
  engine = await startComposeStandIn({ dir: root, servers: Object.values(servers), databaseUid: databaseIds.uid, databaseGid: databaseIds.gid });
  // The rsync path's new server is bare (check-new makes the app dir); the restore path's is set up like the old one, its database fresh.
  setUpServer(servers.old1, liveDatabase(), true);
  setUpServer(servers.old2, liveDatabase(), true);
  setUpServer(servers.new2, { PG_VERSION: Buffer.from('16\n'), 'base/1/1259': randomBytes(8192) }, false);
  for (const old of [servers.old1, servers.old2]) expect(engine.compose(old, 'up -d').exitCode).toBe(0);

  installSudoRule();
  [sshd, fake] = await Promise.all([startSshd({ user: USER, authorizedKeys: [readFileSync(`${keyFile}.pub`, 'utf8').trim()] }), startFakeSlack()]);
  // The user's known_hosts names the new server's real host key: ssh checks it (StrictHostKeyChecking stays on).
  writeAs(join(home, '.ssh', 'known_hosts'), `[127.0.0.1]:${sshd.host.port} ${sshd.host.hostKey}\n`, ids, 0o644);
  harness = await startTestBot({ config: config(), fake });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await sshd?.stop();
  await engine?.close();
  rmSync(SUDOERS_FILE, { force: true });
  if (userCreated) spawnSync('userdel', [USER]);
  else if (previousHome !== undefined) spawnSync('usermod', ['-d', previousHome, USER]);
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("this file's runbooks", () => {
  it("are the defaults' steps, confirm flags and rollback, with only DEPLOY_SERVERS_ON_LOOPBACK applied", () => {
    const ours = (parse(config()) as { runbooks: RunbookEntry[] }).runbooks;
    const defaults = shippedRunbookEntries();
    for (const id of Object.keys(PAIRS) as MigrationId[]) {
      const mine = ours.find((runbook) => runbook.id === id)!;
      const shipped = defaults.find((runbook) => runbook.id === id)!;
      expect(mine.steps, id).toEqual(shipped.steps.map((step) => translate(id, step)));
      expect(mine.rollback, id).toEqual((shipped.rollback ?? []).map((step) => translate(id, step)));
      expect(
        shipped.rollback!.map((step) => step.id),
        id,
      ).toEqual(['stop-new', 'start-old']);
      expect(shipped.steps.some((step) => step.run.includes('rsync'))).toBe(true);
    }
    // Anything the translation does not know fails here, not on a server.
    expect(() => translate('vertical-migration', { id: 'x', host: '{{old}}', run: 'cd /home/deploy/galion && docker compose pull' })).toThrow(/no translation/);
    expect(() => translate('vertical-migration', { id: 'x', host: '{{old}}', run: 'scp f deploy@{{new_ip}}:/srv/' })).toThrow(/no translation/);
  });

  it('leaves the database files to their owner: the SSH user can read none of them without sudo, and may run rsync with sudo -n', () => {
    const listing = asUser(`ls ${join(servers.old1.appDir, 'data', 'postgres')}`);
    expect(listing.status).not.toBe(0);
    expect(listing.stderr).toContain('Permission denied');
    expect(asUser('sudo -n -l /usr/bin/rsync').stdout.trim()).toBe('/usr/bin/rsync');
  });
});

describe('vertical-migration: rsync while the app runs, then what changed, with sudo -n on both servers', () => {
  const pair = () => PAIRS['vertical-migration']();
  const data = (server: ComposeServer, file: string) => join(server.appDir, 'data', 'postgres', file);
  let stoppedDigest: string;

  it('copies everything, stops the app, copies exactly what changed since (database files by checksum) and starts the new server', async () => {
    const { old, new: next } = pair();
    const { runId, ts } = await requestAndApprove('run vertical-migration old=old-1 new=new-1 new_ip=127.0.0.1');
    // Stopped at stop-app's confirmation: the first copy is done, the app still runs on the old server.
    await driveToEnd(runId, ts, { stopAt: 'steps:3' });
    expect(outputOf(runId, 'first-copy')).toMatch(/\(xfr#\d+, to-chk=0\/\d+\)[\s\S]*total size is [\d,]+/);
    expect(engine.running(old)).toEqual({ app: true, postgres: true });
    expect(engine.running(next)).toEqual({ app: false, postgres: false });
    expect(databaseDigest(next.appDir)).toBe(databaseDigest(old.appDir));
    const firstCopy = tree(next.appDir);

    // What the app and the database write before the stop: appended, deleted, created, and one page rewritten in place.
    appendFileSync(data(old, 'base/1/2608'), randomBytes(8192));
    rmSync(data(old, 'base/1/16384'));
    writeDatabaseFile(data(old, 'base/1/16390'), randomBytes(8192));
    rewriteKeepingSizeAndMtime(data(old, 'base/1/1259'));
    appendFileSync(join(old.appDir, 'uploads', 'report.csv'), '2,20\n');
    rmSync(join(old.appDir, 'uploads', 'avatar-2.png'));
    writeAs(join(old.appDir, 'uploads', 'avatar-3.png'), randomBytes(1500), ids, 0o644);
    stoppedDigest = databaseDigest(old.appDir);

    expect(await driveToEnd(runId, ts)).toEqual(['steps:3']);
    expect(flat(fake.message(CHANNEL, ts)?.blocks)).toContain('Succeeded');

    // Byte-identical, owners by number, modes, mtimes, the hard link and backups/galion_latest.dump.gz's link.
    expect(tree(next.appDir)).toEqual(tree(old.appDir));
    for (const gone of ['data/postgres/base/1/16384', 'uploads/avatar-2.png']) expect(existsSync(join(next.appDir, gone)), gone).toBe(false);
    expect(firstCopy['data/postgres/base/1/16384']).toBeDefined();
    // The page rewritten in place: the first copy had the old bytes, the final copy's checksum pass carried the new ones.
    expect((firstCopy['data/postgres/base/1/1259'] as { sha: string }).sha).not.toBe(sha(data(old, 'base/1/1259')));
    expect(sha(data(next, 'base/1/1259'))).toBe(sha(data(old, 'base/1/1259')));
    expect(statSync(data(next, 'base/1/16390'))).toMatchObject({ uid: databaseIds.uid, gid: databaseIds.gid });
    expect(statSync(join(next.appDir, 'data', 'postgres')).mode & 0o7777).toBe(0o700);
    expect(statSync(join(next.appDir, 'uploads', 'avatar-1.png')).ino).toBe(statSync(join(next.appDir, 'uploads', 'avatar-1-thumb.png')).ino);
    // The final dump (taken with the app stopped) went over too, and is the newest.
    expect(realpathSync(join(next.appDir, 'backups', 'galion_latest.dump.gz')).startsWith(next.appDir)).toBe(true);
    expect(readdirSync(join(next.appDir, 'backups')).filter((name) => name.endsWith('.dump.gz') && name !== 'galion_latest.dump.gz')).toHaveLength(2);

    // The app runs on the new server only, with the data as it was at the stop.
    expect(engine.running(old)).toEqual({ app: false, postgres: false });
    expect(engine.running(next)).toEqual({ app: true, postgres: true });
    expect(engine.appServes(next)).toBe(stoppedDigest);
    expect(outputOf(runId, 'health')).toContain(`healthy: the app serves database ${stoppedDigest}`);
    expect(await harness.bot.runbooks.getLock('old-1')).toBeUndefined();
    expect(await harness.bot.runbooks.getLock('new-1')).toBeUndefined();

    // rsync's own ssh (as root, through sudo) logged in with the user's key, not the bot's.
    const fingerprint = sh('ssh-keygen', ['-l', '-f', join(home, '.ssh', 'id_ed25519.pub')]).split(' ')[1]!;
    expect(sshd.logs()).toContain(`Accepted publickey for ${USER} from 127.0.0.1`);
    expect(sshd.logs()).toMatch(
      new RegExp(`Accepted publickey for ${USER} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519 ${fingerprint.replace(/[+/]/g, '\\$&')}`),
    );
  }, 90_000);

  it('rolls back after a failed run: the new server stopped, the old one running again with its data', async () => {
    const { old, new: next } = pair();
    // A second run fails at the backup: the old server's database is down since the migration, and backup.sh needs it.
    const { runId, ts } = await requestAndApprove('run vertical-migration old=old-1 new=new-1 new_ip=127.0.0.1');
    await driveToEnd(runId, ts, { status: 'failed' });
    expect(listSteps(db(), runId).map((step) => [step.stepId, step.status])).toEqual([
      ['check-new', 'succeeded'],
      ['backup', 'failed'],
    ]);
    expect(outputOf(runId, 'backup')).toContain('backup failed: the database is not running');

    await rollBack(runId, ts);
    expect(
      listSteps(db(), runId)
        .filter((step) => step.phase === 'rollback')
        .map((step) => [step.stepId, step.exitCode]),
    ).toEqual([
      ['stop-new', 0],
      ['start-old', 0],
    ]);
    expect(engine.running(next)).toEqual({ app: false, postgres: false });
    expect(engine.running(old)).toEqual({ app: true, postgres: true });
    expect(engine.appServes(old)).toBe(stoppedDigest);
  }, 60_000);
});

describe('vertical-migration-restore: the final dump copied and restored on a server set up like the old one', () => {
  const pair = () => PAIRS['vertical-migration-restore']();
  const latestDump = (server: ComposeServer) => join(server.appDir, 'backups', 'galion_latest.dump.gz');

  it('restores the final dump on the new server and starts it there; the old database stays up with its app stopped', async () => {
    const { old, new: next } = pair();
    const freshDigest = databaseDigest(next.appDir);
    const { runId, ts } = await requestAndApprove('run vertical-migration-restore old=old-2 new=new-2 new_ip=127.0.0.1');
    await driveToEnd(runId, ts, { stopAt: 'steps:2' });
    const firstBackup = realpathSync(latestDump(old));
    // Written between the first backup and the stop: only the final dump has it.
    appendFileSync(join(old.appDir, 'data', 'postgres', 'base', '1', '2608'), randomBytes(8192));
    const stoppedDigest = databaseDigest(old.appDir);
    expect(await driveToEnd(runId, ts)).toEqual(['steps:2']);

    const finalBackup = realpathSync(latestDump(old));
    expect(finalBackup).not.toBe(firstBackup);
    // Copied through galion_latest's link (rsync -L): a file on the new server, the final dump's bytes.
    expect(lstatSync(latestDump(next)).isFile()).toBe(true);
    expect(sha(latestDump(next))).toBe(sha(finalBackup));
    expect(Object.keys((JSON.parse(gunzipSync(readFileSync(latestDump(next))).toString()) as { files: object }).files)).toContain('base/1/16384');

    expect(databaseDigest(next.appDir)).not.toBe(freshDigest);
    expect(databaseDigest(next.appDir)).toBe(stoppedDigest);
    for (const entry of walk(join(next.appDir, 'data', 'postgres'))) {
      expect({ path: entry.path, uid: entry.stat.uid, mode: Number(entry.stat.mode) & 0o777 }).toEqual({
        path: entry.path,
        uid: databaseIds.uid,
        mode: entry.stat.isDirectory() ? 0o700 : 0o600,
      });
    }
    expect(engine.running(next)).toEqual({ app: true, postgres: true });
    expect(engine.appServes(next)).toBe(stoppedDigest);
    expect(outputOf(runId, 'health')).toContain(`healthy: the app serves database ${stoppedDigest}`);
    expect(engine.running(old)).toEqual({ app: false, postgres: true });
  }, 90_000);

  it('rolls back a run stopped at the app stop: the new server stopped, the old app running again', async () => {
    const { old, new: next } = pair();
    const { runId, ts } = await requestAndApprove('run vertical-migration-restore old=old-2 new=new-2 new_ip=127.0.0.1');
    await driveToEnd(runId, ts, { stopAt: 'steps:2' });
    await click(LEAD, ts, 'run_stop');
    await driveToEnd(runId, ts, { status: 'stopped' });
    await rollBack(runId, ts);
    expect(engine.running(next)).toEqual({ app: false, postgres: false });
    expect(engine.running(old)).toEqual({ app: true, postgres: true });
    expect(engine.appServes(old)).toBe(databaseDigest(old.appDir));
  }, 60_000);
});

describe('sudo: without the sudoers rule', () => {
  it('stops the rsync path before its first command, with exit 126 and the exact line to add', async () => {
    rmSync(SUDOERS_FILE);
    expect(asUser('sudo -n -l /usr/bin/rsync').status).not.toBe(0);
    const callsBefore = engine.calls.length;
    const { runId, ts } = await requestAndApprove('run vertical-migration old=old-1 new=new-1 new_ip=127.0.0.1');
    await driveToEnd(runId, ts, { status: 'failed' });
    const steps = listSteps(db(), runId);
    expect(steps.map((step) => [step.stepId, step.status, step.exitCode])).toEqual([['check-new', 'failed', 126]]);
    const output = outputOf(runId, 'check-new');
    expect(output).toContain(
      `scalebot: ${USER} may not run rsync with sudo -n on ${hostname()}. As root, install sudo if it is missing, ` +
        `run visudo -f /etc/sudoers.d/scalebot and add: ${SUDO_RULE}`,
    );
    // In Slack too, whole: the redaction of secrets must not take NOPASSWD's command for a password.
    expect(flat(fake.messages(CHANNEL).filter((message) => message.thread_ts === ts))).toContain(`add: ${SUDO_RULE}`);
    // The step's own command never ran: not even `docker compose version`.
    expect(engine.calls.slice(callsBefore)).toEqual([]);
  }, 60_000);
});
