import { z } from 'zod';
import { deriveThresholdTrigger, RECOMMENDATIONS, type AnswerMemory, type EvidenceTriggers, type Recommendation } from '../advisor.ts';
import {
  SERVER_ROLES,
  STAGE_FEATURES,
  type ArchitectureTable,
  type Capacity,
  type CapacityTables,
  type GuideFigure,
  type PlanRule,
  type ProjectionPeriod,
  type Stage,
  type StageFeature,
  type StageServer,
  type Tier,
} from '../capacity.ts';
import { parseDuration } from '../duration.ts';
import { OPERATORS, type Trigger } from '../triggers.ts';
import { UNITS } from '../units.ts';
import { duration, id } from './shared.ts';

/**
 * The advisor's part of the config: the pricing and stage tables, API costs, the current setup, the year-one
 * projection, and `advisor` settings. index.ts calls these for each file and for the merged config; the shapes are checked
 * here field by field (zod, per file, so every problem has its file and line) and across tables once every
 * file is merged (a stage naming a tier that the pricing table no longer has, a `current` that names nothing).
 * Every setting has its default in config/advisor.yaml, and only there.
 */

const money = z.number().nonnegative('a price is a number of dollars a month, 0 or more');
const users = z.number().int('a number of users is a whole number').nonnegative();
const capacity = z
  .object({ min: users, max: users.nullable() })
  .strict()
  .superRefine((value, context) => {
    if (value.max !== null && value.max < value.min) {
      context.addIssue({ code: 'custom', path: ['max'], message: `capacity max (${value.max}) is below its min (${value.min})` });
    }
  });
type CapacityInput = z.infer<typeof capacity>;

/**
 * Tiers and stages go smallest first: each one's capacity starts above the one before and reaches further.
 * `at`: the entry's index in its list, when only some entries of the list have a capacity.
 */
function checkOrder(entries: ReadonlyArray<{ capacity: CapacityInput; at?: number }>, what: string, context: z.RefinementCtx): void {
  entries.forEach((entry, position) => {
    const before = entries[position - 1];
    if (!before) return;
    const index = entry.at ?? position;
    if (before.capacity.max === null) {
      context.addIssue({
        code: 'custom',
        path: [before.at ?? position - 1, 'capacity', 'max'],
        message: `only the last ${what} may have no capacity max (null): it is the largest`,
      });
      return;
    }
    const reachesFurther = entry.capacity.max === null || entry.capacity.max > before.capacity.max;
    if (entry.capacity.min < before.capacity.min || !reachesFurther) {
      context.addIssue({
        code: 'custom',
        path: [index, 'capacity'],
        message:
          `${what}s must be sorted smallest first: this one (${describe(entry.capacity)}) ` +
          `does not come after the one before it (${describe(before.capacity)})`,
      });
    }
  });
}

function describe(value: CapacityInput): string {
  return value.max === null ? `${value.min}+ users` : `${value.min}-${value.max} users`;
}

const tierEntry = z
  .object({
    name: z.string().min(1),
    ram_gb: z.number().positive(),
    vcpu: z.number().int().positive(),
    storage_gb: z.number().positive(),
    monthly: money,
    capacity,
  })
  .strict();

const pricing = z
  .array(tierEntry)
  .min(1, 'the pricing table needs at least one tier')
  .superRefine((tiers, context) => {
    const seen = new Set<string>();
    tiers.forEach((tier, index) => {
      if (seen.has(tier.name)) context.addIssue({ code: 'custom', path: [index, 'name'], message: `tier "${tier.name}" is listed twice` });
      seen.add(tier.name);
    });
    checkOrder(tiers, 'tier', context);
  });

const serverEntry = z
  .object({
    role: z.enum(SERVER_ROLES),
    count: z.number().int().positive().optional(),
    tier: z.string().min(1).optional(),
    size: z.string().min(1).optional(),
    monthly: money.optional(),
    note: z.string().optional(),
  })
  .strict()
  .superRefine((server, context) => {
    if (server.tier === undefined && (server.size === undefined || server.monthly === undefined)) {
      context.addIssue({ code: 'custom', message: 'a server names its `tier` from the pricing table, or gives its `size` and `monthly` price' });
    }
  });

