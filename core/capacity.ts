/**
 * Capacity and cost: the guide's server tiers (vertical scaling), its architecture stages (horizontal
 * scaling), what fits a load, what the next step costs. Plain data in, plain data out; the tables come from
 * the config (config/advisor.yaml holds the guide's defaults).
 */

/** Concurrent users a tier or stage is sized for; `max: null` is the guide's "20K+": no stated upper bound. */
export interface Capacity {
  readonly min: number;
  readonly max: number | null;
}

/** A server size from the pricing table ("Cost Comparison" in the guide). */
export interface Tier {
  readonly name: string;
  readonly ramGb: number;
  readonly vcpu: number;
  readonly storageGb: number;
  /** US dollars a month. */
  readonly monthly: number;
  readonly capacity: Capacity;
}

export const SERVER_ROLES = ['everything', 'app', 'database', 'database_replica'] as const;
export type ServerRole = (typeof SERVER_ROLES)[number];

/** What a stage brings that the stages before it did not have; a stage has its own and all earlier ones. */
export const STAGE_FEATURES = ['separate_database', 'load_balancer', 'read_replicas', 'multi_region'] as const;
export type StageFeature = (typeof STAGE_FEATURES)[number];

export interface StageServer {
  readonly role: ServerRole;
  readonly count: number;
  /** The pricing tier this server is, when it is one (its price then comes from the pricing table). */
  readonly tier: string | null;
  /** "16 GB", or the tier's RAM. */
  readonly size: string;
  /** Per server, US dollars a month. */
  readonly monthly: number;
  readonly note?: string;
}

/** One step of the guide's "Architecture Evolution". */
export interface Stage {
  /** 1-based, the guide's numbering. */
  readonly number: number;
  readonly name: string;
  readonly adds: readonly StageFeature[];
  readonly servers: readonly StageServer[];
  readonly loadBalancer: { readonly name: string; readonly monthly: number } | null;
  /** Infrastructure a month, APIs excluded: the servers and load balancer, or more when the config says so. */
  readonly monthly: number;
  readonly capacity: Capacity;
  readonly note?: string;
}

export type CurrentSetup = { readonly tier: string } | { readonly stage: number };

export interface CapacityTables {
  /** Sorted by capacity, smallest first (the config refuses anything else). */
  readonly tiers: readonly Tier[];
  readonly stages: readonly Stage[];
  /** The external APIs, US dollars a month, paid whatever the servers. */
  readonly apiMonthly: number;
  readonly current: CurrentSetup;
}

export interface PlanRule {
  /** The guide: "use vertical scaling until you hit CPX61 limits (~5K users)", then horizontal. */
  readonly verticalUntilUsers: number;
  /** How many daily active users make one concurrent user (the guide's triggers: 2,000 DAU ~ 500 concurrent). */
  readonly dauPerConcurrentUser: number;
}

/** The tiers' sizes as a person reads them. */
export function describeTier(tier: Tier): string {
  return `${tier.ramGb} GB RAM, ${tier.vcpu} vCPU, ${tier.storageGb} GB storage`;
}

export function fitsCapacity(users: number, capacity: Capacity): boolean {
  return capacity.max === null || users <= capacity.max;
}

/**
 * The smallest tier whose capacity reaches `users` (the upper bound counts: 1,000 users fit "500-1K").
 * Where the guide's ranges leave a gap (1K-2K, 3K-5K, 8K-20K) the next larger tier is the one that fits.
 * undefined: larger than every tier.
 */
export function pickTier(users: number, tiers: readonly Tier[]): Tier | undefined {
  return tiers.find((tier) => fitsCapacity(users, tier.capacity));
}

/** The first stage whose capacity reaches `users`; undefined when none does. */
export function pickStage(users: number, stages: readonly Stage[]): Stage | undefined {
  return stages.find((stage) => fitsCapacity(users, stage.capacity));
}

/** Every feature a stage has: its own and those of the stages before it. */
export function stageFeatures(stage: Stage, stages: readonly Stage[]): Set<StageFeature> {
  return new Set(stages.filter((other) => other.number <= stage.number).flatMap((other) => other.adds));
}

export interface ResolvedCurrent {
  readonly label: string;
  /** Infrastructure a month, APIs excluded. */
  readonly monthly: number;
  readonly tier?: Tier;
  readonly stage?: Stage;
  /** A single server is stage 1 of the guide, whatever its size. */
  readonly stageNumber: number;
  readonly features: ReadonlySet<StageFeature>;
}

/** What runs now, priced. The config has checked that the tier or stage exists. */
export function resolveCurrent(tables: CapacityTables): ResolvedCurrent {
  if ('tier' in tables.current) {
    const name = tables.current.tier;
    const tier = tables.tiers.find((candidate) => candidate.name === name);
    if (!tier) throw new Error(`current tier "${name}" is not in the pricing table`);
    return { label: `${tier.name} (one server)`, monthly: tier.monthly, tier, stageNumber: 1, features: new Set() };
  }
  const number = tables.current.stage;
  const stage = tables.stages.find((candidate) => candidate.number === number);
  if (!stage) throw new Error(`current stage ${number} is not in the stages table`);
  return {
    label: `stage ${stage.number}: ${stage.name}`,
    monthly: stage.monthly,
    stage,
    stageNumber: stage.number,
    features: stageFeatures(stage, tables.stages),
  };
}

