import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  PARAM_TYPES,
  ParamError,
  renderCommand,
  shellQuote,
  TemplateError,
  templatePlaceholders,
  validateParam,
  type ParamOptions,
  type ParamType,
} from '../../core/shell-quote.ts';

// A directory the injection payloads try to create files in: if anything appears here, a value was executed.
const sandbox = mkdtempSync(join(tmpdir(), 'scalebot-quote-'));
const pwned = join(sandbox, 'pwned');
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

const INJECTIONS = [
  `; touch ${pwned}`,
  `$(touch ${pwned})`,
  `\`touch ${pwned}\``,
  `x\ntouch ${pwned}`,
  `x\rtouch ${pwned}`,
  `'; touch ${pwned}; '`,
  `"; touch ${pwned}; "`,
  `\\'; touch ${pwned}; echo '`,
  `'\\''; touch ${pwned} #`,
  `-oProxyCommand=touch ${pwned}`,
  `--output=${pwned}`,
  `a && touch ${pwned}`,
  `a | touch ${pwned}`,
  `\${IFS}touch\${IFS}${pwned}`,
  `>${pwned}`,
  `*`,
  `~root`,
  `a\u0000b`,
];

/** Runs shell code with /bin/sh (dash here) and bash, returning each one's stdout. */
function runShells(code: string): string[] {
  return ['/bin/sh', '/bin/bash'].map((shell) => {
    const result = spawnSync(shell, ['-c', code], { cwd: sandbox, encoding: 'utf8' });
    expect(result.status, `${shell} stderr: ${result.stderr}`).toBe(0);
    return result.stdout;
  });
}