/** The guide's own figure for a stage or a horizontal row, shown beside ours with why they differ. */
const guideFigure = z
  .object({
    total_with_apis: money,
    /** "$1200+": the guide gives a floor. */
    or_more: z.boolean().optional(),
    monthly: money.optional(),
    users: users.optional(),
    why: z.string().min(1, 'say why the guide’s figure differs from ours'),
  })
  .strict();

const loadBalancer = z
  .object({ name: z.string().min(1), monthly: money })
  .strict()
  .nullable()
  .optional();

const stageEntry = z
  .object({
    name: z.string().min(1),
    adds: z.array(z.enum(STAGE_FEATURES)).optional(),
    servers: z.array(serverEntry).min(1, 'a stage has at least one server'),
    load_balancer: loadBalancer,
    /** Optional: more than the servers and load balancer add up to (what the parts leave out). */
    monthly: money.optional(),
    capacity,
    note: z.string().optional(),
    guide: guideFigure.optional(),
  })
  .strict();

const stages = z
  .array(stageEntry)
  .min(1, 'the stages table needs at least one stage')
  .superRefine((list, context) => checkOrder(list, 'stage', context));

/**
 * A row of the guide's "Horizontal Scaling Costs": either the servers of a stage (`stage: 3`, its figures then
 * shown beside that stage) or an architecture of its own, after the stages, in one region.
 */
const horizontalEntry = z
  .object({
    name: z.string().min(1),
    stage: z.number().int().positive().optional(),
    adds: z.array(z.enum(STAGE_FEATURES)).optional(),
    servers: z.array(serverEntry).min(1, 'a horizontal row has at least one server').optional(),
    load_balancer: loadBalancer,
    monthly: money.optional(),
    capacity: capacity.optional(),
    note: z.string().optional(),
    guide: guideFigure.optional(),
  })
  .strict()
  .superRefine((row, context) => {
    if (row.stage !== undefined) {
      for (const key of ['servers', 'capacity', 'load_balancer', 'monthly', 'adds'] as const) {
        if (row[key] !== undefined) {
          context.addIssue({ code: 'custom', path: [key], message: `a row with \`stage: ${row.stage}\` has that stage's servers: leave out \`${key}\`` });
        }
      }
      if (row.guide === undefined) context.addIssue({ code: 'custom', path: ['guide'], message: 'a row with `stage:` is there for its `guide:` figures' });
      return;
    }
    if (row.servers === undefined)
      context.addIssue({ code: 'custom', path: ['servers'], message: 'a row names its servers, or the `stage:` whose servers it has' });
    if (row.capacity === undefined) context.addIssue({ code: 'custom', path: ['capacity'], message: 'a row of its own has a capacity: { min, max }' });
    if (row.adds?.includes('multi_region')) {
      context.addIssue({ code: 'custom', path: ['adds'], message: 'horizontal rows are single-region: multi-region is a stage (`stages`)' });
    }
  });

const horizontal = z.array(horizontalEntry).superRefine((rows, context) =>
  checkOrder(
    rows.flatMap((row, index) => (row.capacity ? [{ capacity: row.capacity, at: index }] : [])),
    'horizontal row',
    context,
  ),
);

const current = z
  .object({ tier: z.string().min(1).optional(), stage: z.number().int().positive().optional() })
  .strict()
  .superRefine((value, context) => {
    if ((value.tier === undefined) === (value.stage === undefined)) {
      context.addIssue({ code: 'custom', message: 'current names one thing: { tier: CPX41 } for one server, or { stage: 2 } for a stage of the guide' });
    }
  });

const startTarget = z
  .string()
  .regex(/^(checklist|runbook):[a-z0-9][a-z0-9_-]*$/, 'a start target is "checklist:<id>" or "runbook:<id>", like checklist:before');