// --- the price of a recommendation -------------------------------------------------------------------------

export type ScalingStep = 'vertical' | 'database' | 'horizontal' | 'multi_region';

export interface TierUpgrade {
  readonly from: Tier;
  readonly to: Tier;
  readonly count: number;
  /** Which servers: "the server", "app servers". */
  readonly servers: string;
}

export type Price =
  | {
      readonly kind: 'tier';
      readonly upgrades: readonly TierUpgrade[];
      readonly currentMonthly: number;
      readonly newMonthly: number;
      readonly delta: number;
      readonly newTotalWithApis: number;
    }
  | {
      readonly kind: 'stage';
      readonly stage: Stage;
      readonly currentMonthly: number;
      readonly newMonthly: number;
      readonly delta: number;
      readonly newTotalWithApis: number;
    }
  | { readonly kind: 'unavailable'; readonly reason: string; readonly currentMonthly: number };

/**
 * The price of the next step. Vertical: the next tier above the current server (or above each app server of
 * the current stage). Separate database or read replicas, horizontal, multi-region: the first stage after
 * the current one that has what the step needs; horizontal from a stage that already has a load balancer is
 * simply the next stage.
 */
export function priceRecommendation(step: ScalingStep, tables: CapacityTables): Price {
  const current = resolveCurrent(tables);
  const currentMonthly = current.monthly;
  if (step === 'vertical') {
    const targets = current.tier
      ? [{ tierName: current.tier.name, count: 1, servers: 'the server' }]
      : (current.stage?.servers ?? [])
          .filter((server) => server.role === 'everything' || server.role === 'app')
          .map((server) => ({
            tierName: server.tier,
            count: server.count,
            servers: server.role === 'app' ? (server.count === 1 ? 'the app server' : 'each app server') : 'the server',
          }));
    if (targets.length === 0) return { kind: 'unavailable', reason: `${current.label} has no app server to upgrade`, currentMonthly };
    const upgrades: TierUpgrade[] = [];
    for (const target of targets) {
      const index = tables.tiers.findIndex((tier) => tier.name === target.tierName);
      if (index < 0) {
        return {
          kind: 'unavailable',
          reason: `the app servers of ${current.label} are not a tier of the pricing table, so their upgrade cannot be priced`,
          currentMonthly,
        };
      }
      const next = tables.tiers[index + 1];
      if (!next) {
        return {
          kind: 'unavailable',
          reason: `${tables.tiers[index]!.name} is the largest tier in the pricing table: vertical scaling has reached its limit, horizontal scaling is next`,
          currentMonthly,
        };
      }
      upgrades.push({ from: tables.tiers[index]!, to: next, count: target.count, servers: target.servers });
    }
    const delta = upgrades.reduce((sum, upgrade) => sum + upgrade.count * (upgrade.to.monthly - upgrade.from.monthly), 0);
    return { kind: 'tier', upgrades, currentMonthly, newMonthly: currentMonthly + delta, delta, newTotalWithApis: currentMonthly + delta + tables.apiMonthly };
  }
  const stage = nextStageFor(step, current, tables.stages);
  if (!stage) {
    return { kind: 'unavailable', reason: `no stage after ${current.label} in the stages table ${describeNeed(step, current)}`, currentMonthly };
  }
  return {
    kind: 'stage',
    stage,
    currentMonthly,
    newMonthly: stage.monthly,
    delta: stage.monthly - currentMonthly,
    newTotalWithApis: stage.monthly + tables.apiMonthly,
  };
}

function neededFeature(step: Exclude<ScalingStep, 'vertical'>, current: ResolvedCurrent): StageFeature | null {
  switch (step) {
    case 'database':
      return current.features.has('separate_database') ? 'read_replicas' : 'separate_database';
    case 'horizontal':
      return current.features.has('load_balancer') ? null : 'load_balancer';
    case 'multi_region':
      return 'multi_region';
  }
}

function describeNeed(step: Exclude<ScalingStep, 'vertical'>, current: ResolvedCurrent): string {
  const feature = neededFeature(step, current);
  return feature ? `adds ${feature.replace(/_/g, ' ')}` : 'adds servers';
}

function nextStageFor(step: Exclude<ScalingStep, 'vertical'>, current: ResolvedCurrent, stages: readonly Stage[]): Stage | undefined {
  const feature = neededFeature(step, current);
  return stages.find((stage) => stage.number > current.stageNumber && (feature === null || stageFeatures(stage, stages).has(feature)));
}

// --- /scale plan ---------------------------------------------------------------------------------------------

export type PlanLoad = { readonly users: number } | { readonly dau: number };

