import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import {
  advisorFileShape,
  advisorSections,
  buildAdvisorConfig,
  checkAdvisorReferences,
  mergeAdvisorConfigs,
  noteOrigins,
  type AdvisorOrigins,
} from './advisor.ts';
import { checkChecklistEntries, checklistFileEntry, checklistsSection } from './checklists.ts';
import { parseConfigSource, type ConfigDocument, type ConfigSource } from './document.ts';
import { grafanaFile, grafanaSection, prometheusFile, prometheusSection, prometheusUrlFrom, prometheusUrlProblems } from './prometheus.ts';
import {
  admins,
  checkRequiredChecklists,
  checkRunbooks,
  disabledRunbookWarning,
  disableWithoutApprovers,
  hostsFile,
  hostsSection,
  mergeRunbooks,
  noteRunbookSites,
  runbookFileEntry,
  runbooksSection,
  type RunbookSites,
} from './runbooks.ts';
import { chartsFile, chartsSection, digestFile, digestSection, forecastFile, forecastSection } from './foresight.ts';
import { formatPath, mergeListsById } from './shared.ts';
import { slackFile, slackSection } from './slack.ts';
import { checkTriggerEntries, triggerFileEntry, triggersSection } from './triggers.ts';
import { mergeWatch, watchFile, watchSection } from './watch.ts';

/**
 * The config, parsed once: each file (the defaults in config/*.yaml, then the user's) is checked against what a
 * file may say, so that every problem has its file and line; the files merge, the user's over the defaults; the
 * merged document, which the defaults make complete, is parsed into the typed, frozen `Config`. Every default
 * lives in config/*.yaml and nowhere here. Pure: bot/config.ts reads the files and the environment.
 */

export type { AdvisorConfig } from './advisor.ts';
export { MAX_CHECKLIST_ITEMS } from './checklists.ts';
export type { ConfigSource } from './document.ts';
export { parseSettings, SettingsError, type Settings } from './settings.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** A config that cannot be used, with one line per problem: file, line, path and what to do. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`The configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** What one file may say: any part of the config, each entry of a list by id. */
const configFile = z
  .object({
    prometheus: prometheusFile.optional(),
    grafana: grafanaFile.optional(),
    slack: slackFile.optional(),
    triggers: z.array(triggerFileEntry).optional(),
    hosts: hostsFile.optional(),
    admins: admins.optional(),
    runbooks: z.array(runbookFileEntry).optional(),
    checklists: z.array(checklistFileEntry).optional(),
    watch: watchFile.optional(),
    forecast: forecastFile.optional(),
    charts: chartsFile.optional(),
    digest: digestFile.optional(),
    ...advisorFileShape,
  })
  .strict();
type ConfigFile = z.infer<typeof configFile>;

function mergeConfigs(base: ConfigFile, override: ConfigFile): ConfigFile {
  return {
    prometheus: { ...base.prometheus, ...override.prometheus },
    grafana: { ...base.grafana, ...override.grafana },
    slack: { ...base.slack, ...override.slack },
    triggers: mergeListsById(base.triggers, override.triggers),
    watch: mergeWatch(base.watch, override.watch),
    forecast: { ...base.forecast, ...override.forecast },
    charts: { ...base.charts, ...override.charts },
    digest: { ...base.digest, ...override.digest },
    hosts: base.hosts || override.hosts ? { ...base.hosts, ...override.hosts } : undefined,
    admins: override.admins ?? base.admins,
    runbooks: mergeRunbooks(base.runbooks, override.runbooks),
    // An entry with `items` replaces the default's items whole; its other fields override one by one.
    checklists: mergeListsById(base.checklists, override.checklists),
    ...mergeAdvisorConfigs(base, override),
  };
}

/** The merged document, complete, as the typed config: the parts that depend on each other meet here. */
const configSchema = ({ env, sources }: { env: Env; sources: readonly string[] }) =>
  z
    .object({
      prometheus: prometheusSection,
      grafana: grafanaSection,
      slack: slackSection,
      triggers: triggersSection,
      watch: watchSection,
      forecast: forecastSection,
      charts: chartsSection,
      digest: digestSection,
      hosts: hostsSection(env),
      admins,
      runbooks: runbooksSection,
      checklists: checklistsSection,
      ...advisorSections,
    })
    .strict()
    .transform((parts) => {
      const { capacity, advisor } = buildAdvisorConfig(parts, parts.triggers);
      return {
        prometheus: parts.prometheus,
        grafana: parts.grafana,
        slack: parts.slack,
        triggers: parts.triggers,
        /** The checklists `/scale checklist` can post: the guide's (config/checklists.yaml) and the user's, by id. */
        checklists: parts.checklists,
        watch: { ...parts.watch, enabled: parts.watch.enabled && Boolean(parts.slack.alertsChannel) } as const,
        /** Trend forecasts of the triggers that have `forecast: true` (core/forecast.ts). */
        forecast: parts.forecast,
        /** The PNG charts the bot draws and uploads (charts/). */
        charts: parts.charts,
        /** The weekly capacity digest (services/digest.ts). */
        digest: parts.digest,
        hosts: parts.hosts,
        runbooks: parts.runbooks.map((runbook) => disableWithoutApprovers(runbook, parts.hosts.size)) as readonly (typeof parts.runbooks)[number][],
        /** May force-release host locks. */
        admins: parts.admins,
        /** The advisor's tables: server tiers, stages, API costs, what runs now (config/advisor.yaml). */
        capacity,
        advisor,
        /** The files the config was read from, defaults first. */
        sources,
      } as const;
    });