const rememberFields = { global_traffic: duration.nullable(), optimized: duration.nullable(), metric_questions: duration.nullable() };
// In the order a file's problems are reported.
const settingsFields = <Remember extends z.ZodType>(remember: Remember) => ({
  cpu_memory_threshold: z.number().gt(0).lte(1, 'a percentage is a fraction: 0.8 is 80 %'),
  cpu_query: z.string().min(1).nullable(),
  memory_query: z.string().min(1).nullable(),
  cpu_memory_for: duration.nullable(),
  latency_trigger: id.nullable(),
  database_triggers: z.array(id),
  slow_queries: z
    .object({
      name: z.string().min(1).optional(),
      query: z.string().min(1),
      op: z.enum(OPERATORS).optional(),
      threshold: z.number(),
      for: duration.optional(),
      unit: z.enum(UNITS).optional(),
    })
    .strict()
    .nullable(),
  global_traffic: z.boolean().nullable(),
  remember,
  optimization_checklist: id,
  start: z.partialRecord(z.enum(RECOMMENDATIONS), startTarget.nullable()),
  vertical_until_users: users,
  dau_per_concurrent_user: z.number().positive(),
});

const projection = z
  .array(
    z
      .object({
        months: z.number().int().positive(),
        users,
        guide: z
          .object({ architecture: z.string().min(1), monthly: money, why: z.string().min(1) })
          .strict()
          .optional(),
      })
      .strict(),
  )
  .min(1);
const apiCosts = z.object({ monthly: money }).strict();
const awsComparison = z.object({ year_one: money.nullable() }).strict();

/** What one file may say: any of the tables, any of the settings. Spread into the file schema of index.ts. */
export const advisorFileShape = {
  pricing: pricing.optional(),
  stages: stages.optional(),
  horizontal: horizontal.optional(),
  api_costs: apiCosts.optional(),
  current: current.optional(),
  projection: projection.optional(),
  aws_comparison: awsComparison.optional(),
  advisor: z
    .object(settingsFields(z.object(rememberFields).partial().strict()))
    .partial()
    .strict()
    .optional(),
};

/** The merged config's tables and settings, all of them: the defaults give every one. */
export const advisorSections = {
  pricing: pricing.transform((list) =>
    list.map(
      (tier): Tier => ({ name: tier.name, ramGb: tier.ram_gb, vcpu: tier.vcpu, storageGb: tier.storage_gb, monthly: tier.monthly, capacity: tier.capacity }),
    ),
  ),
  stages,
  horizontal,
  api_costs: apiCosts,
  current,
  projection,
  aws_comparison: awsComparison,
  advisor: z.object(settingsFields(z.object(rememberFields).strict())).strict(),
};

type AdvisorSections = { [K in keyof typeof advisorSections]: z.output<(typeof advisorSections)[K]> };

export type AdvisorUserConfig = {
  [K in keyof typeof advisorFileShape]?: z.infer<(typeof advisorFileShape)[K]>;
};

/**
 * The tables replace each other whole (a team's own price list is one list); `advisor` merges key by key. The
 * horizontal rows extend the stages they follow: a file with its own stages and no rows has none.
 */
export function mergeAdvisorConfigs(base: AdvisorUserConfig, override: AdvisorUserConfig): AdvisorUserConfig {
  return {
    pricing: override.pricing ?? base.pricing,
    stages: override.stages ?? base.stages,
    horizontal: override.horizontal ?? (override.stages && base.horizontal ? [] : base.horizontal),
    api_costs: override.api_costs ?? base.api_costs,
    current: override.current ?? base.current,
    projection: override.projection ?? base.projection,
    aws_comparison: override.aws_comparison ?? base.aws_comparison,
    advisor: {
      ...base.advisor,
      ...override.advisor,
      remember: { ...base.advisor?.remember, ...override.advisor?.remember },
      start: base.advisor?.start || override.advisor?.start ? { ...base.advisor?.start, ...override.advisor?.start } : undefined,
    },
  };
}

/** Where a key was last set: the file and a way to point into it. */
export interface Origin {
  readonly file: string;
  /** The file's position in the load order: a later file overrides an earlier one. */
  readonly order: number;
  /** The user's file, not one of the built-in defaults. */
  readonly user: boolean;
  locate(path: ReadonlyArray<PropertyKey>, message: string): string;
}

export type AdvisorOrigins = Partial<Record<'pricing' | 'stages' | 'horizontal' | 'current' | 'advisor.database_triggers' | 'advisor.latency_trigger', Origin>>;