export interface PlanOption<T> {
  /** undefined: nothing in the table is big enough. */
  readonly fit: T | undefined;
  readonly monthly: number | null;
  readonly totalWithApis: number | null;
  /** Against what runs now (infrastructure only: the APIs cost the same either way). */
  readonly delta: number | null;
}

export interface Plan {
  /** Concurrent users the plan is for (from `dau` when that was given). */
  readonly users: number;
  readonly dau: number | null;
  readonly vertical: PlanOption<Tier>;
  readonly horizontal: PlanOption<Stage>;
  /** The guide's rule: vertical up to `verticalUntilUsers`, horizontal above (or when no tier fits). */
  readonly recommended: 'vertical' | 'horizontal';
  readonly current: ResolvedCurrent;
  readonly apiMonthly: number;
  readonly verticalUntilUsers: number;
}

/** Which tier and which stage carry the load, what they cost, and which of the two the guide would pick. */
export function planFor(load: PlanLoad, tables: CapacityTables, rule: PlanRule): Plan {
  const dau = 'dau' in load ? load.dau : null;
  const users = 'dau' in load ? Math.ceil(load.dau / rule.dauPerConcurrentUser) : load.users;
  const current = resolveCurrent(tables);
  const option = <T extends { monthly: number }>(fit: T | undefined): PlanOption<T> => ({
    fit,
    monthly: fit ? fit.monthly : null,
    totalWithApis: fit ? fit.monthly + tables.apiMonthly : null,
    delta: fit ? fit.monthly - current.monthly : null,
  });
  const vertical = option(pickTier(users, tables.tiers));
  const horizontal = option(pickStage(users, tables.stages));
  const recommended = users <= rule.verticalUntilUsers && vertical.fit ? 'vertical' : horizontal.fit || !vertical.fit ? 'horizontal' : 'vertical';
  return { users, dau, vertical, horizontal, recommended, current, apiMonthly: tables.apiMonthly, verticalUntilUsers: rule.verticalUntilUsers };
}

// --- /scale cost: the year-one projection -------------------------------------------------------------------

/** One period of the guide's "Year 1 Growth Scenario": how many months, and the users it must carry. */
export interface ProjectionPeriod {
  readonly months: number;
  readonly users: number;
}

export interface ProjectionRow {
  /** "1-3" */
  readonly months: string;
  readonly users: number;
  /** What the guide's rule picks for that load: the tier or stage name. */
  readonly architecture: string;
  readonly kind: 'vertical' | 'horizontal' | 'none';
  /** With APIs, a month; null when nothing in the tables fits. */
  readonly monthly: number | null;
  readonly cumulative: number | null;
}

/**
 * The guide's year-one scenario priced with the configured tables: each period gets what `planFor` would
 * recommend for its peak users. With the guide's own tables this is months 1-3 CPX41, 4-6 CPX51, 7-9 CPX61,
 * 10-12 stage 4; the guide's hand-made table says "Single 16GB", "Single 32GB", "32GB VPS + DB", "2× App +
 * DB + Replica" and prices them differently (see config/advisor.yaml).
 */
export function projectCosts(periods: readonly ProjectionPeriod[], tables: CapacityTables, rule: PlanRule): { rows: ProjectionRow[]; total: number | null } {
  const rows: ProjectionRow[] = [];
  let month = 1;
  let cumulative: number | null = 0;
  for (const period of periods) {
    const plan = planFor({ users: period.users }, tables, rule);
    const option = plan.recommended === 'vertical' ? plan.vertical : plan.horizontal;
    const fit = option.fit as Tier | Stage | undefined;
    const monthly = option.totalWithApis;
    cumulative = cumulative === null || monthly === null ? null : cumulative + monthly * period.months;
    rows.push({
      months: period.months === 1 ? String(month) : `${month}-${month + period.months - 1}`,
      users: period.users,
      architecture: fit ? ('number' in fit ? `stage ${fit.number}: ${fit.name}` : `${fit.name} (one server)`) : 'nothing in the tables fits',
      kind: fit ? plan.recommended : 'none',
      monthly,
      cumulative,
    });
    month += period.months;
  }
  return { rows, total: cumulative };
}

/** "$1,234" (whole dollars; the guide's prices are whole dollars). */
export function formatDollars(amount: number): string {
  const sign = amount < 0 ? '−' : '';
  return `${sign}$${Math.abs(Math.round(amount)).toLocaleString('en-US')}`;
}

/** "+$15", "−$15", "±$0". */
export function formatDelta(amount: number): string {
  if (Math.round(amount) === 0) return '±$0';
  return amount > 0 ? `+${formatDollars(amount)}` : formatDollars(amount);
}

/** "500-1,000 users", "20,000+ users". */
export function formatCapacity(capacity: Capacity): string {
  const min = capacity.min.toLocaleString('en-US');
  return capacity.max === null ? `${min}+ users` : `${min}-${capacity.max.toLocaleString('en-US')} users`;
}
