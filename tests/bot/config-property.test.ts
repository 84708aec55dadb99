// Generated config files, valid and mangled: loadConfig returns a config or throws a ConfigError whose every
// line says where (file:line:col, or the config path); nothing else escapes. check-config exits 0 exactly when
// the config loads with no disabled runbook, else 1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../../bot/cli.ts';
import { ConfigError, configWarnings } from '../../core/config/index.ts';
import { loadConfig } from '../../bot/config.ts';

const LONG = process.env.SCALEBOT_LONG === '1';
const dir = mkdtempSync(join(tmpdir(), 'scalebot-config-property-'));
const file = join(dir, 'scalebot.yaml');
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
let generated = 0;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  console.info(`config-property: ${generated} config files generated and loaded`);
});

const PROTO_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];
const junk = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...PROTO_NAMES),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
);
const slackIds = fc.oneof(fc.constant('anyone'), fc.array(fc.constantFrom('U0LEAD', 'S0OPS', '@ops-leads', 'anyone', 'bob', ''), { maxLength: 3 }), junk);
const placeholderName = fc.constantFrom('n', 'server', 'path', ...PROTO_NAMES);
const run = fc
  .tuple(
    fc.constantFrom(
      'echo {{p}}',
      '(( n = {{p}} ))',
      'let n={{p}}',
      '[[ {{p}} -eq 0 ]]',
      'a[{{p}}]=1',
      'echo "{{p}}"',
      "echo '{{p}}'",
      'eval {{p}}',
      'cat <<EOF\n{{p}}\nEOF',
      'echo {{ p-x }}',
      'true',
    ),
    placeholderName,
  )
  .map(([template, name]) => template.replaceAll('{{p}}', `{{${name}}}`));
const step = fc.record(
  {
    id: fc.oneof(fc.constantFrom('a', 'b', 'restart'), junk),
    host: fc.constantFrom('db-1', '{{server}}', '{{n}}', 'nowhere', 'constructor'),
    run,
    timeout: fc.constantFrom('10m', '1s', 'forever', 5),
    output: fc.constantFrom('shown', 'hidden', 'loud'),
    confirm: fc.boolean(),
  },
  { requiredKeys: ['id', 'host', 'run'] },
);
const param = fc.record(
  {
    name: placeholderName,
    type: fc.constantFrom('int', 'string', 'path', 'host', 'ip', 'enum', 'hostname', 'float'),
    values: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
    default: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()),
  },
  { requiredKeys: ['name', 'type'] },
);
const runbook = fc.record(
  {
    id: fc.oneof(fc.constantFrom('backup', 'db-failover', 'mine', 'emergency-quick-fixes'), junk),
    title: fc.string({ maxLength: 10 }),
    enabled: fc.boolean(),
    requesters: slackIds,
    approval: fc.record(
      { approvers: slackIds, required: fc.integer({ min: -1, max: 12 }), allow_self: fc.boolean(), expires: fc.constantFrom('10m', 'soon') },
      { requiredKeys: [] },
    ),
    params: fc.array(param, { maxLength: 3 }),
    steps: fc.array(step, { maxLength: 3 }),
    rollback: fc.array(step, { maxLength: 2 }),
  },
  { requiredKeys: ['id'] },
);
const host = fc.record(
  {
    address: fc.constantFrom('127.0.0.1', ''),
    user: fc.constantFrom('deploy', ''),
    private_key_file: fc.constantFrom('/tmp/key', '-----BEGIN OPENSSH PRIVATE KEY-----'),
    host_key: fc.constantFrom(HOST_KEY, 'ssh-rsa nope'),
  },
  { requiredKeys: [] },
);
const document = fc.record(
  {
    hosts: fc.dictionary(fc.constantFrom('db-1', 'Db 1', 'constructor', '__proto__', 'toString'), host, { maxKeys: 2 }),
    runbooks: fc.array(runbook, { maxLength: 3 }),
    admins: slackIds,
    watch: fc.record({ interval: fc.constantFrom('60s', '0s', 'x'), responders: slackIds }, { requiredKeys: [] }),
    triggers: fc.array(
      fc.record(
        { id: fc.oneof(fc.constantFrom('cpu', 'mine'), junk), threshold: fc.oneof(fc.double(), junk), op: fc.constantFrom('>', '=>') },
        { requiredKeys: ['id'] },
      ),
      { maxLength: 2 },
    ),
    prometheus: fc.record({ url: fc.constantFrom('http://127.0.0.1:9090', 'not a url'), timeout: fc.constantFrom('5s', 'x') }, { requiredKeys: [] }),
    [fc.sample(fc.constant('surprise'), 1)[0]!]: junk,
  },
  { requiredKeys: [] },
);
/** A YAML text: a generated document as written, or cut, spliced and re-indented at random. */
const yamlText = fc.oneof(
  document.map((doc) => stringify(doc)),
  fc
    .tuple(
      document.map((doc) => stringify(doc)),
      fc.nat(),
      fc.nat(),
      fc.constantFrom('', ':', '- ', '  ', '\t', '{', ']', '&a', '*a', '!!js/function x', '<<: *a', '"', '\n  -', '%YAML 1.2\n---\n'),
    )
    .map(([text, at, length, insert]) => {
      const from = at % (text.length + 1);
      return text.slice(0, from) + insert + text.slice(from + (length % 8));
    }),
  fc.string({ unit: 'binary', maxLength: 60 }),
);

/** A problem line says where: "file:line:col: …", "file: path: …", or a config path ("runbooks.x.steps[0].run: …"). */
const LOCATED = new RegExp(`^(${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(:\\d+:\\d+)?: |[a-z_]+(\\.[^\\s:]+|\\[\\d+\\])*: )`);

describe('generated config files', () => {
  it(
    'load, or fail with a located ConfigError and nothing else; check-config exits 0 or 1 to match',
    async () => {
      await fc.assert(
        fc.asyncProperty(yamlText, async (text) => {
          generated += 1;
          writeFileSync(file, text);
          let expected: number;
          try {
            const config = loadConfig({ file, env: {} });
            expected = configWarnings(config).length === 0 ? 0 : 1;
            for (const warning of configWarnings(config)) expect(warning).toMatch(/^\S+\.yaml:\d+:\d+: runbooks\[\d+\]/);
            for (const runbook of config.runbooks) {
              if (runbook.disabled) expect(runbook.approval.approvers.length === 0 && !runbook.approval.anyone && config.hosts.size > 0).toBe(true);
              if (!runbook.disabled && config.hosts.size > 0) expect(runbook.approval.anyone || runbook.approval.approvers.length > 0).toBe(true);
            }
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
            for (const problem of (error as ConfigError).problems) expect(problem).toMatch(LOCATED);
            expected = 1;
          }
          let out = '';
          const code = await runCli(['check-config', file], { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {} });
          expect(code, out).toBe(expected);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        }),
        { numRuns: LONG ? 5000 : 150 },
      );
    },
    LONG ? 600_000 : 60_000,
  );
});
