import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import type { Checklist, ChecklistItem } from '../checklists.ts';
import { parseDuration } from '../duration.ts';
import { paramTypes, type HostDef, type RunbookDef, type StepDef } from '../runbooks.ts';
import { PARAM_TYPES, renderCommand, TemplateError, templatePlaceholders } from '../shell-quote.ts';
import type { CapacityTables } from '../capacity.ts';
import { OPERATORS, SEVERITIES, type Trigger } from '../triggers.ts';
import { parseHostKey } from '../../integrations/ssh.ts';
import { UNITS } from '../units.ts';
import {
  advisorConfigShape,
  buildAdvisorConfig,
  checkAdvisorReferences,
  mergeAdvisorConfigs,
  noteOrigins,
  type AdvisorConfig,
  type AdvisorOrigins,
} from './advisor.ts';

export const DEFAULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'config');

/** A config that cannot be used, with one line per problem: file, line, path and what to do. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`The configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const duration = z.union([z.string(), z.number()]).superRefine((value, context) => {
  try {
    parseDuration(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
  }
});
const idPattern = /^[a-z0-9][a-z0-9_-]*$/;
const id = z.string().regex(idPattern, 'an id is lower-case letters, digits, "_" and "-", like db_connections');

const triggerFields = {
  name: z.string().min(1),
  severity: z.enum(SEVERITIES),
  query: z.string().min(1),
  op: z.enum(OPERATORS),
  threshold: z.number(),
  for: duration.optional(),
  unit: z.enum(UNITS),
  advice: z.string().optional(),
};
const requiredTriggerFields = ['name', 'severity', 'query', 'op', 'threshold', 'unit'] as const;
const triggerEntry = z
  .object({ id, enabled: z.boolean().optional(), ...z.object(triggerFields).partial().shape })
  .strict();

const slackId = z.string().regex(/^([USW][A-Z0-9]+|@[a-z0-9._-]+)$/, 'a Slack user id (U…), user group id (S…) or group handle (@ops-leads)');
const hostEntry = z
  .object({
    address: z.string().min(1),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1),
    private_key_file: z
      .string()
      .min(1)
      .refine((value) => !value.includes('PRIVATE KEY'), 'give the path of the key file, never the key itself')
      .optional(),
    private_key_file_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'the name of an environment variable holding the key file path').optional(),
    host_key: z.string().superRefine((value, context) => {
      try {
        parseHostKey(value);
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }),
  })
  .strict()
  .refine((host) => Boolean(host.private_key_file) !== Boolean(host.private_key_file_env), 'give exactly one of private_key_file or private_key_file_env');
const stepEntry = z
  .object({
    id,
    title: z.string().min(1).optional(),
    host: z.string().min(1),
    run: z.string().min(1),
    timeout: duration.optional(),
    confirm: z.boolean().optional(),
    output: z.enum(['shown', 'hidden'], { error: 'output is shown (the default) or hidden (kept out of Slack)' }).optional(),
  })
  .strict();
/** Who may approve (or request): Slack ids, or the word `anyone`, which has to be written out to mean it. */
const approversEntry = z.union(
  [
    z.literal('anyone'),
    z.array(z.string().regex(/^([USW][A-Z0-9]+|@[a-z0-9._-]+)$/, 'a Slack user id (U…), user group id (S…) or group handle (@ops-leads); to let anyone, write `anyone` instead of the list')),
  ],
  { error: 'a list of Slack ids ([U0123ABCD, S0456EFGH, "@ops-leads"]) or the word anyone' },
);
const paramEntry = z
  .object({
    name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a parameter name is letters, digits and _'),
    type: z.enum(PARAM_TYPES),
    description: z.string().optional(),
    values: z.array(z.string().min(1)).min(1).optional(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    default: z.union([z.string(), z.number()]).transform(String).optional(),
  })
  .strict()
  .refine((param) => param.type !== 'enum' || Boolean(param.values), 'an enum parameter needs values');
const runbookEntry = z
  .object({
    id,
    enabled: z.boolean().optional(),
    title: z.string().min(1).optional(),
    description: z.string().optional(),
    requires_checklist: z.string().nullable().optional(),
    requesters: approversEntry.optional(),
    approval: z
      .object({ approvers: approversEntry.optional(), required: z.number().int().min(1).max(10).optional(), allow_self: z.boolean().optional(), expires: duration.optional() })
      .strict()
      .optional(),
    params: z.array(paramEntry).optional(),
    steps: z.array(stepEntry).min(1).optional(),
    rollback: z.array(stepEntry).optional(),
  })
  .strict();

/** A checklist posts one block per item; past this many even the compact layout would not fit one message. */
export const MAX_CHECKLIST_ITEMS = 100;
const checklistItemEntry = z
  .object({
    id: z.string().regex(idPattern, 'an item id is lower-case letters, digits, "_" and "-", like full_backup').max(64),
    text: z.string().min(1).max(200),
    section: z.string().min(1).max(100).optional(),
    detail: z.string().min(1).max(500).optional(),
    action: z
      .union([z.literal('status_snapshot'), z.object({ runbook: z.string().regex(idPattern, 'a runbook id is lower-case letters, digits, "_" and "-", like backup') }).strict()], {
        error: 'an action is `status_snapshot` or `{ runbook: <runbook id> }`',
      })
      .optional(),
  })
  .strict();
const checklistEntry = z
  .object({
    id: id.max(64),
    enabled: z.boolean().optional(),
    title: z.string().min(1).max(100).optional(),
    description: z.string().max(500).optional(),
    responders: z.array(slackId).optional(),
    items: z.array(checklistItemEntry).min(1).max(MAX_CHECKLIST_ITEMS).optional(),
  })
  .strict();
type ChecklistEntry = z.infer<typeof checklistEntry>;

const userConfigSchema = z
  .object({
    prometheus: z.object({ url: z.url().optional(), timeout: duration.optional(), lookback: duration.optional() }).strict().optional(),
    grafana: z.object({ dashboard_url: z.url().nullable().optional() }).strict().optional(),
    slack: z
      .object({
        // An id, not a name or a user: the outbox finds a post whose answer was lost by reading the channel's
        // history, which Slack serves by channel id only; a row it cannot look up would wait for ever.
        alerts_channel: z
          .string()
          .regex(/^[CG][A-Z0-9]{2,}$/, 'the channel id (C…), not its name or a user: in Slack, open the channel → its name → About → Channel ID')
          .nullable()
          .optional(),
      })
      .strict()
      .optional(),
    triggers: z.array(triggerEntry).optional(),
    hosts: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a host name is lower-case letters, digits, ".", "_" and "-"'), hostEntry).optional(),
    admins: z.array(slackId).optional(),
    runbooks: z.array(runbookEntry).optional(),
    checklists: z.array(checklistEntry).optional(),
    watch: z
      .object({
        enabled: z.boolean().optional(),
        interval: duration.optional(),
        resolve_after: duration.optional(),
        repeat: z.object({ immediate: duration.optional(), soon: duration.optional() }).strict().optional(),
        responders: z.array(slackId).optional(),
        snooze_options: z.array(duration).min(1).max(5).optional(),
      })
      .strict()
      .optional(),
    ...advisorConfigShape,
  })
  .strict();
type UserConfig = z.infer<typeof userConfigSchema>;

export interface Config {
  readonly prometheus: { readonly url: string; readonly timeoutMs: number; readonly lookbackSeconds: number };
  readonly grafana: { readonly dashboardUrl: string | null };
  readonly slack: { readonly alertsChannel: string | null };
  readonly triggers: readonly Trigger[];
  /** The checklists `/scale checklist` can post: the guide's (config/checklists.yaml) and the user's, by id. */
  readonly checklists: readonly Checklist[];
  readonly watch: {
    readonly enabled: boolean;
    readonly intervalSeconds: number;
    readonly resolveAfterSeconds: number;
    readonly repeatSeconds: { readonly immediate: number; readonly soon: number };
    /** Slack user and user group ids allowed to acknowledge and snooze; empty: anyone. */
    readonly responders: readonly string[];
    readonly snoozeOptionsSeconds: readonly number[];
  };
  readonly hosts: ReadonlyMap<string, HostDef>;
  readonly runbooks: readonly RunbookDef[];
  /** May force-release host locks. */
  readonly admins: readonly string[];
  /** The advisor's tables: server tiers, stages, API costs, what runs now (config/advisor.yaml). */
  readonly capacity: CapacityTables;
  readonly advisor: AdvisorConfig;
  /** The files the config was read from, defaults first. */
  readonly sources: readonly string[];
}

interface ParsedFile {
  file: string;
  document: Document.Parsed;
  lineCounter: LineCounter;
  /** The document as plain data. */
  raw: unknown;
}

function parseYamlFile(file: string, problems: string[]): ParsedFile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    problems.push(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    return undefined;
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    for (const error of document.errors) {
      const position = lineCounter.linePos(error.pos[0]);
      problems.push(`${file}:${position.line}:${position.col}: not valid YAML: ${error.message.split('\n')[0]}`);
    }
    return undefined;
  }
  // An alias to no anchor, or too many aliases (a "billion laughs" file), only shows when the data is built.
  try {
    return { file, document, lineCounter, raw: document.toJS({ maxAliasCount: 1000 }) };
  } catch (error) {
    problems.push(`${file}:1:1: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text ? `${text}.${String(key)}` : String(key)), '');
}

/** "file:line:col: path: message", pointing at the closest node that exists in the file. */
function locate(parsed: ParsedFile, path: ReadonlyArray<PropertyKey>, message: string): string {
  for (let length = path.length; length >= 0; length -= 1) {
    const node = parsed.document.getIn(path.slice(0, length) as unknown[], true) as { range?: [number, number] } | undefined;
    if (node?.range) {
      const { line, col } = parsed.lineCounter.linePos(node.range[0]);
      return `${parsed.file}:${line}:${col}: ${formatPath(path) || '(top level)'}: ${message}`;
    }
  }
  return `${parsed.file}: ${formatPath(path) || '(top level)'}: ${message}`;
}

interface KnownIds {
  readonly triggers: ReadonlySet<string>;
  readonly checklists: ReadonlySet<string>;
}

const NO_KNOWN_IDS: KnownIds = { triggers: new Set(), checklists: new Set() };

function validateUserFile(parsed: ParsedFile, known: KnownIds, problems: string[]): UserConfig | undefined {
  const raw = parsed.raw ?? {};
  const result = userConfigSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(locate(parsed, issue.path, issue.message));
  }
  // Checks across entries run on the raw file too, so one pass reports every problem.
  const entries: unknown[] = Array.isArray((raw as { triggers?: unknown }).triggers) ? (raw as { triggers: unknown[] }).triggers : [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    if (!entry || typeof entry !== 'object' || typeof (entry as { id?: unknown }).id !== 'string') return;
    const trigger = entry as Record<string, unknown> & { id: string };
    if (seen.has(trigger.id)) problems.push(locate(parsed, ['triggers', index, 'id'], `trigger "${trigger.id}" is listed twice`));
    seen.add(trigger.id);
    if (!idPattern.test(trigger.id) || known.triggers.has(trigger.id) || trigger.enabled === false) return;
    const missing = requiredTriggerFields.filter((field) => trigger[field] === undefined);
    if (missing.length > 0) {
      problems.push(
        locate(parsed, ['triggers', index], `new trigger "${trigger.id}" needs ${missing.join(', ')} (or use the id of a default trigger to override it)`),
      );
    }
  });
  const checklists: unknown[] = Array.isArray((raw as { checklists?: unknown }).checklists) ? (raw as { checklists: unknown[] }).checklists : [];
  validateChecklists(parsed, checklists, known.checklists, problems);
  return result.success ? result.data : undefined;
}

/** Checks across checklist entries (on the raw file, like the triggers'): ids listed twice, what a new list lacks. */
function validateChecklists(parsed: ParsedFile, entries: readonly unknown[], knownIds: ReadonlySet<string>, problems: string[]): void {
  const seen = new Set<string>();
  entries.forEach((raw, index) => {
    if (!raw || typeof raw !== 'object' || typeof (raw as { id?: unknown }).id !== 'string') return;
    const entry = raw as Record<string, unknown> & { id: string };
    if (seen.has(entry.id)) problems.push(locate(parsed, ['checklists', index, 'id'], `checklist "${entry.id}" is listed twice`));
    seen.add(entry.id);
    const itemIds = new Set<string>();
    (Array.isArray(entry.items) ? entry.items : []).forEach((item: unknown, itemIndex) => {
      const itemId = item && typeof item === 'object' ? (item as { id?: unknown }).id : undefined;
      if (typeof itemId !== 'string') return;
      if (itemIds.has(itemId)) {
        problems.push(locate(parsed, ['checklists', index, 'items', itemIndex, 'id'], `item "${itemId}" is listed twice in checklist "${entry.id}"`));
      }
      itemIds.add(itemId);
    });
    if (!idPattern.test(entry.id) || knownIds.has(entry.id) || entry.enabled === false) return;
    const missing = (['title', 'items'] as const).filter((field) => entry[field] === undefined);
    if (missing.length > 0) {
      problems.push(
        locate(parsed, ['checklists', index], `new checklist "${entry.id}" needs ${missing.join(' and ')} (or use the id of a default checklist to change it)`),
      );
    }
  });
}

/** A runbook that requires a checklist nobody can post would wait for ever: name the typo instead. */
function checkRequiredChecklists(merged: UserConfig): string[] {
  const ids = (merged.checklists ?? []).map((checklist) => checklist.id);
  return (merged.runbooks ?? [])
    .filter((runbook) => runbook.requires_checklist && !ids.includes(runbook.requires_checklist))
    .map((runbook) => `runbooks.${runbook.id}.requires_checklist: no checklist "${runbook.requires_checklist}" is configured (${ids.join(', ') || 'none'})`);
}

function toChecklist(entry: ChecklistEntry): Checklist {
  const items: ChecklistItem[] = (entry.items ?? []).map((item) => ({
    id: item.id,
    text: item.text,
    ...(item.section ? { section: item.section } : {}),
    ...(item.detail ? { detail: item.detail } : {}),
    ...(item.action === 'status_snapshot'
      ? { action: { kind: 'status_snapshot' as const } }
      : item.action
        ? { action: { kind: 'runbook' as const, runbook: item.action.runbook } }
        : {}),
  }));
  return {
    id: entry.id,
    title: entry.title!,
    ...(entry.description ? { description: entry.description } : {}),
    items,
    responders: entry.responders ?? [],
  };
}

function mergeById<T extends { id: string; enabled?: boolean }>(base: readonly T[], overrides: readonly T[]): T[] {
  const merged = new Map(base.map((entry) => [entry.id, entry]));
  for (const override of overrides) {
    if (override.enabled === false) {
      merged.delete(override.id);
      continue;
    }
    merged.set(override.id, { ...(merged.get(override.id) ?? {}), ...override } as T);
  }
  return [...merged.values()];
}

function mergeConfigs(base: UserConfig, override: UserConfig): UserConfig {
  return {
    prometheus: { ...base.prometheus, ...override.prometheus },
    grafana: { ...base.grafana, ...override.grafana },
    slack: { ...base.slack, ...override.slack },
    triggers: mergeById(base.triggers ?? [], override.triggers ?? []),
    watch: { ...base.watch, ...override.watch, repeat: { ...base.watch?.repeat, ...override.watch?.repeat } },
    hosts: { ...base.hosts, ...override.hosts },
    admins: override.admins ?? base.admins ?? [],
    // A runbook's `approval` merges field by field, so adding approvers to a built-in runbook keeps its `expires`.
    runbooks: mergeById(base.runbooks ?? [], override.runbooks ?? []).map((runbook) => {
      const before = base.runbooks?.find((entry) => entry.id === runbook.id)?.approval;
      return before && runbook.approval && runbook.approval !== before ? { ...runbook, approval: { ...before, ...runbook.approval } } : runbook;
    }),
    // An entry with `items` replaces the default's items whole; its other fields override one by one.
    checklists: mergeById(base.checklists ?? [], override.checklists ?? []),
    ...mergeAdvisorConfigs(base, override),
  };
}

function defaultFiles(defaultsDir: string): string[] {
  return readdirSync(defaultsDir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => join(defaultsDir, name));
}

export interface LoadConfigOptions {
  /** The user's file; absent: the built-in defaults alone. */
  file?: string;
  /** Environment overrides (PROMETHEUS_URL). */
  env?: Readonly<Record<string, string | undefined>>;
  defaultsDir?: string;
}

/** Reads the defaults and the user's file, validates both, and returns one typed, frozen config. */
export function loadConfig({ file, env = {}, defaultsDir = DEFAULTS_DIR }: LoadConfigOptions = {}): Config {
  const problems: string[] = [];
  const sources = defaultFiles(defaultsDir);
  const runbookSites: RunbookSites = new Map();
  let merged: UserConfig = {};
  const origins: AdvisorOrigins = {};
  const noteOrigin = (parsed: ParsedFile, data: UserConfig, user: boolean) =>
    noteOrigins(origins, data, { file: parsed.file, order: sources.indexOf(parsed.file), user, locate: (path, message) => locate(parsed, path, message) });
  for (const source of sources) {
    const parsed = parseYamlFile(source, problems);
    const data = parsed && validateUserFile(parsed, NO_KNOWN_IDS, problems);
    if (data) {
      merged = mergeConfigs(merged, data);
      noteOrigin(parsed, data, false);
      noteRunbookSites(runbookSites, parsed, data);
    }
  }
  if (file) {
    const path = resolve(file);
    if (!existsSync(path)) {
      problems.push(`${path}: no such file (give --config or SCALEBOT_CONFIG the path of your YAML config)`);
    } else {
      const parsed = parseYamlFile(path, problems);
      const knownIds: KnownIds = {
        triggers: new Set((merged.triggers ?? []).map((trigger) => trigger.id)),
        checklists: new Set((merged.checklists ?? []).map((checklist) => checklist.id)),
      };
      sources.push(path);
      const data = parsed && validateUserFile(parsed, knownIds, problems);
      if (data) {
        merged = mergeConfigs(merged, data);
        noteOrigin(parsed, data, true);
        noteRunbookSites(runbookSites, parsed, data);
      }
    }
  }
  const prometheusUrl = env.PROMETHEUS_URL?.trim() || merged.prometheus?.url;
  if (env.PROMETHEUS_URL && !z.url().safeParse(env.PROMETHEUS_URL.trim()).success) {
    problems.push(`PROMETHEUS_URL: "${env.PROMETHEUS_URL}" is not a URL (like http://127.0.0.1:9090)`);
  }
  for (const [path, value] of [
    ['watch.interval', merged.watch?.interval],
    ['prometheus.timeout', merged.prometheus?.timeout],
    ['prometheus.lookback', merged.prometheus?.lookback],
  ] as const) {
    if (value !== undefined && safeDuration(value) < 1) problems.push(`${path}: must be at least 1s (got ${JSON.stringify(value)})`);
  }
  if (problems.length === 0) problems.push(...checkRunbooks(merged, env), ...checkRequiredChecklists(merged));
  if (problems.length === 0) checkAdvisorReferences(merged, new Set((merged.triggers ?? []).map((trigger) => trigger.id)), origins, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const triggers: Trigger[] = (merged.triggers ?? []).map((entry) => ({
    id: entry.id,
    name: entry.name!,
    severity: entry.severity!,
    query: entry.query!,
    op: entry.op!,
    threshold: entry.threshold!,
    forSeconds: entry.for === undefined ? 0 : parseDuration(entry.for),
    unit: entry.unit!,
    ...(entry.advice ? { advice: entry.advice } : {}),
  }));
  const { capacity, advisor } = buildAdvisorConfig(merged, triggers);
  const hostCount = Object.keys(merged.hosts ?? {}).length;
  const config: Config = deepFreeze({
    prometheus: {
      url: prometheusUrl!,
      timeoutMs: parseDuration(merged.prometheus?.timeout ?? '5s') * 1000,
      lookbackSeconds: parseDuration(merged.prometheus?.lookback ?? '30m'),
    },
    grafana: { dashboardUrl: merged.grafana?.dashboard_url ?? null },
    slack: { alertsChannel: merged.slack?.alerts_channel ?? null },
    triggers,
    checklists: (merged.checklists ?? []).map(toChecklist),
    watch: {
      enabled: (merged.watch?.enabled ?? true) && Boolean(merged.slack?.alerts_channel),
      intervalSeconds: parseDuration(merged.watch?.interval ?? '60s'),
      resolveAfterSeconds: parseDuration(merged.watch?.resolve_after ?? '5m'),
      repeatSeconds: {
        immediate: parseDuration(merged.watch?.repeat?.immediate ?? '4h'),
        soon: parseDuration(merged.watch?.repeat?.soon ?? '24h'),
      },
      responders: merged.watch?.responders ?? [],
      snoozeOptionsSeconds: (merged.watch?.snooze_options ?? ['1h', '4h', '24h']).map((option) => parseDuration(option)),
    },
    hosts: new Map(Object.entries(merged.hosts ?? {}).map(([name, host]) => [name, toHostDef(name, host, env)])),
    runbooks: (merged.runbooks ?? []).map((entry) => toRunbookDef(entry, hostCount)),
    admins: merged.admins ?? [],
    capacity,
    advisor,
    sources,
  });
  warningsOf.set(
    config,
    config.runbooks
      .filter((runbook) => runbook.disabled)
      .map((runbook) => {
        const message =
          `runbook "${runbook.id}" can run on the configured hosts but names no approvers, so the bot starts with it disabled: ` +
          `under \`runbooks:\` in your config file, add \`- id: ${runbook.id}\` with \`approval: { approvers: [U0123ABCD, "@ops-leads"] }\` ` +
          '(Slack user ids, user group ids or handles), or `approval: { approvers: anyone }` to let anyone approve it';
        return runbookSites.get(runbook.id)?.(message) ?? `runbooks.${runbook.id}: ${message}`;
      }),
  );
  return config;
}

/** Where each runbook was last defined: the user's entry when it has one, else the defaults'. */
type RunbookSites = Map<string, (message: string) => string>;

function noteRunbookSites(sites: RunbookSites, parsed: ParsedFile, data: UserConfig): void {
  (data.runbooks ?? []).forEach((entry, index) => {
    const path = entry.approval ? ['runbooks', index, 'approval'] : ['runbooks', index];
    sites.set(entry.id, (message) => locate(parsed, path, message));
  });
}

const warningsOf = new WeakMap<Config, readonly string[]>();

/**
 * What the config allows but should not, one line each with its file and line where known: today, runbooks
 * disabled because they name no approvers. `scalebot check-config` exits 1 on these; the bot logs them at start.
 */
export function configWarnings(config: Config): readonly string[] {
  return warningsOf.get(config) ?? config.runbooks.filter((runbook) => runbook.disabled).map((runbook) => `runbooks.${runbook.id}: ${runbook.disabled}`);
}

type RunbookEntry = z.infer<typeof runbookEntry>;
type StepEntry = z.infer<typeof stepEntry>;

function toHostDef(name: string, host: z.infer<typeof hostEntry>, env: Readonly<Record<string, string | undefined>>): HostDef {
  const keyFile = host.private_key_file ?? env[host.private_key_file_env!] ?? '';
  return { name, address: host.address, port: host.port ?? 22, user: host.user, privateKeyFile: keyFile, hostKey: host.host_key };
}

function toStepDef(step: StepEntry): StepDef {
  return {
    id: step.id,
    title: step.title ?? step.id,
    host: step.host,
    run: step.run,
    timeoutSeconds: parseDuration(step.timeout ?? '10m'),
    confirm: step.confirm ?? false,
    output: step.output ?? 'shown',
  };
}

/**
 * Open by default is not a default: a runbook that can run on a host (any host is configured: a step's host is
 * either an inventory name or a host parameter) and names nobody as approver is disabled, unless the config
 * says `approvers: anyone`.
 */
function toRunbookDef(entry: RunbookEntry, hostCount: number): RunbookDef {
  const approvers = entry.approval?.approvers;
  const anyone = approvers === 'anyone';
  const named = Array.isArray(approvers) ? approvers : [];
  const disabled =
    hostCount > 0 && !anyone && named.length === 0
      ? `\`${entry.id}\` names no approvers, so nobody could approve a run of it. An admin adds to the bot's config file:\n` +
        `\`\`\`\nrunbooks:\n  - id: ${entry.id}\n    approval: { approvers: [U0123ABCD, "@ops-leads"] }\n\`\`\`\n` +
        '(Slack user ids, user group ids or handles; `approvers: anyone` lets anyone approve it.)'
      : undefined;
  return {
    id: entry.id,
    title: entry.title ?? entry.id,
    ...(entry.description ? { description: entry.description } : {}),
    params: (entry.params ?? []).map((param) => ({
      name: param.name,
      type: param.type,
      ...(param.description ? { description: param.description } : {}),
      ...(param.values ? { values: param.values } : {}),
      ...(param.min !== undefined ? { min: param.min } : {}),
      ...(param.max !== undefined ? { max: param.max } : {}),
      ...(param.default !== undefined ? { default: param.default } : {}),
    })),
    steps: (entry.steps ?? []).map(toStepDef),
    rollback: (entry.rollback ?? []).map(toStepDef),
    ...(entry.requires_checklist ? { requiresChecklist: entry.requires_checklist } : {}),
    requesters: entry.requesters === 'anyone' || !entry.requesters ? [] : entry.requesters,
    ...(disabled ? { disabled } : {}),
    approval: {
      approvers: named,
      anyone,
      required: entry.approval?.required ?? 1,
      allowSelf: entry.approval?.allow_self ?? false,
      expiresSeconds: parseDuration(entry.approval?.expires ?? '30m'),
    },
  };
}

/**
 * What a schema cannot see: every placeholder names a parameter, a step's host is a host parameter or an
 * inventory name, a template fills safely, step ids are unique, key files exist by name.
 */
function checkRunbooks(merged: UserConfig, env: Readonly<Record<string, string | undefined>>): string[] {
  const problems: string[] = [];
  const hosts = merged.hosts ?? {};
  for (const [name, host] of Object.entries(hosts)) {
    if (host.private_key_file_env && !env[host.private_key_file_env]) {
      problems.push(`hosts.${name}.private_key_file_env: the environment variable ${host.private_key_file_env} is not set`);
    }
  }
  for (const runbook of merged.runbooks ?? []) {
    const where = `runbooks.${runbook.id}`;
    if (!runbook.title) problems.push(`${where}: needs a title`);
    if (!runbook.steps || runbook.steps.length === 0) {
      problems.push(`${where}: needs steps`);
      continue;
    }
    const params = new Map((runbook.params ?? []).map((param) => [param.name, param]));
    const sample = Object.fromEntries([...params.keys()].map((name) => [name, 'x']));
    const types = paramTypes(runbook.params ?? []);
    for (const [phase, steps] of [
      ['steps', runbook.steps],
      ['rollback', runbook.rollback ?? []],
    ] as const) {
      const ids = new Set<string>();
      steps.forEach((step, index) => {
        const at = `${where}.${phase}[${index}]`;
        if (ids.has(step.id)) problems.push(`${at}: step id "${step.id}" is used twice`);
        ids.add(step.id);
        try {
          for (const name of templatePlaceholders(step.run)) {
            if (!params.has(name)) problems.push(`${at}.run: {{${name}}} is not a parameter of ${runbook.id} (${[...params.keys()].join(', ') || 'it has none'})`);
          }
          if (templatePlaceholders(step.run).every((name) => params.has(name))) renderCommand(step.run, sample, types);
        } catch (error) {
          if (error instanceof TemplateError || error instanceof Error) problems.push(`${at}.run: ${error.message}`);
        }
        const hostParam = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(step.host);
        if (hostParam) {
          if (params.get(hostParam[1]!)?.type !== 'host') problems.push(`${at}.host: {{${hostParam[1]}}} must be a parameter of type host`);
        } else if (!Object.hasOwn(hosts, step.host)) {
          problems.push(`${at}.host: "${step.host}" is not in hosts (${Object.keys(hosts).join(', ') || 'none configured'})`);
        }
      });
    }
  }
  return problems;
}

function safeDuration(value: string | number): number {
  try {
    return parseDuration(value);
  } catch {
    return Number.NaN;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** Process settings: secrets and wiring from the environment (or .env), never from the YAML. */
export interface Settings {
  readonly mode: 'socket' | 'http';
  readonly botToken: string;
  readonly signingSecret: string | null;
  readonly appToken: string | null;
  /** Base URL of Slack's Web API; tests and the playground point it at a local fake. */
  readonly slackApiUrl: string | null;
  /** Web API retries; null keeps Slack's client default (about 30 minutes of retries). */
  readonly apiRetries: number | null;
  readonly host: string;
  readonly port: number;
  readonly configFile: string | null;
  readonly databaseFile: string;
  readonly logLevel: string;
  /** When set, POST /alertmanager requires `Authorization: Bearer <this>`. */
  readonly alertmanagerToken: string | null;
}

export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      [
        'scalebot cannot start:',
        ...problems.map((problem) => `  - ${problem}`),
        '',
        'Create the Slack app from manifest.yml (https://api.slack.com/apps → Create New App → From an app manifest),',
        'install it to your workspace, and put its tokens in .env (see .env.example) or the environment.',
        'To try the bot without Slack, run: npm run playground',
      ].join('\n'),
    );
    this.name = 'SettingsError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const read = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : null;
  };
  const problems: string[] = [];
  const botToken = read('SLACK_BOT_TOKEN');
  const appToken = read('SLACK_APP_TOKEN');
  const signingSecret = read('SLACK_SIGNING_SECRET');
  const mode = appToken ? 'socket' : 'http';
  if (!botToken) problems.push('SLACK_BOT_TOKEN is not set: the Bot User OAuth Token (xoxb-…) from "OAuth & Permissions"');
  else if (!botToken.startsWith('xoxb-')) problems.push('SLACK_BOT_TOKEN must be a bot token, starting with xoxb-');
  if (appToken && !appToken.startsWith('xapp-')) {
    problems.push('SLACK_APP_TOKEN must be an app-level token with connections:write, starting with xapp-');
  }
  if (mode === 'http' && !signingSecret) {
    problems.push(
      'SLACK_SIGNING_SECRET is not set: the Signing Secret from "Basic Information" (HTTP mode; or set SLACK_APP_TOKEN for Socket Mode)',
    );
  }
  const slackApiUrl = read('SLACK_API_URL');
  if (slackApiUrl && !z.url().safeParse(slackApiUrl).success) problems.push(`SLACK_API_URL: "${slackApiUrl}" is not a URL`);
  const retriesText = read('SLACK_API_RETRIES');
  const apiRetries = retriesText === null ? null : Number(retriesText);
  if (apiRetries !== null && (!Number.isInteger(apiRetries) || apiRetries < 0)) {
    problems.push(`SLACK_API_RETRIES: "${retriesText}" is not a whole number of retries`);
  }
  const portText = read('PORT') ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT: "${portText}" is not a port number`);
  const logLevel = read('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  if (problems.length > 0) throw new SettingsError(problems);
  return Object.freeze({
    mode,
    botToken: botToken!,
    signingSecret,
    appToken,
    slackApiUrl: slackApiUrl ? normalizeApiUrl(slackApiUrl) : null,
    apiRetries,
    host: read('HOST') ?? '127.0.0.1',
    port,
    configFile: read('SCALEBOT_CONFIG'),
    databaseFile: read('SCALEBOT_DB') ?? './data/scalebot.db',
    logLevel,
    alertmanagerToken: read('ALERTMANAGER_TOKEN'),
  });
}

/** The Web API client joins method names onto this URL, so it must end with a slash. */
function normalizeApiUrl(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