describe('shellQuote', () => {
  const values = [
    '',
    'plain',
    'two words',
    "it's",
    "''",
    '"double"',
    '$HOME $(id) `id` ${PATH}',
    'line1\nline2\n',
    'tab\there',
    '\\backslash\\',
    '!history !!',
    'glob * ? [a]',
    '~user',
    'ünïcødé ✓ 日本',
    '\u0001\u001b[31mred\u007f',
    ...INJECTIONS.filter((v) => !v.includes('\0')),
  ];

  it.each(values)('passes %j through sh and bash as exactly one literal argument', (value) => {
    for (const out of runShells(`printf '%s|' ${shellQuote(value)}`)) expect(out).toBe(`${value}|`);
    expect(existsSync(pwned)).toBe(false);
  });

  it('quotes every value, even plain words, so none can be a reserved word or an assignment', () => {
    expect(shellQuote('done')).toBe(`'done'`);
    expect(shellQuote('A=b')).toBe(`'A=b'`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('refuses NUL, which no argument can carry', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
  });
});

describe('renderCommand', () => {
  it('fills placeholders with quoted values, spaces inside the braces allowed', () => {
    expect(
      renderCommand('pg_basebackup -h {{primary_ip}} -D {{ dir }} --label=x{{label}}y', {
        primary_ip: '10.0.0.1',
        dir: '/data/pg data',
        label: "it's",
      }),
    ).toBe(`pg_basebackup -h '10.0.0.1' -D '/data/pg data' --label=x'it'\\''s'y`);
  });

  it('uses a value as many times as it appears and leaves unused parameters alone', () => {
    expect(renderCommand('echo {{a}} {{a}}', { a: 'x', b: 'unused' })).toBe(`echo 'x' 'x'`);
    expect(templatePlaceholders('echo {{a}} {{ b }}')).toEqual(['a', 'b']);
  });

  it('refuses an unknown placeholder, naming the parameters there are', () => {
    expect(() => renderCommand('rm -rf {{dirr}}', { dir: '/tmp/x' })).toThrow(TemplateError);
    expect(() => renderCommand('rm -rf {{dirr}}', { dir: '/tmp/x' })).toThrow(/unknown placeholder \{\{dirr\}\}.*dir/);
  });

  it("reports a placeholder with a bad name, and leaves other tools' {{…}} templates alone", () => {
    expect(() => renderCommand('echo {{ replica-ip }}', {})).toThrow(/not a valid placeholder/);
    expect(renderCommand(`docker ps --format '{{.Names}}' && docker inspect -f '{{json .State}}' {{c}}`, { c: 'db' })).toBe(
      `docker ps --format '{{.Names}}' && docker inspect -f '{{json .State}}' 'db'`,
    );
  });

  it.each([
    [`echo '{{x}}'`, /single quotes/],
    [`echo 'a {{x}} b'`, /single quotes/],
    [`echo "{{x}}"`, /double quotes/],
    [`echo "a $(echo b) {{x}}"`, /double quotes/],
    ['echo `cat {{x}}`', /backticks/],
    ['echo ${V:-{{x}}}', /\$\{…\}/],
    ['echo $(( {{x}} + 1 ))', /\$\(\(…\)\)/],
    ['echo ${{x}}', /after a \$/],
    ['echo $ {{x}}', null],
    ['echo \\{{x}}', /backslash/],
    ['echo ok # copies {{x}}', /comment/],
    ['cat <<EOF\n{{x}}\nEOF', /here-document body/],
    ["cat <<-'EOF'\n\tliteral $HOME\n\tEOF\necho {{x}}", null],
    ['cat <<{{x}}\nbody\n', /here-document/],
    [`echo "\${V:-'}" {{x}}`, /quotes inside/],
  ])('a placeholder in %j is refused at plan time (%s)', (template, reason) => {
    if (reason === null) {
      // Control cases: plain command context, accepted.
      expect(() => renderCommand(template, { x: 'v' })).not.toThrow();
      return;
    }
    expect(() => renderCommand(template, { x: 'v' })).toThrow(TemplateError);
    expect(() => renderCommand(template, { x: 'v' })).toThrow(reason);
  });

  it('accepts placeholders in subshells, command substitutions, pipelines and after a here-document', () => {
    const rendered = renderCommand('(cd {{d}} && ls) | wc -l; echo $(basename {{d}}); cat <<EOF\nliteral $HOME\nEOF\necho {{d}}', {
      d: '/tmp',
    });
    expect(rendered).toContain(`(cd '/tmp' && ls)`);
    expect(rendered).toContain(`$(basename '/tmp')`);
    expect(rendered.endsWith(`echo '/tmp'`)).toBe(true);
  });

  it('shows why a comment is no place for a value: a newline would end the comment and run the rest', () => {
    const value = `x\ntouch ${pwned}`;
    // What rendering would produce if the check were not there: the quote is inside the comment, so inert.
    runShells(`true # ${shellQuote(value)}'`);
    expect(existsSync(pwned)).toBe(true);
    rmSync(pwned);
    expect(() => renderCommand('true # {{x}}', { x: value })).toThrow(/comment/);
  });
});

describe('validateParam', () => {
  const inventory = ['db-primary', 'db-replica'];
  const optionsFor: Record<ParamType, ParamOptions> = {
    host: { inventory },
    ip: {},
    hostname: {},
    path: {},
    int: { min: -5, max: 100 },
    enum: { values: ['fast', 'safe'] },
    string: { maxLength: 200 },
  };

  it.each([
    ['ip', '10.0.0.4', '10.0.0.4'],
    ['ip', ' 10.0.0.4 ', '10.0.0.4'],
    ['ip', 'FD00::4', 'fd00::4'],
    ['hostname', 'DB-1.Example.com.', 'db-1.example.com'],
    ['hostname', 'localhost', 'localhost'],
    ['path', '/var/lib/postgresql/15/main', '/var/lib/postgresql/15/main'],
    ['path', 'backups/today.sql', 'backups/today.sql'],
    ['path', '/data/with space', '/data/with space'],
    ['int', '42', '42'],
    ['int', '007', '7'],
    ['int', '-5', '-5'],
    ['enum', 'safe', 'safe'],
    ['host', 'db-replica', 'db-replica'],
    ['string', 'Nightly backup: it\'s "fine" $HOME', 'Nightly backup: it\'s "fine" $HOME'],
  ] as Array<[ParamType, string, string]>)('%s accepts %j as %j', (type, value, normalized) => {
    expect(validateParam(type, value, optionsFor[type])).toBe(normalized);
  });

  it.each([
    ['ip', '10.0.0.256', /not an IP address.*10\.0\.0\.4/],
    ['ip', '10.0.0.4; id', /not an IP address/],
    ['ip', 'fe80::1%eth0', /not an IP address/],
    ['hostname', 'db_1.example.com', /not a host name/],
    ['hostname', 'a..b', /not a host name/],
    ['hostname', 'db-.example', /not a host name/],
    ['path', '/tmp/a\nb', /control character/],
    ['path', ' /tmp', /space/],
    ['int', '1e3', /whole number from -5 to 100/],
    ['int', '101', /above the maximum/],
    ['int', '-6', /below the minimum/],
    ['int', '+5', /not a whole number/],
    ['enum', 'Safe', /one of: fast, safe/],
    ['host', 'db-9', /known host.*db-primary, db-replica/],
    ['string', 'x'.repeat(201), /longer than 200/],
    ['string', 'bell\u0007', /control character/],
  ] as Array<[ParamType, string, RegExp]>)('%s refuses %j and says what is accepted', (type, value, message) => {
    expect(() => validateParam(type, value, { name: 'p', ...optionsFor[type] })).toThrow(ParamError);
    expect(() => validateParam(type, value, { name: 'p', ...optionsFor[type] })).toThrow(message);
  });

  it('refuses negative numbers unless min allows them', () => {
    expect(() => validateParam('int', '-1', {})).toThrow(/at least 0/);
    expect(validateParam('int', '-1', { min: -1 })).toBe('-1');
  });

  it('names the parameter and shows the value escaped and cut short', () => {
    try {
      validateParam('ip', `${'9'.repeat(80)}\n`, { name: 'primary_ip' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ParamError);
      expect((error as ParamError).param).toBe('primary_ip');
      expect((error as Error).message).toMatch(/^primary_ip: "9{60}…" is not an IP address/);
    }
  });

  describe.each(PARAM_TYPES)('injection strings against type %s', (type) => {
    it.each(INJECTIONS)('%j is refused, or arrives as one literal argument', (value) => {
      let accepted: string;
      try {
        accepted = validateParam(type, value, optionsFor[type]);
      } catch (error) {
        expect(error).toBeInstanceOf(ParamError);
        return;
      }
      // Only free text (and paths, for harmless characters) may get through; they must arrive quoted.
      expect(['string', 'path']).toContain(type);
      const rendered = renderCommand(`printf '%s' {{x}}`, { x: accepted });
      for (const out of runShells(rendered)) expect(out).toBe(accepted);
      expect(existsSync(pwned)).toBe(false);
    });
  });

  it('refuses a value that could be read as an option for every type but int', () => {
    for (const type of PARAM_TYPES) {
      if (type === 'int') continue;
      expect(() => validateParam(type, '-oProxyCommand=id', optionsFor[type])).toThrow(/starts with "-"/);
    }
  });

  it('lets free text with newlines, quotes and substitutions through, and sh prints it back byte for byte', () => {
    const value = validateParam('string', `rollback #42\n'quoted' "double" $(id) \`id\` ; touch ${pwned}`, {});
    const rendered = renderCommand('printf %s {{x}}', { x: value });
    expect(rendered).toBe(`printf %s 'rollback #42\n'\\''quoted'\\'' "double" $(id) \`id\` ; touch ${pwned}'`);
    for (const out of runShells(rendered)) expect(out).toBe(value);
    expect(existsSync(pwned)).toBe(false);
  });
});

describe('evaluating contexts (issue 12, item 10)', () => {
  it.each([
    ['(( n = {{x}} ))', /bash arithmetic/],
    ['let n={{x}}', /a let command/],
    ['[[ {{x}} -eq 0 ]]', /arithmetic comparison in \[\[/],
    ['echo $[{{x}}]', /\$\[ … \]/],
    ['a[{{x}}]=1', /array element assignment/],
    ['a=([{{x}}]=1)', /array element assignment/],
    ['declare -i n={{x}}', /integer, nameref or array declaration/],
    ['typeset -i n={{x}}', /integer, nameref or array declaration/],
    ['n={{x}}; echo $((n))', /arithmetic expansion/],
    ['for ((i = {{x}}; i < 3; i++)); do :; done', /bash arithmetic/],
    ['n={{x}}; echo ${!n}', /indirect expansion/],
    ['read {{x}}', /a read command with a variable name/],
    ['printf -v {{x}} %s 1', /a printf command with a variable name/],
    ['test -v {{x}}', /variable test -v/],
    ['local {{x}}=1', /a local command with a variable name/],
    ['eval echo {{x}}', /eval or trap/],
    ['bash -c {{x}}', /nested shell/],
    ['ssh db-1 {{x}}', /another shell/],
  ])('refuses a string in %j (%s) and accepts an int', (template, what) => {
    expect(() => renderCommand(template, { x: 'v' }, { x: 'string' })).toThrow(TemplateError);
    expect(() => renderCommand(template, { x: 'v' }, { x: 'string' })).toThrow(what);
    expect(() => renderCommand(template, { x: 'v' }, { x: 'path' })).toThrow(/only an? .*int/);
    // Without types (default-deny) nothing is assumed to be an int.
    expect(() => renderCommand(template, { x: 'v' })).toThrow(TemplateError);
    expect(renderCommand(template, { x: '5' }, { x: 'int' })).toContain(`'5'`);
  });

  it('lets plain-word types (ip, hostname, host, enums of plain words) into code contexts, not arithmetic', () => {
    expect(renderCommand('ssh {{x}} uptime', { x: '10.0.0.4' }, { x: 'ip' })).toBe(`ssh '10.0.0.4' uptime`);
    expect(renderCommand('sh -c {{x}}', { x: 'fast' }, { x: { type: 'enum', values: ['fast', 'safe'] } })).toBe(`sh -c 'fast'`);
    expect(() => renderCommand('sh -c {{x}}', { x: 'fast' }, { x: { type: 'enum', values: ['fast', 'a;b'] } })).toThrow(TemplateError);
    expect(() => renderCommand('(( n = {{x}} ))', { x: '10.0.0.4' }, { x: 'ip' })).toThrow(TemplateError);
  });

  it.each([
    `while read -r line; do echo {{x}}; done < list`,
    `local dir={{x}}; ls "$dir"`,
    `[ {{x}} -eq 0 ] || printf '%s' {{x}}`,
    `psql -Atc 'SELECT ((1))' {{x}}`,
    `grep -v foo {{x}}`,
    `printf '%s\\n' {{x}}`,
  ])('leaves a string alone in %j, where bash does not evaluate it', (template) => {
    expect(() => renderCommand(template, { x: 'v' }, { x: 'string' })).not.toThrow();
  });
});

describe('invisible characters and ".." (issue 12, item 12)', () => {
  it.each([
    ['path', '/srv/../etc/shadow', /".." segment/],
    ['path', '..', /".." segment/],
    ['path', '/srv/data/..', /".." segment/],
    ['path', '/srv/\u202egpj.sh', /U\+202E/],
    ['path', '/srv/a\u200bb', /U\+200B/],
    ['path', '/srv/\u2066x\u2069', /U\+2066/],
    ['path', '/srv/\ufeffx', /U\+FEFF/],
    ['path', '/srv/\u0085x', /U\+0085/],
    ['path', '/srv/a\u00a0b', /U\+00A0/],
    ['string', 'ok \u202e txt', /U\+202E/],
    ['string', 'zero\u200dwidth', /U\+200D/],
    ['string', 'tag\u{e0041}', /U\+E0041/],
  ] as Array<[ParamType, string, RegExp]>)('%s refuses %j and says what to type', (type, value, message) => {
    expect(() => validateParam(type, value, { name: 'p' })).toThrow(message);
    try {
      validateParam(type, value, { name: 'p' });
    } catch (error) {
      // The message shows the value with the character as a code point, never the character itself.
      // biome-ignore lint/suspicious/noMisleadingCharacterClass: each invisible code point is listed on purpose
      expect((error as Error).message).not.toMatch(/[\u202e\u200b\u200d\u2066\ufeff\u0085\u00a0]|\u{e0041}/u);
      expect((error as Error).message).toMatch(/give|type/);
    }
  });

  it('keeps ordinary non-ASCII text and dots that are not a segment', () => {
    expect(validateParam('path', '/srv/données/a..b/.hidden', {})).toBe('/srv/données/a..b/.hidden');
    expect(validateParam('string', 'Grüße, 日本 😀', {})).toBe('Grüße, 日本 😀');
  });
});
