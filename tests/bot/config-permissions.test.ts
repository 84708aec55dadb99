// Permissions are explicit: a runbook that can run on a host names its approvers (or says `anyone`), parameters
// cannot be smuggled through Object.prototype's names, and a template's evaluating contexts take only ints.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configWarnings } from '../../core/config/index.ts';
import { loadConfig } from '../../bot/config.ts';
import { describePolicy, judgeApproval, parseAssignments, planRun, PlanError, type RunbookDef } from '../../core/runbooks.ts';
import { runCli } from '../../bot/cli.ts';

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const HOSTS = `hosts:\n  db-1: { address: 127.0.0.1, user: deploy, private_key_file: /tmp/key, host_key: "${HOST_KEY}" }\n`;

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'scalebot-permissions-')), 'scalebot.yaml');
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

async function checkConfig(file: string) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['check-config', file], { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: {} });
  return { code, stdout, stderr };
}

describe('runbooks without approvers', () => {
  it('are not disabled while no host is configured (they cannot run anywhere)', () => {
    const config = loadConfig();
    expect(config.runbooks.filter((runbook) => runbook.disabled)).toEqual([]);
    expect(configWarnings(config)).toEqual([]);
  });

  it('come up disabled once a host exists, each with the lines to add; check-config exits 1 naming file and line', async () => {
    const file = writeConfig(HOSTS);
    const config = loadConfig({ file });
    const failover = config.runbooks.find((runbook) => runbook.id === 'db-failover')!;
    expect(failover.disabled).toContain('names no approvers');
    expect(failover.disabled).toContain('runbooks:\n  - id: db-failover\n    approval: { approvers: [U0123ABCD, "@ops-leads"] }');
    expect(config.runbooks.every((runbook) => runbook.disabled)).toBe(true);
    const warnings = configWarnings(config);
    expect(warnings).toHaveLength(config.runbooks.length);
    expect(warnings.find((line) => line.includes('"db-failover"'))).toMatch(
      /config\/runbooks\.yaml:\d+:\d+: runbooks\[4\]: runbook "db-failover" .* add `- id: db-failover` with `approval: \{ approvers: \[/,
    );
    const result = await checkConfig(file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('runbook "db-failover" can run on the configured hosts but names no approvers');
  });

  it('run once the team names approvers by id (other approval fields of a built-in are kept) or says anyone', async () => {
    const file = writeConfig(
      `${HOSTS}runbooks:\n` +
        loadConfig()
          .runbooks.map((runbook) => runbook.id)
          .filter((id) => id !== 'emergency-quick-fixes')
          .map((id) => `  - id: ${id}\n    approval: { approvers: [U0LEAD, S0OPS, "@ops-leads"] }\n`)
          .join('') +
        '  - id: emergency-quick-fixes\n    requesters: [S0ONCALL]\n    approval: { approvers: anyone }\n',
    );
    const config = loadConfig({ file });
    expect(config.runbooks.filter((runbook) => runbook.disabled)).toEqual([]);
    const quick = config.runbooks.find((runbook) => runbook.id === 'emergency-quick-fixes')!;
    expect(quick.approval).toEqual({ approvers: [], anyone: true, required: 1, allowSelf: false, expiresSeconds: 600 });
    expect(quick.requesters).toEqual(['S0ONCALL']);
    expect(describePolicy(quick.approval)).toBe('1 approval from anyone (explicitly), not the requester, within 10 min');
    expect(config.runbooks.find((runbook) => runbook.id === 'backup')!.approval).toMatchObject({ approvers: ['U0LEAD', 'S0OPS', '@ops-leads'], anyone: false });
    expect(config.runbooks.find((runbook) => runbook.id === 'backup')!.requesters).toEqual([]);
    expect((await checkConfig(file)).code).toBe(0);
  });

  it('refuses `anyone` inside a list and other junk, with the path', () => {
    const file = writeConfig(`runbooks:\n  - id: backup\n    approval: { approvers: [anyone] }\n  - id: db-failover\n    approval: { approvers: everyone }\n`);
    const problems = problemsOf(() => loadConfig({ file }));
    expect(problems).toEqual([
      expect.stringMatching(/:3:\d+: runbooks\[0\]\.approval\.approvers\[0\]: .*to let anyone, write `anyone` instead of the list/),
      expect.stringMatching(/:5:\d+: runbooks\[1\]\.approval\.approvers: a list of Slack ids .* or the word anyone/),
    ]);
  });

  it('judgeApproval refuses any approval under a policy that names nobody, even if the caller says approver', () => {
    const nobody = { approvers: [], anyone: false, required: 1, allowSelf: true, expiresSeconds: 60 };
    expect(judgeApproval(nobody, { requester: 'U1', approver: 'U2', isApprover: true, alreadyApproved: [] })).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('names no approvers'),
    });
    expect(judgeApproval({ ...nobody, anyone: true }, { requester: 'U1', approver: 'U2', isApprover: true, alreadyApproved: [] })).toEqual({ accepted: true });
    expect(describePolicy(nobody)).toBe('no approvers named, so nobody may approve it');
  });

  it('reads `output: hidden` on a step (default shown) into the plan', () => {
    const file = writeConfig(
      `${HOSTS}runbooks:\n  - id: secret\n    title: Secret\n    approval: { approvers: [U0LEAD] }\n    steps:\n` +
        '      - { id: a, host: db-1, run: "cat /etc/hostname", output: hidden }\n      - { id: b, host: db-1, run: "true" }\n',
    );
    const runbook = loadConfig({ file }).runbooks.find((candidate) => candidate.id === 'secret')!;
    expect(runbook.steps.map((step) => step.output)).toEqual(['hidden', 'shown']);
    const plan = planRun(runbook, {}, loadConfig({ file }).hosts);
    expect(plan.steps.map((step) => step.output)).toEqual(['hidden', 'shown']);
    expect(
      problemsOf(() => loadConfig({ file: writeConfig(`runbooks:\n  - id: backup\n    steps:\n      - { id: a, host: x, run: "true", output: secret }\n`) })),
    ).toEqual([expect.stringMatching(/:4:\d+: runbooks\[0\]\.steps\[0\]\.output: output is shown \(the default\) or hidden/)]);
  });
});

describe('parameters named like Object.prototype members', () => {
  const hosts = loadConfig({ file: writeConfig(HOSTS) }).hosts;
  const runbook: RunbookDef = {
    id: 'proto',
    title: 'Proto',
    params: ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', '__defineGetter__', 'isPrototypeOf'].map((name) => ({
      name,
      type: 'string' as const,
      default: `d-${name}`,
    })),
    steps: [{ id: 's', title: 's', host: 'db-1', run: 'echo {{constructor}} {{toString}} {{__proto__}}', timeoutSeconds: 60, confirm: false, output: 'shown' }],
    rollback: [],
    approval: { approvers: ['U0LEAD'], anyone: false, required: 1, allowSelf: false, expiresSeconds: 60 },
    requesters: [],
  };

  it('keep their defaults', () => {
    const plan = planRun(runbook, parseAssignments([]), hosts);
    expect(plan.params.constructor).toBe('d-constructor');
    expect(plan.params.toString).toBe('d-toString');
    expect(plan.steps[0]!.command).toBe(`echo 'd-constructor' 'd-toString' 'd-__proto__'`);
  });

  it('take given values, and `__proto__=x` pollutes nothing', () => {
    const given = parseAssignments(['__proto__=polluted', 'constructor=c', 'toString=t']);
    expect(Object.getPrototypeOf(given)).toBe(null);
    expect(Object.keys(given)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(planRun(runbook, given, hosts).steps[0]!.command).toBe(`echo 'c' 't' 'polluted'`);
    expect(() => parseAssignments(['toString=a', 'toString=b'])).toThrow(/given twice/);
  });

  it('an unknown `__proto__` or `constructor` is refused as unknown, not found on the prototype', () => {
    const plain: RunbookDef = { ...runbook, params: [], steps: [{ ...runbook.steps[0]!, run: 'true' }] };
    expect(() => planRun(plain, parseAssignments(['__proto__=x']), hosts)).toThrow(PlanError);
    expect(() => planRun(plain, parseAssignments(['constructor=x']), hosts)).toThrow(/has no parameter constructor/);
  });

  it('a config host named `constructor` that does not exist is not found on the prototype', () => {
    const problems = problemsOf(() =>
      loadConfig({ file: writeConfig(`runbooks:\n  - id: x\n    title: X\n    steps:\n      - { id: a, host: constructor, run: "true" }\n`) }),
    );
    expect(problems).toEqual([expect.stringContaining('runbooks.x.steps[0].host: "constructor" is not in hosts')]);
  });
});

describe('placeholders in bash arithmetic at config load', () => {
  it('refuse a string parameter in (( )), naming the step and the context; accept an int', () => {
    const template = (type: string) =>
      `${HOSTS}runbooks:\n  - id: count\n    title: Count\n    approval: { approvers: [U0LEAD] }\n    params:\n      - { name: n, type: ${type} }\n` +
      '    steps:\n      - { id: add, host: db-1, run: "(( total = {{n}} + 1 )); echo $total" }\n';
    const problems = problemsOf(() => loadConfig({ file: writeConfig(template('string')) }));
    const stringPlaceholder = /^runbooks\.count\.steps\[0\]\.run: placeholder \{\{n\}\} \(string\)/;
    const refusedInArithmetic = / cannot be used .* bash arithmetic \(\( … \)\).* only an int parameter is safe there/;
    expect(problems).toEqual([expect.stringMatching(new RegExp(stringPlaceholder.source + refusedInArithmetic.source))]);
    expect(loadConfig({ file: writeConfig(template('int')) }).runbooks.find((runbook) => runbook.id === 'count')!.disabled).toBeUndefined();
  });
});
