import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { planRun, type HostDef } from '../../core/runbooks.ts';

// The shipped runbooks against the guide's order and ownership traps (issue 18), and the commands that can run
// here (sudo preflight, the load balancer checks) run for real in sh.

const config = loadConfig();
const runbook = (id: string) => config.runbooks.find((entry) => entry.id === id)!;
const hosts = new Map<string, HostDef>(
  ['a', 'b'].map((name) => [name, { name, address: '127.0.0.1', port: 22, user: 'deploy', privateKeyFile: '/k', hostKey: 'x' }]),
);
const sh = (command: string) => spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout: 30_000 });
/**
 * As a user no sudoers rule names: root may run anything with sudo, so the check is seen refusing only as someone
 * else (`nobody`, when the tests run as root, as they do in CI).
 */
const shWithoutSudoRule = (command: string) =>
  process.getuid?.() === 0 ? spawnSync('runuser', ['-u', 'nobody', '--', 'sh', '-c', command], { encoding: 'utf8', timeout: 30_000 }) : sh(command);
/** sh without blocking the event loop: the HTTP server the command asks lives in this process. */
const shAsync = (command: string) =>
  new Promise<{ status: number | null; stdout: string }>((resolve) => {
    const child = spawn('sh', ['-c', command]);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('close', (status) => resolve({ status, stdout }));
  });

describe('vertical migration, both paths', () => {
  for (const id of ['vertical-migration', 'vertical-migration-restore']) {
    it(`${id}: backs up while the database runs, takes the final dump with the app stopped, before anything stops the database`, () => {
      const steps = runbook(id).steps;
      const at = (stepId: string) => steps.findIndex((step) => step.id === stepId);
      const downs = steps.filter((step) => step.run.includes('docker compose down')).map((step) => steps.indexOf(step));
      expect(at('backup')).toBeLessThan(at('stop-app'));
      expect(at('stop-app')).toBeLessThan(at('final-backup'));
      for (const down of downs) expect(at('final-backup')).toBeLessThan(down);
      expect(steps[at('stop-app')]!.confirm).toBe(true);
      expect(steps[at('stop-app')]!.run).toContain('grep -vx postgres');
      expect(runbook(id).description).toContain('Migration (1-2 hours)');
    });
  }

  it('vertical-migration: every rsync over the data directory runs with sudo -n, checked first', () => {
    for (const step of runbook('vertical-migration').steps.filter((entry) => entry.run.includes('rsync'))) {
      expect(step.sudo, step.id).toEqual(['rsync']);
      expect(step.run.match(/sudo -n rsync/g)?.length, step.id).toBeGreaterThanOrEqual(2);
    }
  });
});

describe('sudo: the preflight names the sudoers line to add', () => {
  const demo = (sudo: string[]) => {
    const file = join(mkdtempSync(join(tmpdir(), 'scalebot-sudo-')), 'config.yaml');
    writeFileSync(
      file,
      'runbooks:\n  - { id: t, title: T, params: [{ name: h, type: host }],\n' +
        `      steps: [{ id: s, host: "{{h}}", sudo: ${JSON.stringify(sudo)}, run: "echo ran" }] }\n`,
    );
    return loadConfig({ file });
  };

  it('stops with exit 126 and the rule, before the command, when sudo -n may not run the program', () => {
    const step = { ...runbook('vertical-migration').steps.find((entry) => entry.id === 'check-new')!, sudo: ['sh'], run: 'echo ran' };
    const plan = planRun({ ...runbook('vertical-migration'), steps: [step], rollback: [] }, { old: 'a', new: 'b', new_ip: '10.0.0.5' }, hosts);
    const result = shWithoutSudoRule(plan.steps[0]!.command);
    expect(result.status).toBe(126);
    expect(result.stdout).not.toContain('ran');
    expect(result.stderr).toMatch(/may not run sh with sudo -n .*visudo -f \/etc\/sudoers\.d\/scalebot and add: /);
    expect(result.stderr).toMatch(/: \S+ ALL=\(root\) NOPASSWD: \/\S*\/sh\n$/);
  });

  it('says the program is missing when it is not on PATH', () => {
    const step = { ...runbook('vertical-migration').steps[0]!, sudo: ['no-such-program-x'], run: 'echo ran' };
    const plan = planRun({ ...runbook('vertical-migration'), steps: [step], rollback: [] }, { old: 'a', new: 'b', new_ip: '10.0.0.5' }, hosts);
    const result = sh(plan.steps[0]!.command);
    expect(result.status).toBe(127);
    expect(result.stderr).toContain('no-such-program-x is not installed');
  });

  it('refuses a path or a command line in sudo:', () => {
    for (const bad of ['/usr/bin/rsync', 'rsync -a', '']) {
      expect(() => demo([bad]), bad).toThrow(/sudo.*a program name as sudoers names it/);
    }
    expect(demo(['rsync']).runbooks.find((entry) => entry.id === 't')!.steps[0]!.sudo).toEqual(['rsync']);
  });
});

describe('load-balancer-backends, run here', () => {
  let server: Server;
  let port: number;
  let ready = 200;
  beforeAll(async () => {
    server = createServer((request, response) => {
      response.statusCode = request.url === '/health' ? ready : request.url === '/health/ready' ? 200 : 404;
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const plan = (params: Record<string, string>) =>
    planRun(runbook('load-balancer-backends'), { app_a: 'a', app_b: 'b', domain: 'localhost', lb_ip: '127.0.0.1', ...params }, hosts);
  // The one translation: port 80 of the app server becomes this test's server; sleeps shortened.
  const local = (command: string) =>
    command.replace('http://127.0.0.1:80', `http://127.0.0.1:${port}`).replace('sleep 10', 'sleep 0.1').replace('--max-time 5', '--max-time 2');

  it('checks /health by default, as the load balancer checklist does, the guide contradicting itself between /health and /health/ready', async () => {
    expect(runbook('load-balancer-backends').description).toMatch(/\/health in[\s\S]*\/health\/ready/);
    const steps = plan({}).steps;
    expect(steps.map((step) => step.id)).toEqual(['health-a', 'health-b', 'dns']);
    ready = 200;
    expect((await shAsync(local(steps[0]!.command))).stdout).toContain('HTTP 200');
    ready = 503;
    const failed = await shAsync(local(steps[1]!.command));
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain('try 3: HTTP 503');
    expect((await shAsync(local(plan({ health_path: '/health/ready' }).steps[1]!.command))).status).toBe(0);
  });

  it('passes DNS only when the name resolves to the load balancer alone', () => {
    expect(sh(plan({}).steps[2]!.command).status).toBe(0);
    const wrong = sh(plan({ lb_ip: '10.9.9.9' }).steps[2]!.command);
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toContain('resolves to: 127.0.0.1 ; the load balancer is 10.9.9.9');
  });
});

describe('the irreversible failover', () => {
  it('is marked as such in its title, description and confirmed step, with no rollback', () => {
    const failover = runbook('db-failover');
    expect(failover.title).toContain('irreversible');
    expect(failover.description).toMatch(/^IRREVERSIBLE/);
    expect(failover.description).toContain('scratch replica');
    expect(failover.steps[0]).toMatchObject({ id: 'promote', confirm: true });
    expect(failover.rollback).toEqual([]);
  });
});
