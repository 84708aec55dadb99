// A stand-in for `docker compose` on the "servers" of tests/services/runbooks/vertical-migration.test.ts: one
// client script, the same path on every server as `docker` is, that asks an engine in the test process over a
// unix socket to act on the project in $PWD. The engine runs as root, as dockerd does, so the "postgres" service
// can read and write data/postgres/ (owned by the database's uid, mode 0700) while the SSH user cannot. A
// service's state is a file in the server's run/ dir, beside the app dir and not in it: rsync must not carry
// "running" from one server to the other, as it cannot carry a container.
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';

export interface ComposeServer {
  name: string;
  /** The app dir, `/home/deploy/galion` on that server. */
  appDir: string;
  /** Where the engine keeps which services run: `run/postgres.running`, `run/app.running` (the data digest the app serves). */
  runDir: string;
}

export interface ComposeCall {
  server: string;
  args: string;
  exitCode: number;
}

export interface ComposeStandIn {
  /** The client's path: what `docker compose` becomes in the translated commands and in the app's scripts. */
  readonly client: string;
  readonly calls: ComposeCall[];
  running(server: ComposeServer): { app: boolean; postgres: boolean };
  /** The data digest the app on this server was started with, or undefined when it is not running. */
  appServes(server: ComposeServer): string | undefined;
  /** What `docker compose <args>` does on that server, run by the test itself (not over SSH). */
  compose(server: ComposeServer, args: string): { exitCode: number; output: string };
  close(): Promise<void>;
}

const SERVICES = ['postgres', 'app'] as const;
type Service = (typeof SERVICES)[number];
/** The client's exit status for each answer: 2 is pg_isready's "no response", 64 a command the stand-in does not know. */
const STATUS_OF_EXIT: Record<number, number> = { 0: 200, 1: 500, 2: 503, 64: 400 };

/** Every regular file under `dir`, by path relative to it, sorted. */
function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const stat = lstatSync(path);
      if (stat.isDirectory()) return filesUnder(path, `${prefix}${name}/`);
      return stat.isFile() ? [`${prefix}${name}`] : [];
    });
}

/** What the database holds: a digest of data/postgres's files, names and contents. */
export function databaseDigest(appDir: string): string {
  const hash = createHash('sha256');
  const dataDir = join(appDir, 'data', 'postgres');
  for (const file of filesUnder(dataDir))
    hash
      .update(`${file}\0`)
      .update(readFileSync(join(dataDir, file)))
      .update('\0');
  return hash.digest('hex').slice(0, 16);
}

