import { z } from 'zod';
import { deriveThresholdTrigger, RECOMMENDATIONS, type AnswerMemory, type EvidenceTriggers, type Recommendation } from '../advisor.ts';
import {
  SERVER_ROLES,
  STAGE_FEATURES,
  type CapacityTables,
  type PlanRule,
  type ProjectionPeriod,
  type Stage,
  type StageServer,
  type Tier,
} from '../capacity.ts';
import { parseDuration } from '../duration.ts';
import { OPERATORS, type Trigger } from '../triggers.ts';
import { UNITS } from '../units.ts';

/**
 * The advisor's part of the config: the pricing and stage tables, API costs, the current setup, the year-one
 * projection, and `advisor` settings. bot/config.ts reads the files and calls these; the shapes are checked
 * here field by field (zod, per file, so every problem has its file and line) and across tables once every
 * file is merged (a stage naming a tier that the pricing table no longer has, a `current` that names nothing).
 */

const duration = z.union([z.string(), z.number()]).superRefine((value, context) => {
  try {
    parseDuration(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
  }
});
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

/** Tiers and stages go smallest first: each one's capacity starts above the one before and reaches further. */
function checkOrder(entries: ReadonlyArray<{ capacity: CapacityInput }>, what: string, context: z.RefinementCtx): void {
  entries.forEach((entry, index) => {
    const before = entries[index - 1];
    if (!before) return;
    if (before.capacity.max === null) {
      context.addIssue({ code: 'custom', path: [index - 1, 'capacity', 'max'], message: `only the last ${what} may have no capacity max (null): it is the largest` });
      return;
    }
    const reachesFurther = entry.capacity.max === null || entry.capacity.max > before.capacity.max;
    if (entry.capacity.min < before.capacity.min || !reachesFurther) {
      context.addIssue({
        code: 'custom',
        path: [index, 'capacity'],
        message: `${what}s must be sorted smallest first: this one (${describe(entry.capacity)}) does not come after the one before it (${describe(before.capacity)})`,
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

const stageEntry = z
  .object({
    name: z.string().min(1),
    adds: z.array(z.enum(STAGE_FEATURES)).optional(),
    servers: z.array(serverEntry).min(1, 'a stage has at least one server'),
    load_balancer: z.object({ name: z.string().min(1), monthly: money }).strict().nullable().optional(),
    /** Optional: more than the servers and load balancer add up to (what the parts leave out). */
    monthly: money.optional(),
    capacity,
    note: z.string().optional(),
  })
  .strict();

const stages = z
  .array(stageEntry)
  .min(1, 'the stages table needs at least one stage')
  .superRefine((list, context) => checkOrder(list, 'stage', context));

const current = z
  .object({ tier: z.string().min(1).optional(), stage: z.number().int().positive().optional() })
  .strict()
  .superRefine((value, context) => {
    if ((value.tier === undefined) === (value.stage === undefined)) {
      context.addIssue({ code: 'custom', message: 'current names one thing: { tier: CPX41 } for one server, or { stage: 2 } for a stage of the guide' });
    }
  });

const triggerId = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'an id is lower-case letters, digits, "_" and "-", like db_connections');
const startTarget = z
  .string()
  .regex(/^(checklist|runbook):[a-z0-9][a-z0-9_-]*$/, 'a start target is "checklist:<id>" or "runbook:<id>", like checklist:before');

const advisor = z
  .object({
    cpu_memory_threshold: z.number().gt(0).lte(1, 'a percentage is a fraction: 0.8 is 80 %').optional(),
    cpu_query: z.string().min(1).nullable().optional(),
    memory_query: z.string().min(1).nullable().optional(),
    cpu_memory_for: duration.nullable().optional(),
    latency_trigger: triggerId.nullable().optional(),
    database_triggers: z.array(triggerId).optional(),
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
      .nullable()
      .optional(),
    remember: z
      .object({ global_traffic: duration.nullable().optional(), optimized: duration.nullable().optional(), metric_questions: duration.nullable().optional() })
      .strict()
      .optional(),
    optimization_checklist: triggerId.optional(),
    start: z.partialRecord(z.enum(RECOMMENDATIONS), startTarget.nullable()).optional(),
    vertical_until_users: users.optional(),
    dau_per_concurrent_user: z.number().positive().optional(),
  })
  .strict();

const projection = z.array(z.object({ months: z.number().int().positive(), users }).strict()).min(1);

/** Spread into the user config schema of bot/config.ts. */
export const advisorConfigShape = {
  pricing: pricing.optional(),
  stages: stages.optional(),
  api_costs: z.object({ monthly: money }).strict().optional(),
  current: current.optional(),
  projection: projection.optional(),
  advisor: advisor.optional(),
};

export type AdvisorUserConfig = {
  [K in keyof typeof advisorConfigShape]?: z.infer<(typeof advisorConfigShape)[K]>;
};

/** The tables replace each other whole (a team's own price list is one list); `advisor` merges key by key. */
export function mergeAdvisorConfigs(base: AdvisorUserConfig, override: AdvisorUserConfig): AdvisorUserConfig {
  return {
    pricing: override.pricing ?? base.pricing,
    stages: override.stages ?? base.stages,
    api_costs: override.api_costs ?? base.api_costs,
    current: override.current ?? base.current,
    projection: override.projection ?? base.projection,
    advisor: {
      ...base.advisor,
      ...override.advisor,
      remember: { ...base.advisor?.remember, ...override.advisor?.remember },
      start: { ...base.advisor?.start, ...override.advisor?.start },
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

export type AdvisorOrigins = Partial<Record<'pricing' | 'stages' | 'current' | 'advisor.database_triggers' | 'advisor.latency_trigger', Origin>>;

/** Records which file set which of the keys that other tables refer to. */
export function noteOrigins(origins: AdvisorOrigins, data: AdvisorUserConfig, origin: Origin): void {
  if (data.pricing) origins.pricing = origin;
  if (data.stages) origins.stages = origin;
  if (data.current) origins.current = origin;
  if (data.advisor?.database_triggers) origins['advisor.database_triggers'] = origin;
  if (data.advisor?.latency_trigger !== undefined) origins['advisor.latency_trigger'] = origin;
}

/**
 * A reference (`from`) to something another key holds (`to`): reported in whichever of the two files came
 * later, since that is the file whose change broke it.
 */
function reportReference(problems: string[], from: Origin | undefined, fromPath: PropertyKey[], to: Origin | undefined, toPath: PropertyKey[], message: string): void {
  if (from && (!to || from.order >= to.order)) problems.push(from.locate(fromPath, message));
  else if (to) problems.push(to.locate(toPath, `${message} (set in ${from?.file ?? 'the defaults'})`));
  else problems.push(message);
}

/** Cross-table checks, once every file is merged. */
export function checkAdvisorReferences(merged: AdvisorUserConfig, triggerIds: ReadonlySet<string>, origins: AdvisorOrigins, problems: string[]): void {
  const tierNames = new Set((merged.pricing ?? []).map((tier) => tier.name));
  const tierByName = new Map((merged.pricing ?? []).map((tier) => [tier.name, tier]));
  (merged.stages ?? []).forEach((stage, stageIndex) => {
    let parts = stage.load_balancer?.monthly ?? 0;
    stage.servers.forEach((server, serverIndex) => {
      if (server.tier !== undefined && !tierNames.has(server.tier)) {
        reportReference(
          problems,
          origins.stages,
          ['stages', stageIndex, 'servers', serverIndex, 'tier'],
          origins.pricing,
          ['pricing'],
          `stage "${stage.name}" names tier "${server.tier}", which is not in the pricing table (${[...tierNames].join(', ')})`,
        );
      }
      parts += (server.count ?? 1) * (server.monthly ?? tierByName.get(server.tier ?? '')?.monthly ?? 0);
    });
    if (stage.monthly !== undefined && stage.monthly < parts) {
      problems.push(
        (origins.stages ?? origins.pricing)?.locate(['stages', stageIndex, 'monthly'], `stage "${stage.name}" costs ${stage.monthly} a month, less than its servers and load balancer (${parts}): leave monthly out to use their sum`) ??
          `stages[${stageIndex}].monthly: less than its parts`,
      );
    }
  });
  const currentSetup = merged.current;
  if (currentSetup?.tier !== undefined && !tierNames.has(currentSetup.tier)) {
    reportReference(problems, origins.current, ['current', 'tier'], origins.pricing, ['pricing'], `current names tier "${currentSetup.tier}", which is not in the pricing table (${[...tierNames].join(', ')})`);
  }
  const stageCount = merged.stages?.length ?? 0;
  if (currentSetup?.stage !== undefined && currentSetup.stage > stageCount) {
    reportReference(problems, origins.current, ['current', 'stage'], origins.stages, ['stages'], `current names stage ${currentSetup.stage}, but the stages table has ${stageCount} (numbered from 1)`);
  }
  // A trigger the advisor consults must exist, when the file that names it is the user's; a default trigger
  // switched off (enabled: false) simply drops out of the defaults' list ("whichever metrics are configured").
  const databaseOrigin = origins['advisor.database_triggers'];
  if (databaseOrigin?.user) {
    merged.advisor?.database_triggers?.forEach((id, index) => {
      if (!triggerIds.has(id)) {
        problems.push(databaseOrigin.locate(['advisor', 'database_triggers', index], `no trigger "${id}" is configured (known: ${[...triggerIds].join(', ')})`));
      }
    });
  }
  const latencyOrigin = origins['advisor.latency_trigger'];
  const latency = merged.advisor?.latency_trigger;
  if (latencyOrigin?.user && latency && !triggerIds.has(latency)) {
    problems.push(latencyOrigin.locate(['advisor', 'latency_trigger'], `no trigger "${latency}" is configured`));
  }
}

export interface AdvisorConfig {
  /** The triggers each metric question of the decision tree is judged on. */
  readonly evidence: EvidenceTriggers;
  readonly cpuMemoryThreshold: number;
  readonly memory: AnswerMemory;
  /** The checklist whose completion counts as "optimized first: yes". */
  readonly optimizationChecklist: string;
  /** What the "Start" button of each recommendation starts: "checklist:before", "runbook:vertical-migration". */
  readonly start: Readonly<Partial<Record<Recommendation, string>>>;
  readonly plan: PlanRule;
  readonly projection: readonly ProjectionPeriod[];
}

const seconds = (value: string | number | null | undefined, fallback: string | null): number | null => {
  const chosen = value === undefined ? fallback : value;
  return chosen === null ? null : parseDuration(chosen);
};

/** The validated, merged input as the typed config. Called only when there were no problems. */
export function buildAdvisorConfig(merged: AdvisorUserConfig, triggers: readonly Trigger[]): { capacity: CapacityTables; advisor: AdvisorConfig } {
  const tiers: Tier[] = (merged.pricing ?? []).map((tier) => ({
    name: tier.name,
    ramGb: tier.ram_gb,
    vcpu: tier.vcpu,
    storageGb: tier.storage_gb,
    monthly: tier.monthly,
    capacity: tier.capacity,
  }));
  const tierByName = new Map(tiers.map((tier) => [tier.name, tier]));
  const stageList: Stage[] = (merged.stages ?? []).map((stage, index) => {
    const servers: StageServer[] = stage.servers.map((server) => {
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
    const loadBalancer = stage.load_balancer ?? null;
    const parts = servers.reduce((sum, server) => sum + server.count * server.monthly, loadBalancer?.monthly ?? 0);
    return {
      number: index + 1,
      name: stage.name,
      adds: stage.adds ?? [],
      servers,
      loadBalancer,
      monthly: stage.monthly ?? parts,
      capacity: stage.capacity,
      ...(stage.note ? { note: stage.note } : {}),
    };
  });
  const currentSetup = merged.current?.tier !== undefined ? { tier: merged.current.tier } : { stage: merged.current?.stage ?? 1 };

  const settings = merged.advisor ?? {};
  const threshold = settings.cpu_memory_threshold ?? 0.8;
  const byId = new Map(triggers.map((trigger) => [trigger.id, trigger]));
  const overrideFor = settings.cpu_memory_for === undefined || settings.cpu_memory_for === null ? null : parseDuration(settings.cpu_memory_for);
  const cpuMemory: Trigger[] = [];
  for (const [id, base, query, name, defaultFor] of [
    ['advisor_cpu', byId.get('cpu'), settings.cpu_query, 'CPU usage', 900],
    ['advisor_memory', byId.get('memory'), settings.memory_query, 'Memory usage', 600],
  ] as const) {
    const chosenQuery = query ?? base?.query;
    if (!chosenQuery) continue;
    cpuMemory.push(deriveThresholdTrigger({ name: base?.name ?? name, query: chosenQuery, forSeconds: overrideFor ?? base?.forSeconds ?? defaultFor }, id, threshold));
  }
  const database: Trigger[] = (settings.database_triggers ?? []).map((id) => byId.get(id)).filter((trigger): trigger is Trigger => Boolean(trigger));
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
  const latency = settings.latency_trigger === undefined ? 'api_p99' : settings.latency_trigger;
  const start: Partial<Record<Recommendation, string>> = {};
  for (const [recommendation, target] of Object.entries(settings.start ?? {})) {
    if (target) start[recommendation as Recommendation] = target;
  }
  return {
    capacity: { tiers, stages: stageList, apiMonthly: merged.api_costs?.monthly ?? 0, current: currentSetup },
    advisor: {
      evidence: {
        immediate: triggers.filter((trigger) => trigger.severity === 'immediate'),
        latencyTriggerId: latency && byId.has(latency) ? latency : null,
        cpuMemory,
        database,
      },
      cpuMemoryThreshold: threshold,
      memory: {
        globalTraffic: seconds(settings.remember?.global_traffic, '90d'),
        optimized: seconds(settings.remember?.optimized, '30d'),
        metricQuestions: seconds(settings.remember?.metric_questions, '1h'),
      },
      optimizationChecklist: settings.optimization_checklist ?? 'optimize',
      start,
      plan: { verticalUntilUsers: settings.vertical_until_users ?? 5000, dauPerConcurrentUser: settings.dau_per_concurrent_user ?? 4 },
      projection: merged.projection ?? [],
    },
  };
}