/** Records which file set which of the keys that other tables refer to. */
export function noteOrigins(origins: AdvisorOrigins, data: AdvisorUserConfig, origin: Origin): void {
  if (data.pricing) origins.pricing = origin;
  if (data.stages) origins.stages = origin;
  // Replacing the stages replaces the rows that extend them (mergeAdvisorConfigs).
  if (data.horizontal || data.stages) origins.horizontal = origin;
  if (data.current) origins.current = origin;
  if (data.advisor?.database_triggers) origins['advisor.database_triggers'] = origin;
  if (data.advisor?.latency_trigger !== undefined) origins['advisor.latency_trigger'] = origin;
}

/**
 * A reference (`from`) to something another key holds (`to`): reported in whichever of the two files came
 * later, since that is the file whose change broke it.
 */
function reportReference(
  problems: string[],
  from: Origin | undefined,
  fromPath: PropertyKey[],
  to: Origin | undefined,
  toPath: PropertyKey[],
  message: string,
): void {
  if (from && (!to || from.order >= to.order)) problems.push(from.locate(fromPath, message));
  else if (to) problems.push(to.locate(toPath, `${message} (set in ${from?.file ?? 'the defaults'})`));
  else problems.push(message);
}

/** Cross-table checks, once every file is merged. */
export function checkAdvisorReferences(merged: AdvisorUserConfig, triggerIds: ReadonlySet<string>, origins: AdvisorOrigins, problems: string[]): void {
  const tierNames = new Set((merged.pricing ?? []).map((tier) => tier.name));
  const tierByName = new Map((merged.pricing ?? []).map((tier) => [tier.name, tier]));
  type Priced = { name: string; servers?: z.infer<typeof serverEntry>[]; load_balancer?: { monthly: number } | null; monthly?: number };
  const checkServers = (entry: Priced, table: 'stages' | 'horizontal', entryIndex: number, what: string) => {
    let parts = entry.load_balancer?.monthly ?? 0;
    (entry.servers ?? []).forEach((server, serverIndex) => {
      if (server.tier !== undefined && !tierNames.has(server.tier)) {
        reportReference(
          problems,
          origins[table],
          [table, entryIndex, 'servers', serverIndex, 'tier'],
          origins.pricing,
          ['pricing'],
          `${what} "${entry.name}" names tier "${server.tier}", which is not in the pricing table (${[...tierNames].join(', ')})`,
        );
      }
      parts += (server.count ?? 1) * (server.monthly ?? tierByName.get(server.tier ?? '')?.monthly ?? 0);
    });
    if (entry.monthly !== undefined && entry.monthly < parts) {
      problems.push(
        (origins[table] ?? origins.pricing)?.locate(
          [table, entryIndex, 'monthly'],
          `${what} "${entry.name}" costs ${entry.monthly} a month, less than its servers and load balancer (${parts}): leave monthly out to use their sum`,
        ) ?? `${table}[${entryIndex}].monthly: less than its parts`,
      );
    }
  };
  (merged.stages ?? []).forEach((stage, stageIndex) => {
    checkServers(stage, 'stages', stageIndex, 'stage');
  });
  const stageList = merged.stages ?? [];
  (merged.horizontal ?? []).forEach((row, rowIndex) => {
    checkServers(row, 'horizontal', rowIndex, 'horizontal row');
    if (row.stage === undefined) return;
    const stage = stageList[row.stage - 1];
    const message = !stage
      ? `horizontal row "${row.name}" names stage ${row.stage}, but the stages table has ${stageList.length} (numbered from 1)`
      : stageList.slice(0, row.stage).some((earlier) => earlier.adds?.includes('multi_region'))
        ? `horizontal row "${row.name}" names stage ${row.stage}, a multi-region stage: horizontal rows are single-region`
        : null;
    if (message) reportReference(problems, origins.horizontal, ['horizontal', rowIndex, 'stage'], origins.stages, ['stages'], message);
  });
  const currentSetup = merged.current;
  if (currentSetup?.tier !== undefined && !tierNames.has(currentSetup.tier)) {
    reportReference(
      problems,
      origins.current,
      ['current', 'tier'],
      origins.pricing,
      ['pricing'],
      `current names tier "${currentSetup.tier}", which is not in the pricing table (${[...tierNames].join(', ')})`,
    );
  }
  const stageCount = merged.stages?.length ?? 0;
  if (currentSetup?.stage !== undefined && currentSetup.stage > stageCount) {
    reportReference(
      problems,
      origins.current,
      ['current', 'stage'],
      origins.stages,
      ['stages'],
      `current names stage ${currentSetup.stage}, but the stages table has ${stageCount} (numbered from 1)`,
    );
  }
  // A trigger the advisor consults must exist, when the file that names it is the user's; a default trigger
  // switched off (enabled: false) simply drops out of the defaults' list ("whichever metrics are configured").
  const databaseOrigin = origins['advisor.database_triggers'];
  if (databaseOrigin?.user) {
    merged.advisor?.database_triggers?.forEach((id, index) => {
      if (!triggerIds.has(id)) {
        problems.push(
          databaseOrigin.locate(['advisor', 'database_triggers', index], `no trigger "${id}" is configured (known: ${[...triggerIds].join(', ')})`),
        );
      }
    });
  }
  const latencyOrigin = origins['advisor.latency_trigger'];
  const latency = merged.advisor?.latency_trigger;
  if (latencyOrigin?.user && latency && !triggerIds.has(latency)) {
    problems.push(latencyOrigin.locate(['advisor', 'latency_trigger'], `no trigger "${latency}" is configured`));
  }
}

