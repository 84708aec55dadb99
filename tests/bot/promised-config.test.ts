// README promises about the config that had no test of their own: a private key pasted into the YAML is
// refused (and not echoed), `private_key_file_env` names the key file through a variable (and is used to
// connect), and a quoted placeholder is refused when the config loads, not when the runbook runs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bot/cli.ts';
import { ConfigError } from '../../core/config/index.ts';
import { loadConfig } from '../../bot/config.ts';
import { createSsh } from '../../integrations/ssh.ts';
import { startSshd, type SshdFixture } from '../../devkit/sshd/index.ts';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const scratch = mkdtempSync(join(tmpdir(), 'scalebot-promised-config-'));

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(scratch, 'c-')), 'scalebot.yaml');
  writeFileSync(file, text);
  return file;
}

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

async function checkConfig(file: string, env: Record<string, string> = {}) {
  let out = '';
  const code = await runCli(['check-config', file], { stdout: (text) => (out += text), stderr: (text) => (out += text), env });
  return { code, out };
}

/** A real OpenSSH private key, as someone would paste it. */
function realPrivateKey(): string {
  const file = join(mkdtempSync(join(scratch, 'k-')), 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'pasted', '-f', file], { stdio: 'ignore' });
  return readFileSync(file, 'utf8');
}

const indent = (text: string, by: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n');

describe('a private key pasted into the YAML', () => {
  const key = realPrivateKey();
  const keyBody = key.split('\n')[1]!;

  it('is refused in private_key_file with the path and what to give instead, and never echoed', async () => {
    const file = writeConfig(
      `hosts:\n  db-1:\n    address: 127.0.0.1\n    user: deploy\n    host_key: "${HOST_KEY}"\n    private_key_file: |\n${indent(key, '      ')}\n`,
    );
    const problems = problemsOf(() => loadConfig({ file }));
    expect(problems).toEqual([expect.stringMatching(/hosts\.db-1\.private_key_file: give the path of the key file, never the key itself/)]);
    expect(problems.join('\n')).not.toContain(keyBody);
    const checked = await checkConfig(file);
    expect(checked.code).toBe(1);
    expect(checked.out).toMatch(/private_key_file: give the path of the key file/);
    expect(checked.out).not.toContain(keyBody);
    expect(checked.out).not.toContain('BEGIN OPENSSH PRIVATE KEY');
  });

  it('is refused under any other field name: hosts take no field that could hold one', () => {
    for (const field of ['private_key', 'key', 'identity']) {
      const file = writeConfig(
        `hosts:\n  db-1:\n    address: 127.0.0.1\n    user: deploy\n    host_key: "${HOST_KEY}"\n` +
          `    private_key_file: /etc/scalebot/id_ed25519\n    ${field}: |\n${indent(key, '      ')}\n`,
      );
      const problems = problemsOf(() => loadConfig({ file }));
      expect(problems.join('\n'), field).toMatch(new RegExp(`hosts\\.db-1.*${field}`));
      expect(problems.join('\n'), field).not.toContain(keyBody);
    }
  });
});

describe('private_key_file_env', () => {
  let sshd: SshdFixture;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => sshd?.stop());

  const hostYaml = (fields: string, port = 22, hostKey = HOST_KEY) =>
    `hosts:\n  db-1: { address: 127.0.0.1, port: ${port}, user: root, host_key: "${hostKey}"${fields} }\n`;

  it('reads the key file path from the variable it names, and the bot connects with that key', async () => {
    const file = writeConfig(hostYaml(', private_key_file_env: SCALEBOT_DB_KEY', sshd.host.port, sshd.host.hostKey));
    const config = loadConfig({ file, env: { SCALEBOT_DB_KEY: sshd.host.privateKeyFile } });
    const host = config.hosts.get('db-1')!;
    expect(host.privateKeyFile).toBe(sshd.host.privateKeyFile);
    const result = await createSsh().run(host, 'echo connected-with-env-key', { timeoutSeconds: 20 });
    expect(result).toMatchObject({ outcome: 'succeeded', exitCode: 0 });
    expect(result.output).toBe('connected-with-env-key\n');
    // check-config still exits 1 here (the built-in runbooks name no approvers), but not for the key.
    expect((await checkConfig(file, { SCALEBOT_DB_KEY: sshd.host.privateKeyFile })).out).not.toMatch(/private_key_file/);
  });

  it('refuses a variable that is not set, naming it, at load and in check-config', async () => {
    const file = writeConfig(hostYaml(', private_key_file_env: SCALEBOT_DB_KEY'));
    expect(problemsOf(() => loadConfig({ file, env: { OTHER: '/tmp/key' } }))).toEqual([
      expect.stringMatching(/hosts\.db-1\.private_key_file_env: the environment variable SCALEBOT_DB_KEY is not set/),
    ]);
    const checked = await checkConfig(file, {});
    expect(checked.code).toBe(1);
    expect(checked.out).toMatch(/SCALEBOT_DB_KEY is not set/);
  });

  it('takes exactly one of private_key_file and private_key_file_env, and a variable name, not a path', () => {
    const env = { SCALEBOT_DB_KEY: '/tmp/key' };
    expect(
      problemsOf(() => loadConfig({ file: writeConfig(hostYaml(', private_key_file: /tmp/key, private_key_file_env: SCALEBOT_DB_KEY')), env })).join('\n'),
    ).toMatch(/hosts\.db-1.*exactly one of private_key_file or private_key_file_env/);
    expect(problemsOf(() => loadConfig({ file: writeConfig(hostYaml('')), env })).join('\n')).toMatch(
      /hosts\.db-1.*exactly one of private_key_file or private_key_file_env/,
    );
    expect(problemsOf(() => loadConfig({ file: writeConfig(hostYaml(', private_key_file_env: /tmp/key')), env })).join('\n')).toMatch(
      /hosts\.db-1\.private_key_file_env: the name of an environment variable/,
    );
  });
});

describe('a quoted placeholder', () => {
  const runbook = (run: string) =>
    `hosts:\n  db-1: { address: 127.0.0.1, user: deploy, private_key_file: /tmp/key, host_key: "${HOST_KEY}" }\n` +
    `runbooks:\n  - id: greet\n    title: Greet\n    approval: { approvers: [U0LEAD] }\n    params:\n      - { name: who, type: string }\n` +
    `    steps:\n      - id: say\n        host: db-1\n        run: ${JSON.stringify(run)}\n`;

  it('is refused when the config loads, naming the runbook, the step and why; the same placeholder unquoted loads', async () => {
    for (const [run, why] of [
      ['echo "hello {{who}}"', /inside double quotes/],
      ["echo 'hello {{who}}'", /inside single quotes/],
      ['echo "{{ who }}"', /inside double quotes/],
    ] as const) {
      const file = writeConfig(runbook(run));
      const problems = problemsOf(() => loadConfig({ file }));
      expect(problems, run).toEqual([expect.stringMatching(/^runbooks\.greet\.steps\[0\]\.run: .*\{\{ ?who ?\}\}/)]);
      expect(problems[0], run).toMatch(why);
      const checked = await checkConfig(file);
      expect(checked.code, run).toBe(1);
      expect(checked.out, run).toMatch(/runbooks\.greet\.steps\[0\]\.run: placeholder/);
    }
    const config = loadConfig({ file: writeConfig(runbook('echo hello {{who}}')) });
    expect(config.runbooks.find((entry) => entry.id === 'greet')).toBeDefined();
  });
});
