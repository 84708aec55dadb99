import { isIP } from 'node:net';
import { UserError } from './user-error.ts';

/**
 * The one way a value reaches a shell: typed parameters are validated here, then pasted into a runbook's
 * command template by `renderCommand`, which single-quotes every value. Nothing else in the bot builds shell
 * text from a user's strings.
 */

/** A template that cannot be filled safely: found when the runbook is planned, never at run time. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** A parameter value the user has to correct; the message says what is accepted. */
export class ParamError extends UserError {
  constructor(
    message: string,
    readonly param: string | undefined,
  ) {
    super(message);
    this.name = 'ParamError';
  }
}

/**
 * POSIX single-quote quoting: inside '…' every byte is literal, so the only character to handle is the quote
 * itself, written as '\'' (close, escaped quote, reopen). Newlines, `$`, backticks, `;` all stay literal.
 * Always quotes, even "safe" words, so that a value is never a reserved word, an assignment or a glob.
 * NUL cannot be passed in an argument at all, so it is refused rather than silently cut.
 */
export function shellQuote(value: string): string {
  if (typeof value !== 'string') throw new TypeError('shellQuote takes a string');
  if (value.includes('\0')) throw new TemplateError('a value containing a NUL byte cannot be passed to a shell');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;
const NEAR_PLACEHOLDER = /\{\{\s*[A-Za-z0-9_-]+\s*\}\}/y;

/** Every `{{name}}` in the template, in order, with the names it uses. Throws on a malformed `{{`. */
export function templatePlaceholders(template: string): string[] {
  return scanTemplate(template).placeholders.map((p) => p.name);
}

/** What renderCommand needs to know of a parameter to judge where its value may go. */
export interface PlaceholderType {
  readonly type: ParamType;
  /** enum: the accepted values. */
  readonly values?: readonly string[];
}

/**
 * A place where bash reads text again as arithmetic, a variable name or code: `(( n = {{s}} ))`,
 * `let`, `[[ {{s}} -eq 0 ]]`, `a[{{s}}]=`, `declare -i`, `read {{s}}`, `eval`, `sh -c`… There a quoted value is
 * quoted no more: `a[$(touch /tmp/x)]` runs `touch` in arithmetic. A value also reaches such a place through a
 * variable, `$1` or a loop (`n={{s}}; echo $((n))`), so the whole template is judged, not the placeholder's spot.
 */
export interface EvaluatingConstruct {
  /** arithmetic and name: only `int` values are inert there; code: `int`, `ip`, `hostname`, `host` and enums of plain words. */
  readonly kind: 'arithmetic' | 'name' | 'code';
  /** "bash arithmetic (( … ))", for messages. */
  readonly what: string;
  readonly at: number;
}

/** The constructs of `template` where bash evaluates text again; empty for most templates. */
export function evaluatingConstructs(template: string): EvaluatingConstruct[] {
  return scanTemplate(template).constructs;
}

/** A value bash can only ever read as one plain word, wherever it lands. */
const INERT_WORD = /^[A-Za-z0-9._:@%+,/=-]+$/;

function typeAccepted(kind: EvaluatingConstruct['kind'], type: PlaceholderType | undefined): boolean {
  if (!type) return false;
  if (type.type === 'int') return true;
  if (kind !== 'code') return false;
  if (type.type === 'ip' || type.type === 'hostname' || type.type === 'host') return true;
  return type.type === 'enum' && (type.values ?? []).length > 0 && (type.values ?? []).every((value) => INERT_WORD.test(value) && !value.startsWith('-'));
}

/**
 * Fills `{{name}}` (or `{{ name }}`) placeholders with shell-quoted values. Throws `TemplateError` for an
 * unknown name, and for a placeholder in a position where a quoted value would not stay one literal word:
 * inside '…', "…", `…`, ${…}, $((…)), a comment or a here-document body, right after a backslash or a `$`.
 * The check is default-deny: a placeholder is accepted only where the scanner saw it in plain command context.
 */
export function renderCommand(
  template: string,
  params: Readonly<Record<string, string>>,
  types: Readonly<Record<string, ParamType | PlaceholderType>> = {},
): string {
  const { placeholders, constructs } = scanTemplate(template);
  for (const p of placeholders) {
    const given = Object.hasOwn(types, p.name) ? types[p.name] : undefined;
    const type = typeof given === 'string' ? { type: given } : given;
    const blocking = constructs.find((construct) => !typeAccepted(construct.kind, type));
    if (blocking) {
      const allowed = blocking.kind === 'code' ? 'an int, ip, hostname or host parameter (or an enum of plain words)' : 'an int parameter';
      const readAs = blocking.kind === 'code' ? 'code' : blocking.kind === 'name' ? 'a variable name (with an arithmetic subscript)' : 'arithmetic';
      throw new TemplateError(
        `placeholder {{${p.name}}}${type ? ` (${type.type})` : ''} cannot be used in "${excerpt(template, p.start)}": the command has ${blocking.what} ` +
          `("${excerpt(template, blocking.at)}"), where bash reads text again as ${readAs}, ` +
          `and a value can reach it through a variable, $1 or a loop, quotes or not; only ${allowed} is safe there. ` +
          'Make the parameter that type, or move that logic into a script on the host and pass the value as its argument',
      );
    }
  }
  let out = '';
  let last = 0;
  for (const p of placeholders) {
    if (!Object.hasOwn(params, p.name)) {
      const known = Object.keys(params);
      throw new TemplateError(
        `unknown placeholder {{${p.name}}}${known.length ? `; the parameters are: ${known.join(', ')}` : '; this runbook has no parameters'}`,
      );
    }
    out += template.slice(last, p.start) + shellQuote(params[p.name]!);
    last = p.end;
  }
  return out + template.slice(last);
}

interface Placeholder {
  name: string;
  start: number;
  end: number;
}

type Context = 'cmd' | 'subshell' | 'dq' | 'bq' | 'brace' | 'arith';

/**
 * A small shell lexer, just enough to know the quoting context at each placeholder. It errs towards refusing:
 * whatever it does not understand leaves a placeholder unvisited, and an unvisited placeholder is an error.
 */
function scanTemplate(template: string): { placeholders: Placeholder[]; constructs: EvaluatingConstruct[] } {
  const all: Placeholder[] = [];
  for (let i = template.indexOf('{{'); i !== -1; i = template.indexOf('{{', i + 1)) {
    PLACEHOLDER.lastIndex = i;
    const match = PLACEHOLDER.exec(template);
    if (!match) {
      // Other tools' templates (`docker ps --format '{{.Names}}'`, `{{json .State}}`) stay literal text; only
      // something that looks like one of ours with a bad name (`{{ replica-ip }}`) is a typo worth reporting.
      NEAR_PLACEHOLDER.lastIndex = i;
      if (NEAR_PLACEHOLDER.test(template)) {
        throw new TemplateError(`"${excerpt(template, i)}" is not a valid placeholder: names use letters, digits and underscores, like {{primary_ip}}`);
      }
      continue;
    }
    all.push({ name: match[1]!, start: i, end: i + match[0].length });
  }
  if (all.length === 0) return { placeholders: all, constructs: [] };

  const starts = new Map(all.map((p) => [p.start, p]));
  const accepted = new Set<Placeholder>();
  const rejected = new Map<Placeholder, string>();
  const stack: Context[] = ['cmd'];
  const top = () => stack[stack.length - 1]!;
  const inPlainContext = () => stack.every((c) => c === 'cmd' || c === 'subshell');
  // Here-documents whose bodies start at the next newline: [delimiter, strip leading tabs]
  const pendingHeredocs: Array<[string, boolean]> = [];
  let atWordStart = true;
  let arithDepth = 0;
  // The template as bash's command parser sees it: characters read as shell code keep their place, everything
  // else (quoted text, ${…} and $((…)) bodies, comments, here-document bodies) becomes NOT_CODE and each
  // placeholder PLACEHOLDER_MARK. The evaluating constructs are looked for in this.
  const mask: string[] = Array.from({ length: template.length }, () => NOT_CODE);

  const refuse = (p: Placeholder | undefined, why: string) => {
    if (p && !rejected.has(p)) rejected.set(p, why);
  };

  let i = 0;
  while (i < template.length) {
    const ch = template[i]!;
    const context = top();
    const placeholder = starts.get(i);

    if (placeholder) {
      if (context === 'dq') refuse(placeholder, 'inside double quotes');
      else if (context === 'bq') refuse(placeholder, 'inside backticks');
      else if (context === 'brace') refuse(placeholder, 'inside ${…}');
      else if (context === 'arith') refuse(placeholder, 'inside $((…))');
      else if (!inPlainContext()) refuse(placeholder, 'inside a quoted or nested context');
      else if (template[i - 1] === '$') refuse(placeholder, 'right after a $');
      else accepted.add(placeholder);
      for (let at = placeholder.start; at < placeholder.end; at += 1) mask[at] = PLACEHOLDER_MARK;
      i = placeholder.end;
      atWordStart = false;
      continue;
    }

    if (context === 'bq') {
      if (ch === '\\') i += 2;
      else {
        if (ch === '`') stack.pop();
        else mask[i] = ch;
        i += 1;
      }
      continue;
    }

    if (context === 'arith') {
      if (ch === '(') arithDepth += 1;
      else if (ch === ')') {
        if (arithDepth > 0) arithDepth -= 1;
        else if (template[i + 1] === ')') {
          stack.pop();
          i += 2;
          continue;
        }
      }
      i += 1;
      continue;
    }

    if (ch === '\\') {
      // The escaped character is skipped: a placeholder starting there is never visited, hence refused.
      refuse(starts.get(i + 1), 'right after a backslash');
      if (template[i + 1] === '\n' && context !== 'dq') {
        i += 2;
        continue;
      }
      i += 2;
      atWordStart = false;
      continue;
    }

    if (context === 'dq') {
      if (ch === '"') stack.pop();
      else if (ch === '`') stack.push('bq');
      else if (ch === '$') {
        refuse(starts.get(i + 1), 'right after a $');
        i = openDollar(template, i, stack, (d) => (arithDepth = d));
        continue;
      }
      i += 1;
      continue;
    }

    if (context === 'brace') {
      // Quotes inside ${…} mean different things inside and outside "…" (and differ between shells): rather
      // than guess, nothing after them may hold a placeholder.
      if (ch === "'" || ch === '"' || ch === '`') {
        for (const p of all) if (p.start > i) refuse(p, 'after quotes inside ${…}, which this check does not follow');
        break;
      }
      if (ch === '$') i = openDollar(template, i, stack, (d) => (arithDepth = d));
      else {
        if (ch === '}') stack.pop();
        i += 1;
      }
      continue;
    }

    // 'cmd' and 'subshell' share quoting rules.
    if (ch === "'") {
      const close = template.indexOf("'", i + 1);
      const end = close === -1 ? template.length : close + 1;
      for (const p of all) if (p.start > i && p.start < end) refuse(p, "inside single quotes ('…')");
      i = end;
      atWordStart = false;
      continue;
    }
    if (ch === '"') {
      stack.push('dq');
      i += 1;
      atWordStart = false;
      continue;
    }
    if (ch === '`') {
      stack.push('bq');
      i += 1;
      atWordStart = false;
      continue;
    }
    if (ch === '$') {
      refuse(starts.get(i + 1), 'right after a $');
      const next = openDollar(template, i, stack, (d) => (arithDepth = d));
      for (let at = i; at < next; at += 1) mask[at] = template[at]!;
      i = next;
      atWordStart = false;
      continue;
    }
    if (ch === '#' && atWordStart) {
      const newline = template.indexOf('\n', i);
      const end = newline === -1 ? template.length : newline;
      for (const p of all) if (p.start > i && p.start < end) refuse(p, 'inside a comment (a newline in the value would end it)');
      i = end;
      continue;
    }
    if (ch === '(') {
      stack.push('subshell');
      mask[i] = ch;
      i += 1;
      atWordStart = true;
      continue;
    }
    if (ch === ')') {
      if (stack.length > 1) stack.pop();
      mask[i] = ch;
      i += 1;
      atWordStart = true;
      continue;
    }
    if (ch === '<' && template[i + 1] === '<' && template[i + 2] !== '<') {
      const stripTabs = template[i + 2] === '-';
      const parsed = parseHeredocDelimiter(template, i + (stripTabs ? 3 : 2));
      if (!parsed) {
        // Cannot tell where the body ends: refuse every placeholder that follows.
        for (const p of all) if (p.start >= i) refuse(p, 'after a here-document this check cannot follow');
        break;
      }
      for (const p of all) if (p.start >= i && p.start < parsed.end) refuse(p, 'as a here-document delimiter');
      pendingHeredocs.push([parsed.delimiter, stripTabs]);
      i = parsed.end;
      atWordStart = false;
      continue;
    }
    if (ch === '\n' && pendingHeredocs.length > 0) {
      i += 1;
      for (const [delimiter, stripTabs] of pendingHeredocs.splice(0)) {
        const bodyStart = i;
        let end = template.length;
        let next = template.length;
        for (let lineStart = i; lineStart < template.length; ) {
          const newline = template.indexOf('\n', lineStart);
          const lineEnd = newline === -1 ? template.length : newline;
          let line = template.slice(lineStart, lineEnd);
          if (stripTabs) line = line.replace(/^\t+/, '');
          if (line === delimiter) {
            end = lineStart;
            next = newline === -1 ? template.length : newline + 1;
            break;
          }
          lineStart = lineEnd + 1;
        }
        for (const p of all) if (p.start >= bodyStart && p.start < end) refuse(p, 'inside a here-document body (it is expanded there)');
        i = next;
      }
      atWordStart = true;
      continue;
    }
    atWordStart = /[\s;&|<>]/.test(ch);
    mask[i] = ch;
    i += 1;
  }

  for (const p of all) {
    if (rejected.has(p) || !accepted.has(p)) {
      const why = rejected.get(p) ?? 'in a position this check cannot verify';
      throw new TemplateError(
        `placeholder {{${p.name}}} is ${why} in "${excerpt(template, p.start)}": ` +
          'put it outside any quotes, as its own word or part of one (for example --dir={{' +
          p.name +
          '}}); ' +
          'the value is quoted for you',
      );
    }
  }
  return { placeholders: all, constructs: findEvaluatingConstructs(template, mask.join('')) };
}

const NOT_CODE = '\u0002';
const PLACEHOLDER_MARK = '\u0001';
/** Where a command word may start in the mask. */
const CMD = String.raw`(?:^|[\s;&|(){}!\x60])`;
const END = String.raw`(?=[\s;&|()<>]|$)`;
/** A word that is not plain literal text: a placeholder, an expansion or quoted text. */
const NOT_LITERAL = /[\u0001\u0002$\x60]/;

/** Patterns on the raw text: `$`-expansions that evaluate, wherever they are (double quotes and here-documents expand them). */
const RAW_CONSTRUCTS: ReadonlyArray<[RegExp, EvaluatingConstruct['kind'], string]> = [
  [/\$\(\(/g, 'arithmetic', 'an arithmetic expansion $(( … ))'],
  [/\$\[/g, 'arithmetic', 'an arithmetic expansion $[ … ]'],
  [/\$\{#?[A-Za-z_][A-Za-z0-9_]*\[/g, 'arithmetic', 'an array subscript ${a[…]}'],
  [/\$\{[A-Za-z_][A-Za-z0-9_]*:(?![-=?+])/g, 'arithmetic', 'a substring expansion ${v:offset}'],
  [/\$\{!/g, 'name', 'an indirect expansion ${!v}'],
];

/** Patterns on the mask: commands and words that bash's parser sees as code. */
const MASK_CONSTRUCTS: ReadonlyArray<[RegExp, EvaluatingConstruct['kind'], string]> = [
  [/\(\(/g, 'arithmetic', 'bash arithmetic (( … ))'],
  [new RegExp(`${CMD}let${END}`, 'g'), 'arithmetic', 'a let command'],
  [/\[\[[^\n]*?\s-(?:eq|ne|lt|le|gt|ge)(?=\s)/g, 'arithmetic', 'an arithmetic comparison in [[ … ]]'],
  [/(?:\[\[|\[|\btest|&&|\|\|)\s+(?:!\s+)?-[vR](?=\s)/g, 'name', 'a variable test -v'],
  [/(?:^|[\s;&|(){}!\x60])[A-Za-z_][A-Za-z0-9_]*\[[^\]\n]*\]\+?=/g, 'arithmetic', 'an array element assignment a[…]='],
  [/(?:\(|\s)\[[^\]\n]*\]\+?=/g, 'arithmetic', 'an array element assignment ( [i]=… )'],
  [
    new RegExp(`${CMD}(?:declare|typeset|local|export|readonly)(?:\\s+[-+][A-Za-z]+)*\\s+[-+][A-Za-z]*[inA]`, 'g'),
    'arithmetic',
    'an integer, nameref or array declaration',
  ],
  [new RegExp(`${CMD}(?:eval|trap)${END}`, 'g'), 'code', 'eval or trap'],
  [
    new RegExp(`${CMD}(?:\\S*/)?(?:sh|bash|dash|zsh|ksh|mksh|ash|busybox)\\s(?:[^;&|\\n]*\\s)?-[A-Za-z]*c[A-Za-z]*${END}`, 'g'),
    'code',
    'a nested shell (sh -c)',
  ],
  [new RegExp(`${CMD}(?:\\S*/)?(?:ssh|su|watch)${END}`, 'g'), 'code', 'a command that hands its arguments to another shell (ssh, su, watch)'],
];

/** Commands whose arguments name variables: harmless with literal names, evaluated with any other. */
const NAME_COMMANDS = new RegExp(`${CMD}(read|mapfile|readarray|unset|getopts|printf|wait|declare|typeset|local|export|readonly)${END}([^;&|\\n)]*)`, 'g');

function findEvaluatingConstructs(template: string, mask: string): EvaluatingConstruct[] {
  const found: EvaluatingConstruct[] = [];
  for (const [pattern, kind, what] of RAW_CONSTRUCTS) for (const match of template.matchAll(pattern)) found.push({ kind, what, at: match.index });
  for (const [pattern, kind, what] of MASK_CONSTRUCTS) {
    for (const match of mask.matchAll(pattern)) found.push({ kind, what, at: match.index + (/^[\s;&|(){}!\x60]/.test(match[0]) ? 1 : 0) });
  }
  for (const match of mask.matchAll(NAME_COMMANDS)) {
    const command = match[1]!;
    const words = match[2]!.trim().split(/\s+/).filter(Boolean);
    const names = nameWords(command, words);
    if (names.some((word) => NOT_LITERAL.test(word))) {
      found.push({
        kind: 'name',
        what: `a ${command} command with a variable name that is not plain text`,
        at: match.index + (/^[\s;&|(){}!\x60]/.test(match[0]) ? 1 : 0),
      });
    }
  }
  return found.sort((a, b) => a.at - b.at);
}

/** The words of a name-taking command that bash reads as variable names. */
function nameWords(command: string, words: readonly string[]): string[] {
  switch (command) {
    case 'printf': {
      const at = words.indexOf('-v');
      return at === -1 ? [] : [words[at + 1] ?? ''];
    }
    case 'wait': {
      const at = words.indexOf('-p');
      return at === -1 ? [] : [words[at + 1] ?? ''];
    }
    case 'getopts':
      return words.slice(1, 2);
    case 'declare':
    case 'typeset':
    case 'local':
    case 'export':
    case 'readonly':
      // The name is what comes before "=": `local dir={{path}}` assigns a value, `local {{x}}=1` names a variable.
      return words.filter((word) => !/^[-+]/.test(word)).map((word) => word.split('=')[0]!);
    default:
      // read, mapfile, readarray, unset: every word that is not an option (option values are taken as names
      // too, which refuses a little more than needed).
      return words.filter((word) => !/^-[A-Za-z]+$/.test(word));
  }
}

/** Handles `$(`, `$((`, `${` and a plain `$`; returns the index after what it consumed. */
function openDollar(template: string, i: number, stack: Context[], setArithDepth: (depth: number) => void): number {
  const next = template[i + 1];
  if (next === '(' && template[i + 2] === '(') {
    stack.push('arith');
    setArithDepth(0);
    return i + 3;
  }
  if (next === '(') {
    stack.push('subshell');
    return i + 2;
  }
  if (next === '{') {
    stack.push('brace');
    return i + 2;
  }
  return i + 1;
}

/** The word after `<<` with its quotes removed, or null when it is not a simple word. */
function parseHeredocDelimiter(template: string, from: number): { delimiter: string; end: number } | null {
  let i = from;
  while (template[i] === ' ' || template[i] === '\t') i += 1;
  let delimiter = '';
  const start = i;
  while (i < template.length && !/[\s;&|<>()]/.test(template[i]!)) {
    const ch = template[i]!;
    if (ch === "'" || ch === '"') {
      const close = template.indexOf(ch, i + 1);
      if (close === -1) return null;
      delimiter += template.slice(i + 1, close);
      i = close + 1;
    } else if (ch === '\\') {
      delimiter += template[i + 1] ?? '';
      i += 2;
    } else if (ch === '$' || ch === '`' || ch === '{') {
      return null;
    } else {
      delimiter += ch;
      i += 1;
    }
  }
  if (i === start || delimiter === '') return null;
  return { delimiter, end: i };
}

function excerpt(text: string, at: number): string {
  const from = Math.max(0, at - 20);
  const snippet = text.slice(from, at + 30).replace(/\n/g, '⏎');
  return (from > 0 ? '…' : '') + snippet + (at + 30 < text.length ? '…' : '');
}

// ---------------------------------------------------------------------------------------------------------
// Parameter validation

export const PARAM_TYPES = ['host', 'ip', 'hostname', 'path', 'int', 'enum', 'string'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

export interface ParamOptions {
  /** The parameter's name, for messages. */
  name?: string;
  /** int: smallest accepted value; negative numbers are accepted only when this is below zero (default 0). */
  min?: number;
  /** int: largest accepted value. */
  max?: number;
  /** enum: the accepted values. */
  values?: readonly string[];
  /** host: the inventory's host names. */
  inventory?: readonly string[];
  /** path: require an absolute path. */
  absolute?: boolean;
  /** string: longest accepted value in characters (default 200). */
  maxLength?: number;
}

const DEFAULT_STRING_MAX = 200;
const PATH_MAX = 4096;
// Control characters have no business in these values; they also hide text in Slack and terminals.
const CONTROL = /[\u0000-\u001f\u007f]/;
const STRING_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/**
 * Characters that make the text an approver reads differ from what runs: bidi overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069), zero-width and other format characters (U+200B–U+200F, U+2060, U+FEFF, soft
 * hyphen, tags: all of \p{Cf}), C1 controls, line and paragraph separators, spaces other than U+0020, Hangul
 * and Braille fillers, variation selectors, the combining grapheme joiner, private-use, unassigned code points and
 * lone surrogates. C0 controls are handled by each type (text may keep newlines and tabs).
 */
// One character class, written in two pieces to keep the lines short; each invisible code point is listed on
// purpose, combining ones included.
const INVISIBLE = new RegExp(
  '[' +
    String.raw`\p{Cf}\u0080-\u009f\p{Zl}\p{Zp}\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\u034f\u115f\u1160\u2800\u3164\uffa0` +
    String.raw`\ufe00-\ufe0f\u{e0100}-\u{e01ef}\p{Co}\p{Cn}\p{Cs}` +
    ']',
  'u',
);

/**
 * Checks a value against its parameter type and returns the normalized value (trimmed, lower-cased host
 * names, canonical integers). Throws `ParamError` with what is accepted. A value starting with '-' is refused
 * for every type but int, so no value can be read as an option (`-oProxyCommand=…`).
 */
export function validateParam(type: ParamType, value: string, options: ParamOptions = {}): string {
  const label = options.name ? `${options.name}: ` : '';
  const fail = (what: string): never => {
    throw new ParamError(`${label}${showValue(value)} ${what}`, options.name);
  };
  if (typeof value !== 'string') throw new ParamError(`${label}a value is required`, options.name);
  if (value.includes('\0')) fail('contains a NUL byte, which is never accepted');
  const invisible = INVISIBLE.exec(value);
  if (invisible) {
    fail(
      `contains the invisible or look-alike character U+${invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, ` +
        `which would make the plan read differently from what runs: type the value again by hand; ${describeType(type, options)}`,
    );
  }

  const trimmed = type === 'string' || type === 'path' ? value : value.trim();
  if (trimmed === '') fail(`is empty: ${describeType(type, options)}`);
  if (type !== 'int' && trimmed.startsWith('-')) {
    fail(`starts with "-", which could be read as an option; ${describeType(type, options)}`);
  }

  switch (type) {
    case 'ip': {
      if (isIP(trimmed) === 0 || trimmed.includes('%')) fail(`is not an IP address: ${describeType(type, options)}`);
      return isIP(trimmed) === 6 ? trimmed.toLowerCase() : trimmed;
    }
    case 'hostname': {
      const name = trimmed.toLowerCase().replace(/\.$/, '');
      if (name.length > 253 || !name.split('.').every((l) => HOST_LABEL.test(l))) {
        fail(`is not a host name: ${describeType(type, options)}`);
      }
      return name;
    }
    case 'path': {
      if (CONTROL.test(trimmed)) fail(`contains a control character (newline, tab, …): ${describeType(type, options)}`);
      if (trimmed.length > PATH_MAX) fail(`is longer than ${PATH_MAX} characters`);
      if (trimmed !== trimmed.trim()) fail(`starts or ends with a space: ${describeType(type, options)}`);
      if (options.absolute && !trimmed.startsWith('/')) fail(`is not an absolute path: ${describeType(type, options)}`);
      if (trimmed.split('/').includes('..'))
        fail('has a ".." segment, which leaves the directory it seems to name: give the path without "..", like /var/lib/postgresql/data');
      return trimmed;
    }
    case 'int': {
      if (!/^-?\d{1,16}$/.test(trimmed)) fail(`is not a whole number: ${describeType(type, options)}`);
      const number = Number(trimmed);
      if (!Number.isSafeInteger(number)) fail(`is too large: ${describeType(type, options)}`);
      const min = options.min ?? 0;
      if (number < min) fail(`is below the minimum: ${describeType(type, options)}`);
      if (options.max !== undefined && number > options.max) fail(`is above the maximum: ${describeType(type, options)}`);
      return String(number === 0 ? 0 : number);
    }
    case 'enum': {
      if (!options.values || options.values.length === 0) throw new TypeError('an enum parameter needs its values');
      if (!options.values.includes(trimmed)) fail(`is not one of the choices: ${describeType(type, options)}`);
      return trimmed;
    }
    case 'host': {
      if (!options.inventory) throw new TypeError('a host parameter needs the inventory');
      if (!options.inventory.includes(trimmed)) fail(`is not a known host: ${describeType(type, options)}`);
      return trimmed;
    }
    case 'string': {
      const max = options.maxLength ?? DEFAULT_STRING_MAX;
      if (STRING_CONTROL.test(trimmed)) fail('contains a control character; text may have newlines and tabs only');
      if ([...trimmed].length > max) fail(`is longer than ${max} characters`);
      return trimmed;
    }
    default:
      throw new TypeError(`unknown parameter type ${String(type)}; the types are ${PARAM_TYPES.join(', ')}`);
  }
}

/** "an IPv4 or IPv6 address such as 10.0.0.4", "one of: a, b": what to type instead. */
export function describeType(type: ParamType, options: ParamOptions = {}): string {
  switch (type) {
    case 'ip':
      return 'give an IPv4 or IPv6 address such as 10.0.0.4 or fd00::4';
    case 'hostname':
      return 'give a host name such as db-1.example.com (letters, digits, inner hyphens; dot-separated)';
    case 'path':
      return (
        `give a file path such as ${options.absolute ? '' : 'backups/today or '}/var/lib/postgresql/data ` +
        '(not starting with "-", no ".." segment, no control or invisible characters)'
      );
    case 'int': {
      const min = options.min ?? 0;
      return options.max !== undefined ? `give a whole number from ${min} to ${options.max}` : `give a whole number of at least ${min}`;
    }
    case 'enum':
      return `give one of: ${(options.values ?? []).join(', ')}`;
    case 'host':
      return `give one of the hosts: ${(options.inventory ?? []).join(', ') || '(the inventory is empty)'}`;
    case 'string':
      return `give text of at most ${options.maxLength ?? DEFAULT_STRING_MAX} characters, not starting with "-", without invisible characters`;
    default:
      return '';
  }
}

/** The value as the user sees it in a message: JSON-escaped (so newlines are visible) and cut short. */
function showValue(value: unknown): string {
  if (typeof value !== 'string') return String(value);
  const short = [...value].length > 60 ? `${[...value].slice(0, 60).join('')}…` : value;
  // Invisible characters are shown by their code point: echoed as they are, they would reorder or hide the message.
  return JSON.stringify(short).replace(new RegExp(INVISIBLE.source, 'gu'), (ch) => `\\u{${ch.codePointAt(0)!.toString(16).toUpperCase()}}`);
}