const seconds = (value: string | number | null): number | null => (value === null ? null : parseDuration(value));

/** The merged tables and settings as the typed config, once the triggers are known. Called only when there were no problems. */
export function buildAdvisorConfig(sections: AdvisorSections, triggers: readonly Trigger[]) {
  const tiers = sections.pricing;
  const tierByName = new Map(tiers.map((tier) => [tier.name, tier]));
  const buildServers = (list: readonly z.infer<typeof serverEntry>[]): StageServer[] =>
    list.map((server) => {
      const tier = server.tier === undefined ? undefined : tierByName.get(server.tier);
      return {
        role: server.role,
        count: server.count ?? 1,
        tier: tier?.name ?? null,
        size: server.size ?? (tier ? `${tier.ramGb} GB` : '?'),
        monthly: server.monthly ?? tier?.monthly ?? 0,
        ...(server.note ? { note: server.note } : {}),
      };
    });
  const figure = (input: z.infer<typeof guideFigure>, where: string): GuideFigure => ({
    where,
    totalWithApis: input.total_with_apis,
    orMore: input.or_more ?? false,
    monthly: input.monthly ?? null,
    users: input.users ?? null,
    why: input.why,
  });
  // A row with `stage:` adds its figures to that stage's.
  const rowFigures = new Map<number, GuideFigure[]>();
  for (const row of sections.horizontal) {
    if (row.stage === undefined || !row.guide) continue;
    rowFigures.set(row.stage, [...(rowFigures.get(row.stage) ?? []), figure(row.guide, 'its Horizontal Scaling Costs table')]);
  }
  const architecture = (
    entry: {
      name: string;
      adds?: StageFeature[] | undefined;
      servers: readonly z.infer<typeof serverEntry>[];
      load_balancer?: { name: string; monthly: number } | null | undefined;
      monthly?: number | undefined;
      capacity: Capacity;
      note?: string | undefined;
    },
    table: ArchitectureTable,
    number: number,
    label: string,
    guide: GuideFigure[],
  ): Stage => {
    const servers = buildServers(entry.servers);
    const loadBalancer = entry.load_balancer ?? null;
    const parts = servers.reduce((sum, server) => sum + server.count * server.monthly, loadBalancer?.monthly ?? 0);
    return {
      table,
      number,
      name: entry.name,
      label,
      adds: entry.adds ?? [],
      servers,
      loadBalancer,
      monthly: entry.monthly ?? parts,
      capacity: entry.capacity,
      ...(entry.note ? { note: entry.note } : {}),
      guide,
    };
  };
  const stageList: Stage[] = sections.stages.map((stage, index) =>
    architecture(stage, 'stages', index + 1, `stage ${index + 1}: ${stage.name}`, [
      ...(stage.guide ? [figure(stage.guide, `its stage ${index + 1} heading`)] : []),
      ...(rowFigures.get(index + 1) ?? []),
    ]),
  );
  const horizontalList: Stage[] = sections.horizontal.flatMap((row, index) =>
    row.stage === undefined && row.servers && row.capacity
      ? [
          architecture({ ...row, servers: row.servers, capacity: row.capacity }, 'horizontal', index + 1, row.name, [
            ...(row.guide ? [figure(row.guide, 'its Horizontal Scaling Costs table')] : []),
          ]),
        ]
      : [],
  );
  // The schema lets `current` name exactly one of the two.
  const currentSetup = sections.current.tier !== undefined ? { tier: sections.current.tier } : { stage: sections.current.stage! };

  const settings = sections.advisor;
  const threshold = settings.cpu_memory_threshold;
  const byId = new Map(triggers.map((trigger) => [trigger.id, trigger]));
  const overrideFor = settings.cpu_memory_for === null ? null : parseDuration(settings.cpu_memory_for);
  const cpuMemory: Trigger[] = [];
  // The names and `for`s here serve only when the cpu or memory trigger is switched off but its query is given.
  for (const [id, base, query, name, defaultFor] of [
    ['advisor_cpu', byId.get('cpu'), settings.cpu_query, 'CPU usage', 900],
    ['advisor_memory', byId.get('memory'), settings.memory_query, 'Memory usage', 600],
  ] as const) {
    const chosenQuery = query ?? base?.query;
    if (!chosenQuery) continue;
    cpuMemory.push(
      deriveThresholdTrigger({ name: base?.name ?? name, query: chosenQuery, forSeconds: overrideFor ?? base?.forSeconds ?? defaultFor }, id, threshold),
    );
  }
  const database: Trigger[] = settings.database_triggers.map((id) => byId.get(id)).filter((trigger): trigger is Trigger => Boolean(trigger));
  if (settings.slow_queries) {
    const slow = settings.slow_queries;
    database.push({
      id: 'advisor_slow_queries',
      name: slow.name ?? 'Slow queries',
      severity: 'immediate',
      query: slow.query,
      op: slow.op ?? '>',
      threshold: slow.threshold,
      forSeconds: slow.for === undefined ? 0 : parseDuration(slow.for),
      unit: slow.unit ?? 'seconds',
    });
  }
  const latency = settings.latency_trigger;
  const start: Partial<Record<Recommendation, string>> = {};
  for (const [recommendation, target] of Object.entries(settings.start)) {
    if (target) start[recommendation as Recommendation] = target;
  }
  const capacity: CapacityTables = { tiers, stages: stageList, horizontal: horizontalList, apiMonthly: sections.api_costs.monthly, current: currentSetup };
  const evidence: EvidenceTriggers = {
    immediate: triggers.filter((trigger) => trigger.severity === 'immediate'),
    latencyTriggerId: latency && byId.has(latency) ? latency : null,
    cpuMemory,
    database,
  };
  const memory: AnswerMemory = {
    globalTraffic: seconds(settings.remember.global_traffic),
    optimized: seconds(settings.remember.optimized),
    metricQuestions: seconds(settings.remember.metric_questions),
  };
  const plan: PlanRule = { verticalUntilUsers: settings.vertical_until_users, dauPerConcurrentUser: settings.dau_per_concurrent_user };
  const projection: readonly ProjectionPeriod[] = sections.projection.map((period) => ({
    months: period.months,
    users: period.users,
    ...(period.guide ? { guide: period.guide } : {}),
  }));
  return {
    capacity,
    advisor: {
      /** The triggers each metric question of the decision tree is judged on. */
      evidence,
      cpuMemoryThreshold: threshold,
      memory,
      /** The checklist whose completion counts as "optimized first: yes". */
      optimizationChecklist: settings.optimization_checklist,
      /** What the "Start" button of each recommendation starts: "checklist:before", "runbook:vertical-migration". */
      start: start as Readonly<Partial<Record<Recommendation, string>>>,
      plan,
      projection,
      /** The team's standing answer to "Are you serving global traffic?" (null: ask, and use the latest answer). */
      globalTraffic: settings.global_traffic,
      /** The guide's estimate of its year one on AWS (null: not shown). */
      awsYearOne: sections.aws_comparison.year_one,
    } as const,
  };
}

export type AdvisorConfig = ReturnType<typeof buildAdvisorConfig>['advisor'];
