// deploy/: no container engine runs on this machine, so the Docker files are checked as far as it allows: parsed,
// every file they reference looked up, their healthcheck commands run against a real HTTP server, the compose
// environment fed to the bot's own settings parser. The systemd unit goes through `systemd-analyze verify`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseDatabaseTarget } from '../../core/config/database-target.ts';
import { parseSettings } from '../../core/config/settings.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const packageJson = JSON.parse(read('package.json')) as { scripts: Record<string, string>; dependencies: Record<string, string> };
/** `node bin/scalebot.js serve`: how production runs the bot. */
const START = packageJson.scripts.start!.split(/\s+/);

// ---- Dockerfile ---------------------------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** Instructions as Docker reads them: comments dropped (also inside continuations), `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: string | null = null;
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    if (/^\s*#/.test(raw) || (pending === null && raw.trim() === '')) return;
    if (pending === null) startLine = index + 1;
    const continued = raw.endsWith('\\');
    const joined: string = `${pending ?? ''}${continued ? raw.slice(0, -1) : raw} `;
    if (continued) {
      pending = joined;
      return;
    }
    pending = null;
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(joined.trim());
    if (!match) throw new Error(`Dockerfile line ${startLine}: not an instruction: ${joined.trim()}`);
    instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: startLine });
  });
  if (pending !== null) throw new Error('Dockerfile ends inside a line continuation');
  return instructions;
}

interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** The stages, with `ARG`s declared before the first FROM substituted into their images. */
function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const image = words[0]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string, bare: string) => globalArgs.get(braced ?? bare) ?? '');
      stages.push({ image, name: words[1]?.toUpperCase() === 'AS' ? words[2] : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before the first FROM`);
      const [name, value = ''] = instruction.args.split('=', 2);
      globalArgs.set(name!, value);
    } else stages.at(-1)!.instructions.push(instruction);
  }
  return stages;
}

/** The argv of an exec-form (JSON) command, or of a shell-form one as Docker runs it. */
function commandArgv(form: string): string[] {
  if (form.startsWith('[')) return JSON.parse(form) as string[];
  return ['/bin/sh', '-c', form];
}

interface Copy {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

function parseCopy(args: string): Copy {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  const flags = words.filter((word) => word.startsWith('--'));
  const paths = words.filter((word) => !word.startsWith('--'));
  const from = flags.find((flag) => flag.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: paths.slice(0, -1), destination: paths.at(-1)! };
}

/** Whether .dockerignore keeps `path` out of the build context (Docker's patterns: anchored at the root, `**` any depth). */
function dockerIgnored(path: string, patterns: readonly string[]): boolean {
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = posix.normalize(negated ? pattern.slice(1) : pattern).replace(/^\/+/, '');
    const source = glob
      .split(/(\*\*\/?|\*|\?)/)
      .map((part) => (part.startsWith('**') ? '(?:.*/)?' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    // A pattern naming a folder ignores everything under it.
    if (new RegExp(`^${source}(?:/.*)?$`).test(path)) ignored = !negated;
  }
  return ignored;
}

const dockerignorePatterns = read('.dockerignore')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));

const dockerfile = parseDockerfile(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
const stages = stagesOf(dockerfile);
const runtime = stages.at(-1)!;
const runtimeOf = (keyword: string) => runtime.instructions.filter((instruction) => instruction.keyword === keyword);
const contextCopies = (stage: Stage) =>
  stage.instructions.filter((instruction) => instruction.keyword === 'COPY' || instruction.keyword === 'ADD').map((instruction) => parseCopy(instruction.args));

/** Where each repository path lands in a stage's image, by that stage's COPYs from the build context. */
function stageLayout(stage: Stage): Map<string, string> {
  const workdirs = stage.instructions.filter((instruction) => instruction.keyword === 'WORKDIR');
  expect(workdirs, 'the stage sets a WORKDIR').toHaveLength(1);
  const workdir = workdirs[0]!.args;
  const layout = new Map<string, string>();
  for (const copy of contextCopies(stage).filter((copy) => copy.from === undefined)) {
    const target = posix.resolve(workdir, copy.destination);
    for (const source of copy.sources) {
      const into = copy.destination.endsWith('/') || copy.sources.length > 1 ? posix.join(target, posix.basename(source)) : target;
      layout.set(posix.normalize(source), into);
    }
  }
  return layout;
}

/** Where a repository file lands in a stage's image, by its layout; undefined when it is not copied. */
function landingIn(layout: Map<string, string>, file: string): string | undefined {
  for (const [source, into] of layout) {
    if (file === source) return into;
    if (file.startsWith(`${source}/`)) return posix.join(into, file.slice(source.length + 1));
  }
  return undefined;
}

// The bot's import graph, from the file production starts. Type-only imports vanish at run time and are skipped.
const IMPORT_PATTERNS = [
  /^\s*(?:import|export)\s+(?!type\s)[^'";]*?\bfrom\s+['"]([^'"]+)['"]/gm,
  /^\s*import\s+['"]([^'"]+)['"]/gm,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\bnew URL\(\s*['"](\.[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
];

function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = read(file);
    for (const pattern of IMPORT_PATTERNS) {
      for (const [, specifier] of text.matchAll(pattern)) {
        if (specifier!.startsWith('.')) {
          const target = posix.normalize(posix.join(posix.dirname(file), specifier!));
          // A folder's URL (`new URL('../', import.meta.url)`: the root, say) is not a module.
          if (specifier!.endsWith('/')) continue;
          const found = [target, `${target}.ts`, `${target}/index.ts`].find((candidate) => existsSync(join(ROOT, candidate)));
          if (!found) throw new Error(`${file} imports ${specifier}, which does not exist`);
          queue.push(found);
        } else if (!specifier!.startsWith('node:') && !builtinModules.includes(specifier!)) {
          const parts = specifier!.split('/');
          packages.add(specifier!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
        }
      }
    }
  }
  return { files, packages };
}

/** Files the bot opens by path at run time rather than importing: the guide's defaults and both dialects' migrations. */
const READ_AT_RUN_TIME = ['config/defaults.yaml', 'config/triggers.yaml', 'db/migrations/meta/_journal.json', 'db/postgres/migrations/meta/_journal.json'];

// ---- the healthchecks, run for real -------------------------------------------------------------------------------

let healthServer: Server;
let healthPort = 0;
let healthStatus = 200;
const healthRequests: string[] = [];

beforeAll(async () => {
  healthServer = createServer((request, response) => {
    healthRequests.push(`${request.method} ${request.url}`);
    response.writeHead(request.url === '/health' ? healthStatus : 404).end();
  });
  await new Promise<void>((done) => healthServer.listen(0, '127.0.0.1', done));
  healthPort = (healthServer.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((done) => healthServer.close(() => done())));

/** Runs a healthcheck's argv as the container would, with PORT set; resolves with its exit status. */
function runHealthcheck(argv: readonly string[], port: number): Promise<number | null> {
  const [command, ...args] = argv;
  expect(command, 'the healthcheck runs node (the slim image has no curl or wget)').toBe('node');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: 'ignore' });
    child.once('error', fail);
    child.once('exit', (code) => done(code));
  });
}

async function expectHealthcheckFollowsHealth(argv: readonly string[]) {
  healthRequests.length = 0;
  healthStatus = 200;
  expect(await runHealthcheck(argv, healthPort), 'healthy when GET /health answers 200').toBe(0);
  expect(healthRequests).toEqual(['GET /health']);
  healthStatus = 503;
  expect(await runHealthcheck(argv, healthPort), 'unhealthy when GET /health answers 503').toBe(1);
  // A port nothing answers on: the one this server held, closed for the check.
  const closed = createServer();
  await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
  const closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((done) => closed.close(() => done()));
  expect(await runHealthcheck(argv, closedPort), 'unhealthy when nothing listens').toBe(1);
}

describe('deploy/Dockerfile', () => {
  it('builds the dependencies with the native build tools in one stage and runs on node:20-bookworm-slim in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.image).toBe('node:20-bookworm-slim');
    const build = stages.find((stage) => stage.instructions.some((instruction) => instruction.keyword === 'RUN' && /\bnpm ci\b/.test(instruction.args)));
    expect(build, 'a stage runs npm ci').toBeDefined();
    expect(build).not.toBe(runtime);
    // better-sqlite3's native module loads only on the Node ABI and glibc it was compiled against.
    expect(build!.image, 'the build stage uses the runtime image').toBe(runtime.image);
    const installs = build!.instructions.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args);
    for (const tool of ['python3', 'make', 'g++'])
      expect(
        installs.some((run) => new RegExp(`apt-get install[^&]*\\s${tool.replace('+', '\\+')}(\\s|$)`).test(run)),
        tool,
      ).toBe(true);
    expect(
      installs.find((run) => /\bnpm ci\b/.test(run)),
      'only production dependencies go into the image',
    ).toMatch(/--omit=dev\b/);
    expect(
      runtimeOf('RUN').some((instruction) => /\bnpm (ci|install)\b/.test(instruction.args)),
      'the runtime stage installs nothing with npm',
    ).toBe(false);
  });

  it('copies from the build context only what is in the repository and what .dockerignore lets through', () => {
    const copies = stages.flatMap(contextCopies).filter((copy) => copy.from === undefined);
    expect(copies.length).toBeGreaterThan(0);
    for (const source of copies.flatMap((copy) => copy.sources)) {
      expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
      expect(dockerIgnored(posix.normalize(source), dockerignorePatterns), `${source} is not in .dockerignore`).toBe(false);
    }
  });

  it('keeps secrets, local state and node_modules out of the build context', () => {
    for (const path of ['.env', 'config/.env', 'data/scalebot.db', 'scalebot.db', 'node_modules/pg/package.json', '.git/HEAD', 'tests/deploy/x.test.ts']) {
      expect(dockerIgnored(path, dockerignorePatterns), path).toBe(true);
    }
  });

  it('copies between stages only from a stage defined before', () => {
    stages.forEach((stage, index) => {
      for (const copy of contextCopies(stage).filter((copy) => copy.from !== undefined)) {
        expect(
          stages.slice(0, index).map((earlier) => earlier.name),
          `COPY --from=${copy.from}`,
        ).toContain(copy.from);
      }
    });
  });

  // The build stage compiles (npm ci runs `prepare`, scripts/build.mjs) what the runtime stage then runs from dist/.
  const buildStage = () =>
    stages.find((stage) => stage.instructions.some((instruction) => instruction.keyword === 'RUN' && /\bnpm ci\b/.test(instruction.args)))!;

  it('builds, in the repository layout, from every source file the bot imports, copied before npm ci builds it', () => {
    const stage = buildStage();
    const layout = stageLayout(stage);
    const workdir = stage.instructions.find((instruction) => instruction.keyword === 'WORKDIR')!.args;
    const npmCi = stage.instructions.findIndex((instruction) => instruction.keyword === 'RUN' && /\bnpm ci\b/.test(instruction.args));
    const copiedBeforeBuild = stageLayout({ ...stage, instructions: stage.instructions.slice(0, npmCi) });
    const { files } = importGraph(START[1]!);
    expect(files.size).toBeGreaterThan(100);
    expect(packageJson.scripts.prepare, 'npm ci builds the bot').toMatch(/\bscripts\/build\.mjs\b/);
    for (const file of [...files, 'scripts/build.mjs', 'package.json', 'tsconfig.json']) {
      expect(existsSync(join(ROOT, file)), `${file} exists`).toBe(true);
      // The build finds the worker entries and the files read by path relative to the sources: the repository's layout.
      expect(landingIn(layout, file), `${file} is in the build stage at ${workdir}/${file}`).toBe(posix.join(workdir, file));
      expect(landingIn(copiedBeforeBuild, file), `${file} is copied before npm ci`).toBeDefined();
    }
  });

  it('runs the build from dist/, with every file it reads by path in the repository layout, and no TypeScript or tests', () => {
    const layout = stageLayout(runtime);
    const workdir = runtimeOf('WORKDIR')[0]!.args;
    const fromBuild = runtimeOf('COPY')
      .map((instruction) => parseCopy(instruction.args))
      .filter((copy) => copy.from === buildStage().name);
    expect(fromBuild.map((copy) => [copy.sources, posix.resolve(workdir, copy.destination)])).toContainEqual([['/app/dist'], posix.join(workdir, 'dist')]);
    for (const file of [START[1]!, 'bin/build-state.js', ...READ_AT_RUN_TIME, 'package.json']) {
      expect(existsSync(join(ROOT, file)), `${file} exists`).toBe(true);
      // Paths inside the bot are relative to its source files (import.meta.url, kept by the build): the layout must be the repository's.
      expect(landingIn(layout, file), `${file} is in the image at ${workdir}/${file}`).toBe(posix.join(workdir, file));
    }
    const sources = [...layout.keys()];
    expect(
      sources.filter((source) => source.startsWith('tests') || source.startsWith('devkit')),
      'no test code in the image',
    ).toEqual([]);
    // With no TypeScript beside it, the bin never takes the build for stale and never tries to rebuild it.
    expect(
      sources.filter((source) => ['bot', 'core', 'services', 'commands', 'integrations', 'charts', 'blocks', 'scripts'].includes(source.split('/')[0]!)),
    ).toEqual([]);
    expect(sources.filter((source) => source === 'db' || source.endsWith('.ts'))).toEqual([]);
  });

  it('has every package the bot imports at run time among the production dependencies (npm ci --omit=dev)', () => {
    const { packages } = importGraph(START[1]!);
    expect(packages.size).toBeGreaterThan(5);
    expect([...packages].filter((name) => !(name in packageJson.dependencies))).toEqual([]);
  });

  it('runs as a user other than root in the runtime stage', () => {
    const users = runtimeOf('USER');
    expect(users.length, 'a USER in the runtime stage').toBeGreaterThan(0);
    const [user, group] = users.at(-1)!.args.split(':');
    expect(['root', '0', '']).not.toContain(user);
    expect(['root', '0']).not.toContain(group);
    const last = runtime.instructions.findLastIndex((instruction) => instruction.keyword === 'RUN');
    expect(runtime.instructions.indexOf(users.at(-1)!), 'USER comes after the last RUN, so nothing later undoes it').toBeGreaterThan(last);
  });

  it('runs the bot as npm start does, with node as the process that gets SIGTERM', () => {
    expect(runtimeOf('ENTRYPOINT')).toEqual([]);
    const commands = runtimeOf('CMD');
    expect(commands).toHaveLength(1);
    // Exec form: a shell in between would take the SIGTERM the bot needs to release its lease.
    expect(commands[0]!.args.startsWith('['), 'CMD in exec form').toBe(true);
    expect(commandArgv(commands[0]!.args)).toEqual(START);
    expect(runtimeOf('STOPSIGNAL').map((instruction) => instruction.args)).not.toContain('SIGKILL');
  });

  it('listens on all interfaces on port 3000', () => {
    const env = Object.fromEntries(
      runtimeOf('ENV').flatMap((instruction) =>
        [...instruction.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map(([, name, value]) => [name, value!.replace(/"/g, '')]),
      ),
    );
    expect(env.HOST).toBe('0.0.0.0');
    expect(env.PORT ?? '3000').toBe('3000');
    expect(runtimeOf('EXPOSE').map((instruction) => instruction.args)).toContain('3000');
  });

  it('has a HEALTHCHECK that is healthy exactly when GET /health answers 200', async () => {
    const checks = runtimeOf('HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const match = /^((?:--\S+\s+)*)CMD\s+([\s\S]+)$/.exec(checks[0]!.args);
    expect(match, 'HEALTHCHECK [OPTIONS] CMD command').not.toBeNull();
    await expectHealthcheckFollowsHealth(commandArgv(match![2]!));
  });
});

// ---- docker-compose.yml -------------------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  init?: boolean;
  env_file?: string | string[];
  environment?: Record<string, string | number | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  deploy?: { replicas?: number };
  stop_grace_period?: string;
}

const compose = parseYaml(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const envExample = parseEnv(readFileSync(join(DEPLOY, '.env.example'), 'utf8')) as Record<string, string>;
/** deploy/.env as a person fills it in from the example. */
const filledEnv = { ...envExample, POSTGRES_PASSWORD: 'a-test-password' };

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}; a missing required variable is an error, as there. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, kind: string | undefined, rest: string) => {
    const set = env[name];
    if (set) return set;
    if (kind === '?') throw new Error(`compose would stop: ${name} is not set (${rest})`);
    return kind === '-' ? rest : '';
  });
}

const botServices = Object.entries(compose.services).filter(([, service]) => service.build !== undefined || service.image === 'scalebot:local');
const environmentOf = (service: ComposeService) =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(String(value ?? ''), filledEnv)]));
const seconds = (duration: string) => {
  const match = /^(\d+)(ms|s|m|min)?$/.exec(duration.trim());
  if (!match) throw new Error(`not a duration: ${duration}`);
  const unit = { ms: 0.001, s: 1, m: 60, min: 60 }[match[2] ?? 's']!;
  return Number(match[1]) * unit;
};

describe('deploy/docker-compose.yml', () => {
  it('runs PostgreSQL 15 on a named volume with a pg_isready healthcheck', () => {
    const postgres = compose.services.postgres!;
    expect(postgres.image).toMatch(/^postgres:15(\b|$)/);
    expect(postgres.healthcheck?.test.join(' ')).toMatch(/\bpg_isready\b/);
    const dataVolume = postgres.volumes?.find((volume) => volume.split(':')[1] === '/var/lib/postgresql/data');
    expect(dataVolume, 'a volume on /var/lib/postgresql/data').toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataVolume!.split(':')[0]);
  });

  it('runs two bot replicas built from deploy/Dockerfile', () => {
    const replicas = botServices.reduce((sum, [, service]) => sum + (service.deploy?.replicas ?? 1), 0);
    expect(replicas).toBe(2);
    for (const [name, service] of botServices) {
      expect(service.build, `${name} is built here`).toBeDefined();
      const context = resolve(DEPLOY, service.build!.context);
      expect(context, `${name}: the build context is the repository (where .dockerignore is)`).toBe(ROOT);
      expect(resolve(context, service.build!.dockerfile), name).toBe(join(DEPLOY, 'Dockerfile'));
      expect(service.init, `${name}: an init process as PID 1`).toBe(true);
    }
  });

  it('points every replica at the compose PostgreSQL, as the role and database it creates', () => {
    const postgresEnv = environmentOf(compose.services.postgres!);
    for (const [name, service] of botServices) {
      const parsed = parseDatabaseTarget(environmentOf(service).SCALEBOT_DB);
      expect(parsed.ok && parsed.target.kind, name).toBe('postgres');
      const url = new URL(parsed.ok && parsed.target.kind === 'postgres' ? parsed.target.url : 'x:');
      expect(`${url.hostname}:${url.port}`, name).toBe('postgres:5432');
      expect(decodeURIComponent(url.username), name).toBe(postgresEnv.POSTGRES_USER);
      expect(decodeURIComponent(url.password), name).toBe(postgresEnv.POSTGRES_PASSWORD);
      expect(url.pathname, name).toBe(`/${postgresEnv.POSTGRES_DB}`);
    }
  });

  it("gives every replica settings the bot's own parser accepts, listening beyond loopback", () => {
    for (const [name, service] of botServices) {
      expect(service.env_file, name).toBe('.env');
      const settings = parseSettings({ ...envExample, ...environmentOf(service) });
      expect(settings.host, name).toBe('0.0.0.0');
      expect(settings.port, name).toBe(3000);
      expect(Number(environmentOf(service).SCALEBOT_LEASE_SECONDS), `${name}: SCALEBOT_LEASE_SECONDS`).toBeGreaterThan(0);
    }
  });

  it('interpolates only variables that .env.example lists', () => {
    const text = readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8');
    const used = new Set([...text.matchAll(/\$\{(\w+)/g)].map(([, name]) => name!));
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((name) => !(name in envExample))).toEqual([]);
  });

  it('references only files that exist: the env file comes from its example, which git keeps out of commits', () => {
    for (const [name, service] of botServices) {
      for (const file of [service.env_file ?? []].flat()) {
        const example = join(DEPLOY, `${file}.example`);
        expect(existsSync(join(DEPLOY, file)) || existsSync(example), `${name}: ${file} or ${file}.example`).toBe(true);
        const ignored = spawnSync('git', ['check-ignore', '--quiet', join('deploy', file)], { cwd: ROOT });
        expect(ignored.status, `${name}: git ignores deploy/${file}, which holds the tokens`).toBe(0);
      }
    }
    const bindMounts = Object.values(compose.services).flatMap((service) => (service.volumes ?? []).filter((volume) => /^[./~]/.test(volume)));
    for (const mount of bindMounts) expect(existsSync(resolve(DEPLOY, mount.split(':')[0]!)), mount).toBe(true);
  });

  it('starts each replica once PostgreSQL is healthy, with its own healthcheck on GET /health', async () => {
    for (const [name, service] of botServices) {
      expect(service.depends_on?.postgres?.condition, name).toBe('service_healthy');
      const [kind, ...argv] = service.healthcheck?.test ?? [];
      expect(kind, name).toBe('CMD');
      await expectHealthcheckFollowsHealth(argv);
    }
  });

  it('gives a replica as long to stop cleanly as the systemd unit does', () => {
    for (const [name, service] of botServices) expect(seconds(service.stop_grace_period ?? '10s'), name).toBe(seconds(unitValue('TimeoutStopSec')!));
  });
});

// ---- scalebot.service ---------------------------------------------------------------------------------------------

const UNIT_FILE = join(DEPLOY, 'scalebot.service');
const unitText = readFileSync(UNIT_FILE, 'utf8');
/** The unit's settings by key (the last assignment wins, as in systemd, for the single-valued keys read here). */
const unitSettings = new Map(
  unitText
    .split('\n')
    .map((line) => /^([A-Za-z]+)=(.*)$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map((match) => [match[1]!, match[2]!.trim()] as const),
);
const unitValue = (key: string) => unitSettings.get(key);

/**
 * `systemd-analyze verify` on a copy of the unit: systemd 252 checks that ExecStart's program exists, so the copy runs
 * this machine's node on this checkout (a scalebot user, /etc/scalebot and /opt/scalebot need not exist: verify does
 * not look them up). Everything else is verified as written. Returns what systemd-analyze printed, and its status.
 */
function verifyUnit(text: string): { status: number | null; output: string } {
  const folder = mkdtempSync(join(tmpdir(), 'scalebot-unit-'));
  try {
    const installed = unitValue('WorkingDirectory')!;
    const copy = text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `).replaceAll(installed, ROOT);
    writeFileSync(join(folder, 'scalebot.service'), copy);
    const result = spawnSync('systemd-analyze', ['verify', join(folder, 'scalebot.service')], { encoding: 'utf8' });
    if (result.error) throw new Error(`systemd-analyze could not run (apt-get install systemd): ${result.error.message}`);
    return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

describe('deploy/scalebot.service', () => {
  it('passes systemd-analyze verify without a word', () => {
    expect(verifyUnit(unitText)).toEqual({ status: 0, output: '' });
  });

  it('would be caught by that check if a key were misspelt or a value wrong', () => {
    expect(verifyUnit(unitText.replace('ProtectSystem=strict', 'ProtectSytem=strict')).output).toMatch(/Unknown key 'ProtectSytem'/);
    expect(verifyUnit(unitText.replace(/^TimeoutStopSec=.*$/m, 'TimeoutStopSec=half a minute')).output).toMatch(/Failed to parse/);
  });

  it('runs the bot as npm start does, as the scalebot user, with its tokens from /etc/scalebot/scalebot.env', () => {
    const workingDirectory = unitValue('WorkingDirectory')!;
    const [program, script, ...args] = unitValue('ExecStart')!.split(/\s+/);
    expect(posix.basename(program!)).toBe(START[0]);
    expect(posix.isAbsolute(program!)).toBe(true);
    expect([relative(workingDirectory, script!), ...args]).toEqual(START.slice(1));
    expect(unitValue('User')).toBe('scalebot');
    expect(unitValue('EnvironmentFile')).toBe('/etc/scalebot/scalebot.env');
    expect(unitValue('Restart')).toBe('on-failure');
    expect(existsSync(join(DEPLOY, 'scalebot.env.example')), 'deploy/scalebot.env.example').toBe(true);
    expect(statSync(join(ROOT, START[1]!)).isFile()).toBe(true);
  });

  it('is hardened: no new privileges, a read-only system but for its state directory, private /tmp, no home directories', () => {
    expect(unitValue('NoNewPrivileges')).toBe('yes');
    expect(unitValue('ProtectSystem')).toBe('strict');
    expect(unitValue('PrivateTmp')).toBe('yes');
    expect(['yes', 'read-only', 'tmpfs']).toContain(unitValue('ProtectHome'));
    expect(unitValue('CapabilityBoundingSet')).toBe('');
    const stateDirectory = `/var/lib/${unitValue('StateDirectory')}`;
    expect(unitValue('ReadWritePaths')?.split(/\s+/)).toContain(stateDirectory);
    // V8 compiles to writable executable memory: with this on, node does not start.
    expect(unitValue('MemoryDenyWriteExecute') ?? 'no').toBe('no');
  });

  it('stops with SIGTERM to node and gives the bot time to release its lease before SIGKILL', () => {
    expect(unitValue('KillSignal') ?? 'SIGTERM').toBe('SIGTERM');
    expect(['mixed', 'control-group', undefined]).toContain(unitValue('KillMode'));
    const budget = seconds(unitValue('TimeoutStopSec')!);
    // A running step's stop (TERM, then KILL 3 s later, 2 s for its exit), an in-flight Prometheus query (5 s), the release.
    expect(budget).toBeGreaterThanOrEqual(15);
    expect(budget, 'not so long that a hung stop keeps the host waiting').toBeLessThanOrEqual(90);
  });
});
