import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Dashboard, Panel } from '@grafana/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';

// `npx scalebot dashboard`: through the real entry point (bin/scalebot.js, as npx runs it), stdout parsed as
// the JSON Grafana imports. @grafana/schema is a devDependency: a module hook records every package the
// command resolves, so a value import of it creeping into the bot's code (which an install without dev
// dependencies would fail on) shows here. Each run pays tsx and the bot's imports, hence the timeouts.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let resolvedLog: string;
let registerHooks: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function scalebot(args: string[], env: Record<string, string> = {}, nodeOptions: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...nodeOptions, 'bin/scalebot.js', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'scalebot-cli-dashboard-'));
  resolvedLog = join(dir, 'resolved.log');
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (!specifier.startsWith('.') && !specifier.startsWith('/') && !specifier.startsWith('file:') && !specifier.startsWith('node:')) {
    appendFileSync(${JSON.stringify(resolvedLog)}, specifier + '\\n');
  }
  return next(specifier, context);
}
`,
  );
  registerHooks = join(dir, 'register.mjs');
  writeFileSync(registerHooks, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${join(dir, 'hooks.mjs')}`)});\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('scalebot dashboard', () => {
  it("prints the guide's triggers as a dashboard JSON, without loading @grafana/schema", async () => {
    const run = await scalebot(['dashboard'], {}, ['--import', registerHooks]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const dashboard = JSON.parse(run.stdout) as Dashboard;
    const triggers = loadConfig().triggers;
    const panels = (dashboard.panels ?? []).filter((panel): panel is Panel => panel.type === 'timeseries');
    expect(panels.map((panel) => panel.title)).toEqual([
      ...triggers.filter((trigger) => trigger.severity === 'immediate').map((trigger) => trigger.name),
      ...triggers.filter((trigger) => trigger.severity === 'soon').map((trigger) => trigger.name),
    ]);
    expect(dashboard.templating?.list?.map((variable) => variable.name)).toEqual(['datasource', 'instance']);

    const resolved = readFileSync(resolvedLog, 'utf8').split('\n');
    // The hook does see the packages the command loads (else its silence would prove nothing) …
    expect(resolved).toContain('commander');
    expect(resolved).toContain('yaml');
    // … and @grafana/schema is not among them.
    expect(resolved.filter((specifier) => specifier.startsWith('@grafana/'))).toEqual([]);
  }, 90_000);

  it('takes a datasource uid and the config file', async () => {
    const config = join(dir, 'triggers.yaml');
    writeFileSync(
      config,
      'triggers:\n' +
        '  - { id: queue_depth, name: Queue depth, severity: soon, query: "max by (instance) (queue_depth)", op: ">", threshold: 1000, unit: count }\n',
    );
    const run = await scalebot(['dashboard', '--datasource', 'P1809F7CD0C75ACF3'], { SCALEBOT_CONFIG: config });
    expect(run.stderr).toBe('');
    const dashboard = JSON.parse(run.stdout) as Dashboard;
    expect(dashboard.templating?.list?.map((variable) => variable.name)).toEqual(['instance']);
    const queue = dashboard.panels?.find((panel) => panel.title === 'Queue depth') as Panel;
    expect(queue.datasource).toEqual({ type: 'prometheus', uid: 'P1809F7CD0C75ACF3' });
    expect(queue.targets).toEqual([expect.objectContaining({ expr: 'max by (instance) (queue_depth)', legendFormat: '{{instance}}' })]);
    expect(run.stdout).not.toContain('${datasource}');
  }, 90_000);

  it('refuses a datasource uid that is not one, saying where to find it', async () => {
    const run = await scalebot(['dashboard', '--datasource', 'my prometheus']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('--datasource "my prometheus" is not a Grafana datasource uid');
    expect(run.stderr).toContain('Connections → Data sources');
  }, 90_000);
});
