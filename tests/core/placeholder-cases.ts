// Shared by the placeholder property tests (tests/core/placeholder-property.test.ts runs the rendered commands
// with the local bash and dash, tests/integrations/placeholder-sshd.test.ts over SSH): every placeholder
// context a runbook template can put a value in, every parameter type, and hostile values aimed at a sentinel.
import fc from 'fast-check';
import { paramTypes, type ParamDef } from '../../core/runbooks.ts';
import { ParamError, renderCommand, shellQuote, TemplateError, validateParam, type ParamType } from '../../core/shell-quote.ts';

/** Each template has one placeholder, {{x}}; the contexts the issue names and the ones bash re-reads as code. */
export const CONTEXTS: ReadonlyArray<readonly [string, string]> = [
  ['plain word', `printf '%s\\n' {{x}}`],
  ['part of a word', `printf '%s\\n' --label={{x}}.log`],
  ['double quotes', `printf '%s\\n' "{{x}}"`],
  ['single quotes', `printf '%s\\n' '{{x}}'`],
  ['backticks', 'echo `printf %s {{x}}`'],
  ['command substitution', `echo "$(printf '%s' {{x}})"`],
  ['subshell and pipeline', `(printf '%s' {{x}}) | cat`],
  ['here-document body', 'cat <<EOF\n{{x}}\nEOF'],
  ['after a here-document', 'cat <<EOF >/dev/null\nbody $HOME\nEOF\nprintf %s {{x}}'],
  ['comment', 'true # {{x}}'],
  ['${…}', 'echo ${V:-{{x}}}'],
  ['after $', 'echo ${{x}}'],
  ['assignment', `v={{x}}; printf '%s' "$v"`],
  ['environment prefix', 'V={{x}} env | grep -c ^V='],
  ['local in a function', `f() { local v={{x}}; printf '%s' "$v"; }; f`],
  ['test', 'test {{x}} = no'],
  ['[ -eq ]', '[ {{x}} -eq 0 ] 2>/dev/null'],
  ['case', 'case {{x}} in a) echo a ;; esac'],
  ['[[ == ]]', '[[ {{x}} == a ]] || true'],
  ['(( ))', '(( n = {{x}} )) || true'],
  ['$(( ))', 'echo $(( {{x}} + 1 ))'],
  ['$[ ]', 'echo $[{{x}}]'],
  ['let', 'let n={{x}} || true'],
  ['[[ -eq ]]', '[[ {{x}} -eq 0 ]] || true'],
  ['[[ -v ]]', '[[ -v {{x}} ]] || true'],
  ['test -v', 'test -v {{x}} || true'],
  ['array subscript assignment', 'a[{{x}}]=1'],
  ['compound array assignment', 'a=([{{x}}]=1)'],
  ['array subscript expansion', 'a=(1 2); echo ${a[{{x}}]}'],
  ['declare -i', 'declare -i n={{x}}'],
  ['integer variable', 'declare -i n; n={{x}}'],
  ['variable then $(( ))', 'n={{x}}; echo $((n))'],
  ['$1 then $(( ))', 'set -- {{x}}; echo $(( $1 ))'],
  ['for (( ))', 'for ((i = {{x}}; i < 1; i++)); do :; done'],
  ['substring offset', 'o={{x}}; s=abc; echo ${s:o}'],
  ['indirection', 'n={{x}}; echo ${!n}'],
  ['nameref', 'declare -n r={{x}}; echo $r'],
  ['read', 'read {{x}} <<< value'],
  ['printf -v', 'printf -v {{x}} %s 1'],
  ['declare name', 'declare {{x}}=1'],
  ['eval', 'eval echo {{x}}'],
  ['bash -c', 'bash -c {{x}}'],
  ['sh -c', 'sh -c {{x}} _'],
  ['trap', 'trap {{x}} EXIT'],
];

