// Throwaway PostgreSQL clusters on loopback ports, for the replica-setup and failover tests. See README.md.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../../../devkit/ports.ts';
import { forgetOnExit, killOnExit } from '../../../devkit/kill-on-exit.ts';

export interface StartPostgresOptions {
  /** Default: a free loopback port. */
  port?: number;
  /** Extra postgresql.conf settings, written as `name = value` (values as PostgreSQL wants them, e.g. "'on'"). */
  settings?: Record<string, string>;
}

export interface PostgresCluster {
  port: number;
  /** The cluster's data directory, owned by `postgres`, mode 0700. */
  dataDir: string;
  /** /usr/lib/postgresql/<newest>/bin: initdb, pg_ctl, postgres, pg_basebackup, psql. */
  binDir: string;
  /** Where the server puts its unix socket (`-k`); also the cluster's own temp root. */
  socketDir: string;
  /** The server log (`pg_ctl -l`). */
  logFile: string;
  /** Runs SQL as the `postgres` superuser over 127.0.0.1 and returns psql's unaligned, tuples-only stdout, trimmed. */
  psql(sql: string, options?: { database?: string; user?: string }): Promise<string>;
  /** `pg_ctl start -w` with this cluster's port; for a data dir filled by pg_basebackup, this starts the standby. */
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`; harmless when not running. */
  stop(): Promise<void>;
  /** The server log so far, for failure messages. */
  logs(): string;
  /** Stops the server and removes everything. */
  destroy(): Promise<void>;
  /** Milliseconds spent in initdb and in the first start (0 when not applicable). */
  timings: { initdbMs: number; startMs: number };
}

const OWNER = 'postgres';

/**
 * Settings every fixture cluster shares, so a base backup of one is a working replica. The port is NOT written
 * here: pg_basebackup copies postgresql.conf, and the replica needs another one. It is passed at start
 * (`pg_ctl -o "-p PORT"`); a runbook step can do the same with `PGPORT={{port}} pg_ctl …`, since the postmaster
 * takes its default port from PGPORT.
 */
const SHARED_SETTINGS: Record<string, string> = {
  listen_addresses: "'127.0.0.1'",
  wal_level: 'replica',
  max_wal_senders: '10',
  max_replication_slots: '10',
  hot_standby: 'on',
  wal_keep_size: "'64MB'",
  // Throwaway clusters: durability is not the point, speed is.
  fsync: 'off',
  synchronous_commit: 'off',
  shared_buffers: "'16MB'",
  max_connections: '30',
  logging_collector: 'off',
  log_line_prefix: "'%m [%p] '",
};

let cachedBinDir: string | undefined;

/** The newest installed major version's bin dir (or PG_BIN_DIR). */
export function postgresBinDir(): string {
  if (cachedBinDir) return cachedBinDir;
  const fromEnv = process.env.PG_BIN_DIR;
  if (fromEnv) return (cachedBinDir = fromEnv);
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+(\.\d+)?$/.test(v) && existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server found under ${base} (install Debian's postgresql, or set PG_BIN_DIR)`);
  return (cachedBinDir = join(base, versions[0]!, 'bin'));
}

/** A new cluster: initdb (as `postgres`), replication-ready settings and pg_hba.conf, started on 127.0.0.1. */
export async function startPostgresCluster(options: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const cluster = await createEmptyCluster({ port: options.port });
  try {
    const began = performance.now();
    // initdb refuses to run as root; everything that touches the data dir runs as its owner.
    await asOwner(
      join(cluster.binDir, 'initdb'),
      ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync', '--no-instructions'],
      cluster.socketDir,
    );
    cluster.timings.initdbMs = Math.round(performance.now() - began);
    const settings = { ...SHARED_SETTINGS, unix_socket_directories: `'${cluster.socketDir}'`, ...options.settings };
    appendFileSync(
      join(cluster.dataDir, 'postgresql.conf'),
      '\n# scalebot test fixture\n' +
        Object.entries(settings)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n') +
        '\n',
    );
    // initdb --auth=trust already trusts local and 127.0.0.1 connections, replication included; say it explicitly.
    appendFileSync(
      join(cluster.dataDir, 'pg_hba.conf'),
      '\n# scalebot test fixture\nhost all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n',
    );
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await cluster.start();
        break;
      } catch (error) {
        // The free port was taken meanwhile: take another, unless the caller asked for this one.
        if (options.port !== undefined || attempt >= 5 || !/Address already in use/.test(cluster.logs())) throw error;
        cluster.port = await freeLoopbackPort();
      }
    }
    cluster.timings.startMs = Math.round(performance.now() - started);
    return cluster;
  } catch (error) {
    const logs = cluster.logs();
    await cluster.destroy();
    throw new Error(`${(error as Error).message}${logs ? `\nserver log:\n${logs}` : ''}`);
  }
}