export type Config = z.output<ReturnType<typeof configSchema>>;

interface KnownIds {
  readonly triggers: ReadonlySet<string>;
  readonly checklists: ReadonlySet<string>;
}

const NO_KNOWN_IDS: KnownIds = { triggers: new Set(), checklists: new Set() };

function validateFile(document: ConfigDocument, known: KnownIds, problems: string[]): ConfigFile | undefined {
  const raw = document.raw ?? {};
  const result = configFile.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(document.locate(issue.path, issue.message));
  }
  // Checks across entries run on the raw file too, so one pass reports every problem.
  checkTriggerEntries(raw, document.locate, known.triggers, problems);
  checkChecklistEntries(raw, document.locate, known.checklists, problems);
  return result.success ? result.data : undefined;
}

export interface ParseConfigOptions {
  /** The built-in defaults (config/*.yaml), in the order they merge. */
  readonly defaults: readonly ConfigSource[];
  /** The user's file, merged over the defaults; absent: the defaults alone. */
  readonly user?: ConfigSource;
  /** PROMETHEUS_URL, and the variables hosts name for their key files. */
  readonly env?: Env;
}

/** Validates the defaults and the user's file and returns one typed, frozen config, or throws a ConfigError. */
export function parseConfig({ defaults, user, env = {} }: ParseConfigOptions): Config {
  const problems: string[] = [];
  const sources = [...defaults, ...(user ? [user] : [])].map((source) => source.file);
  const runbookSites: RunbookSites = new Map();
  let merged: ConfigFile = {};
  const origins: AdvisorOrigins = {};
  const add = (document: ConfigDocument, data: ConfigFile, isUser: boolean) => {
    merged = mergeConfigs(merged, data);
    noteOrigins(origins, data, { file: document.file, order: sources.indexOf(document.file), user: isUser, locate: document.locate });
    noteRunbookSites(runbookSites, document.locate, data.runbooks);
  };
  for (const source of defaults) {
    const document = parseConfigSource(source, problems);
    const data = document && validateFile(document, NO_KNOWN_IDS, problems);
    if (data) add(document, data, false);
  }
  if (user) {
    const known: KnownIds = {
      triggers: new Set((merged.triggers ?? []).map((trigger) => trigger.id)),
      checklists: new Set((merged.checklists ?? []).map((checklist) => checklist.id)),
    };
    const document = parseConfigSource(user, problems);
    const data = document && validateFile(document, known, problems);
    if (data) add(document, data, true);
  }
  merged = { ...merged, prometheus: { ...merged.prometheus, url: prometheusUrlFrom(env, merged.prometheus?.url) } };
  problems.push(...prometheusUrlProblems(env));
  for (const [path, value] of [
    ['watch.interval', merged.watch?.interval],
    ['prometheus.timeout', merged.prometheus?.timeout],
    ['prometheus.lookback', merged.prometheus?.lookback],
  ] as const) {
    if (value !== undefined && safeDuration(value) < 1) problems.push(`${path}: must be at least 1s (got ${JSON.stringify(value)})`);
  }
  const checklistIds = (merged.checklists ?? []).map((checklist) => checklist.id);
  if (problems.length === 0) problems.push(...checkRunbooks(merged, env), ...checkRequiredChecklists(merged.runbooks, checklistIds));
  if (problems.length === 0) checkAdvisorReferences(merged, new Set((merged.triggers ?? []).map((trigger) => trigger.id)), origins, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  // Only a default missing from config/*.yaml fails here: every file has been checked.
  const result = configSchema({ env, sources }).safeParse(merged);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => `${formatPath(issue.path) || '(top level)'}: ${issue.message}`));
  const config = deepFreeze(result.data);
  warningsOf.set(
    config,
    config.runbooks
      .filter((runbook) => runbook.disabled)
      .map((runbook) => {
        const message = disabledRunbookWarning(runbook.id);
        return runbookSites.get(runbook.id)?.(message) ?? `runbooks.${runbook.id}: ${message}`;
      }),
  );
  return config;
}

const warningsOf = new WeakMap<Config, readonly string[]>();

/**
 * What the config allows but should not, one line each with its file and line where known: today, runbooks
 * disabled because they name no approvers. `scalebot check-config` exits 1 on these; the bot logs them at start.
 */
export function configWarnings(config: Config): readonly string[] {
  return warningsOf.get(config) ?? config.runbooks.filter((runbook) => runbook.disabled).map((runbook) => `runbooks.${runbook.id}: ${runbook.disabled}`);
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