export async function startComposeStandIn(options: {
  dir: string;
  servers: ComposeServer[];
  databaseUid: number;
  databaseGid: number;
}): Promise<ComposeStandIn> {
  const socket = join(options.dir, 'compose.sock');
  const client = join(options.dir, 'bin', 'compose');
  const calls: ComposeCall[] = [];
  const marker = (server: ComposeServer, service: Service) => join(server.runDir, `${service}.running`);
  const isRunning = (server: ComposeServer, service: Service) => existsSync(marker(server, service));

  function start(server: ComposeServer, service: Service): [number, string] {
    if (isRunning(server, service)) return [0, `Container galion-${service}-1  Running\n`];
    if (service === 'postgres' && !existsSync(join(server.appDir, 'data', 'postgres'))) return [1, 'postgres: data/postgres is missing\n'];
    if (service === 'app' && !isRunning(server, 'postgres')) return [1, 'dependency failed to start: container galion-postgres-1 is not running\n'];
    mkdirSync(server.runDir, { recursive: true });
    writeFileSync(marker(server, service), service === 'app' ? databaseDigest(server.appDir) : 'accepting connections');
    return [0, `Container galion-${service}-1  Started\n`];
  }

  function stop(server: ComposeServer, service: Service): string {
    const was = isRunning(server, service);
    rmSync(marker(server, service), { force: true });
    return `Container galion-${service}-1  ${was ? 'Stopped' : 'Not running'}\n`;
  }

  function dump(server: ComposeServer): string {
    const dataDir = join(server.appDir, 'data', 'postgres');
    return JSON.stringify({ files: Object.fromEntries(filesUnder(dataDir).map((file) => [file, readFileSync(join(dataDir, file)).toString('base64')])) });
  }

  function restore(server: ComposeServer, input: string): [number, string] {
    let files: Record<string, string>;
    try {
      files = (JSON.parse(input) as { files: Record<string, string> }).files;
      if (!files || typeof files !== 'object') throw new Error('no files');
    } catch {
      return [1, 'pg_restore: error: input file does not appear to be a valid archive\n'];
    }
    const dataDir = join(server.appDir, 'data', 'postgres');
    for (const name of readdirSync(dataDir)) rmSync(join(dataDir, name), { recursive: true, force: true });
    for (const [file, content] of Object.entries(files)) {
      const parts = file.split('/');
      let dir = dataDir;
      for (const part of parts.slice(0, -1)) {
        dir = join(dir, part);
        if (!existsSync(dir)) {
          mkdirSync(dir, { mode: 0o700 });
          chownSync(dir, options.databaseUid, options.databaseGid);
        }
      }
      const path = join(dataDir, file);
      writeFileSync(path, Buffer.from(content, 'base64'), { mode: 0o600 });
      chownSync(path, options.databaseUid, options.databaseGid);
    }
    return [0, `pg_restore: restored ${Object.keys(files).length} files\n`];
  }

  function act(server: ComposeServer, args: string, input: string): [number, string] {
    const words = args.split(' ').filter(Boolean);
    const services = (given: string[]): Service[] | undefined =>
      given.length === 0 ? [...SERVICES] : given.every((name) => (SERVICES as readonly string[]).includes(name)) ? (given as Service[]) : undefined;
    if (args === 'config --quiet') return existsSync(join(server.appDir, 'compose.yaml')) ? [0, ''] : [1, 'no configuration file provided: not found\n'];
    if (args === 'config --services') return [0, `${SERVICES.join('\n')}\n`];
    if (words[0] === 'down' && words.length === 1)
      return [
        0,
        [...SERVICES]
          .reverse()
          .map((service) => stop(server, service))
          .join(''),
      ];
    if (words[0] === 'stop' && services(words.slice(1)))
      return [
        0,
        services(words.slice(1))!
          .map((service) => stop(server, service))
          .join(''),
      ];
    if (words[0] === 'up' && words[1] === '-d' && services(words.slice(2))) {
      let output = '';
      for (const service of services(words.slice(2))!) {
        const [code, text] = start(server, service);
        output += text;
        if (code !== 0) return [code, output];
      }
      return [0, output];
    }
    if (args === 'exec -T postgres pg_isready -q') return [isRunning(server, 'postgres') ? 0 : 2, ''];
    if (words.slice(0, 3).join(' ') === 'exec -T postgres' && !isRunning(server, 'postgres')) return [1, 'service "postgres" is not running\n'];
    if (args === 'exec -T postgres pg_dump') return [0, dump(server)];
    if (args === 'exec -T postgres pg_restore') return restore(server, input);
    if (args === 'exec -T app health') {
      if (!isRunning(server, 'app')) return [1, 'service "app" is not running\n'];
      const serves = readFileSync(marker(server, 'app'), 'utf8');
      const holds = databaseDigest(server.appDir);
      return serves === holds ? [0, `healthy: the app serves database ${serves}\n`] : [1, `unhealthy: the app serves ${serves}, the database holds ${holds}\n`];
    }
    return [64, `compose stand-in: no such command here: ${args}\n`];
  }

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const project = String(request.headers['x-project'] ?? '');
      const args = String(request.headers['x-args'] ?? '').trim();
      const real = (path: string) => (existsSync(path) ? realpathSync(path) : path);
      const target = options.servers.find((candidate) => real(candidate.appDir) === real(project));
      let code: number;
      let output: string;
      try {
        // `version` asks compose itself, not a project: the shipped check-new runs it before the app dir exists.
        if (args === 'version') [code, output] = [0, 'Docker Compose version v2 (scalebot test stand-in)\n'];
        else if (target) [code, output] = act(target, args, Buffer.concat(chunks).toString('utf8'));
        else [code, output] = [64, `compose stand-in: no project in ${project}\n`];
      } catch (error) {
        [code, output] = [1, `compose stand-in: ${(error as Error).message}\n`];
      }
      calls.push({ server: target?.name ?? project, args, exitCode: code });
      response.statusCode = STATUS_OF_EXIT[code] ?? 500;
      response.end(output);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  chmodSync(socket, 0o666);

  mkdirSync(join(options.dir, 'bin'), { recursive: true, mode: 0o755 });
  // Exit statuses as compose passes them on; stdin reaches the engine only for pg_restore (a step's stdin may never end).
  writeFileSync(
    client,
    [
      '#!/bin/sh',
      "# `docker compose` stand-in: the test's engine (root, as dockerd) acts on the project in $PWD.",
      'out=$(mktemp) || exit 125',
      'input=/dev/null',
      '[ "$*" = "exec -T postgres pg_restore" ] && input=-',
      `code=$(curl -sS --unix-socket ${socket} -o "$out" -w '%{http_code}' -H "X-Project: $PWD" -H "X-Args: $*" --data-binary "@$input" http://compose/) ||`,
      '  { rm -f "$out"; echo "compose stand-in: the engine did not answer" >&2; exit 125; }',
      'case "$code" in 200) status=0 ;; 503) status=2 ;; 400) status=64 ;; *) status=1 ;; esac',
      'if [ "$status" = 0 ]; then cat "$out"; else cat "$out" >&2; fi',
      'rm -f "$out"',
      'exit "$status"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );

  return {
    client,
    calls,
    running: (target) => ({ app: isRunning(target, 'app'), postgres: isRunning(target, 'postgres') }),
    compose: (target, args) => {
      const [exitCode, output] = act(target, args, '');
      return { exitCode, output };
    },
    appServes: (target) => (isRunning(target, 'app') ? readFileSync(marker(target, 'app'), 'utf8') : undefined),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