/**
 * A cluster handle whose data dir exists, is empty and belongs to `postgres` (mode 0700): the target for
 * `pg_basebackup -D <dataDir> -R`, after which `start()` brings the standby up on its own port.
 */
export async function createEmptyCluster(options: { port?: number } = {}): Promise<PostgresCluster> {
  const binDir = postgresBinDir();
  const root = mkdtempSync(join(tmpdir(), 'scalebot-pg-'));
  const dataDir = join(root, 'data');
  const logFile = join(root, 'server.log');
  const { uid, gid } = ownerIds();
  mkdirSync(dataDir, { mode: 0o700 });
  chownSync(root, uid, gid);
  chownSync(dataDir, uid, gid);
  chmodSync(root, 0o755);
  const initialPort = options.port ?? (await freeLoopbackPort());

  const pgCtl = (args: string[]) => asOwner(join(binDir, 'pg_ctl'), ['-D', dataDir, ...args], root);
  const entry = {
    kill() {
      // Process exit without destroy(): immediate shutdown by the postmaster's PID, then the files.
      try {
        const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        if (pid > 1) process.kill(pid, 'SIGQUIT');
      } catch {
        // Not running.
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  killOnExit(entry);

  let destroyed: Promise<void> | undefined;
  const cluster: PostgresCluster = {
    port: initialPort,
    dataDir,
    binDir,
    socketDir: root,
    logFile,
    timings: { initdbMs: 0, startMs: 0 },
    async psql(sql, { database = 'postgres', user = 'postgres' } = {}) {
      const { stdout } = await run(
        join(binDir, 'psql'),
        ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(cluster.port), '-U', user, '-d', database, '-c', sql],
        { env: { ...process.env, PGCONNECT_TIMEOUT: '5' } },
      );
      return stdout.trim();
    },
    async start() {
      // -o: the port belongs to this instance only (see SHARED_SETTINGS); -k in case the conf was copied from elsewhere.
      await pgCtl(['-l', logFile, '-w', '-t', '60', '-o', `-p ${cluster.port} -k ${root}`, 'start']);
    },
    async stop() {
      if (!existsSync(join(dataDir, 'postmaster.pid'))) return;
      await pgCtl(['-w', '-t', '60', '-m', 'fast', 'stop']).catch(() => undefined);
    },
    logs() {
      try {
        return readFileSync(logFile, 'utf8').slice(-16_000);
      } catch {
        return '';
      }
    },
    destroy() {
      destroyed ??= (async () => {
        await cluster.stop();
        forgetOnExit(entry);
        entry.kill();
      })();
      return destroyed;
    },
  };
  return cluster;
}

/** Runs a PostgreSQL tool as the `postgres` user (runuser keeps root's environment minus the identity). */
export function asOwner(command: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return run('runuser', ['-u', OWNER, '--', command, ...args], { cwd });
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) {
        const shown = [command, ...args].join(' ');
        reject(new Error(`${shown} failed (${error.code ?? error.signal ?? 'error'}):\n${stderr || stdout}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

let cachedIds: { uid: number; gid: number } | undefined;
function ownerIds(): { uid: number; gid: number } {
  cachedIds ??= {
    uid: Number(execFileSync('id', ['-u', OWNER], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', OWNER], { encoding: 'utf8' }).trim()),
  };
  return cachedIds;
}