export const TYPES: readonly ParamType[] = ['int', 'ip', 'hostname', 'path', 'enum', 'string', 'host'];
const INVENTORY = ['db-1', 'local'];
const HOSTILE_ENUM = ['fast', '$(touch SENTINEL)', 'a[$(touch SENTINEL)]'];

/** Fragments a hostile value is built from; SENTINEL is replaced by the sentinel file's path. */
const FRAGMENTS = [
  '$(touch SENTINEL)',
  '`touch SENTINEL`',
  'a[$(touch SENTINEL)]',
  'a[`touch SENTINEL`]',
  '$((a[$(touch SENTINEL)]))',
  "';touch SENTINEL;'",
  '"; touch SENTINEL; "',
  '\ntouch SENTINEL\n',
  '|touch SENTINEL',
  '&& touch SENTINEL',
  '${IFS}',
  "$'\\x3btouch SENTINEL'",
  '\\',
  "'",
  '"',
  '$',
  '[',
  ']',
  '(',
  ')',
  '{{x}}',
  '..',
  '/',
  '-',
  ' ',
  '\t',
  '*',
  '~',
  '#',
  '=',
  '1',
  '0x1f',
  'a',
  '\u202e',
  '\u200b',
  '\u0085',
  'é',
  '\uff04(touch SENTINEL)',
];

export function hostileValue(sentinel: string): fc.Arbitrary<string> {
  const sub = (text: string) => text.replaceAll('SENTINEL', sentinel);
  return fc.oneof(
    { weight: 3, arbitrary: fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 6 }).map((parts) => sub(parts.join(''))) },
    { weight: 2, arbitrary: fc.constantFrom(...FRAGMENTS).map(sub) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.integer({ min: -10, max: 200 }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom(...INVENTORY, '10.0.0.4', 'fd00::4', 'db-1.example.com', '/var/lib/data', 'fast') },
  );
}

export interface Attempt {
  readonly context: string;
  readonly type: ParamType;
  readonly value: string;
  /** The command that would run, or why the plan refused it. */
  readonly outcome: { readonly command: string } | { readonly refused: string };
}

/** The plan's two gates, as /scale run meets them: the value against its type, the template against the types. */
export function plan(context: readonly [string, string], type: ParamType, value: string, sentinel: string): Attempt {
  const param: ParamDef = {
    name: 'x',
    type,
    ...(type === 'enum' ? { values: HOSTILE_ENUM.map((v) => v.replaceAll('SENTINEL', sentinel)) } : {}),
    ...(type === 'int' ? { min: -1000 } : {}),
  };
  try {
    const checked = validateParam(type, value, {
      name: 'x',
      ...(param.values ? { values: param.values } : {}),
      ...(param.min !== undefined ? { min: param.min } : {}),
      ...(type === 'host' ? { inventory: INVENTORY } : {}),
    });
    return { context: context[0], type, value, outcome: { command: renderCommand(context[1], { x: checked }, paramTypes([param])) } };
  } catch (error) {
    if (error instanceof ParamError || error instanceof TemplateError) return { context: context[0], type, value, outcome: { refused: error.message } };
    throw error;
  }
}

/**
 * Shell scripts that run every command with bash and with dash, each in its own subshell (a syntax error or an
 * `exit` ends only that one) with stdin closed and output discarded. `eval` parses the rendered command exactly
 * as `sh -c` would; the scripts themselves are quoted strings only, so they always parse. Split so that no
 * argument passes the kernel's 128 KiB limit; each ends by printing "batch-done".
 */
export function batchScripts(commands: readonly string[], perBatch = 300): string[] {
  const scripts: string[] = [];
  for (let from = 0; from < commands.length; from += perBatch) {
    const body = commands
      .slice(from, from + perBatch)
      .map((command) => `( eval ${shellQuote(command)} ) </dev/null >/dev/null 2>&1`)
      .join('\n');
    scripts.push(`timeout -k 2 120 bash -c ${shellQuote(body)} </dev/null; timeout -k 2 120 dash -c ${shellQuote(body)} </dev/null; echo batch-done`);
  }
  return scripts;
}
