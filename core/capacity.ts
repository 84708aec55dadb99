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

/**
 * A figure the guide itself prints for an architecture or a period, kept beside ours because it differs: the
 * guide prices the same servers differently in different tables, and we price everything from one list.
 */
export interface GuideFigure {
  /** Where in the guide: "its stage 4 heading", "its Horizontal Scaling Costs table". */
  readonly where: string;
  /** A month with the APIs, as the guide prints it. */
  readonly totalWithApis: number;
  /** "$1200+": a floor, not a price. */
  readonly orMore: boolean;
  /** A month without the APIs, where the guide gives it. */
  readonly monthly: number | null;
  /** Concurrent users the guide sizes it for there, where that is one figure. */
  readonly users: number | null;
  /** Why ours differs. */
  readonly why: string;
}

/** Which of the guide's tables an architecture comes from. */
export type ArchitectureTable = 'stages' | 'horizontal';

/**
 * One step of the guide's "Architecture Evolution" (table `stages`), or a row of its "Horizontal Scaling
 * Costs" table that goes beyond those stages (table `horizontal`). Both are priced from the one price list.
 */
export interface Stage {
  readonly table: ArchitectureTable;
  /** 1-based, the guide's numbering within its table. */
  readonly number: number;
  readonly name: string;
  /** How a person reads it: "stage 4: Read replicas", "4× App (32GB) + 2× DB (64GB) + LB". */
  readonly label: string;
  readonly adds: readonly StageFeature[];
  readonly servers: readonly StageServer[];
  readonly loadBalancer: { readonly name: string; readonly monthly: number } | null;
  /** Infrastructure a month, APIs excluded: the servers and load balancer, or more when the config says so. */
  readonly monthly: number;
  readonly capacity: Capacity;
  readonly note?: string;
  /** The guide's own figures for these servers, where they differ from ours (none for a team's own tables). */
  readonly guide: readonly GuideFigure[];
}

export type CurrentSetup = { readonly tier: string } | { readonly stage: number };

export interface CapacityTables {
  /** Sorted by capacity, smallest first (the config refuses anything else). */
  readonly tiers: readonly Tier[];
  readonly stages: readonly Stage[];
  /** The "Horizontal Scaling Costs" rows beyond the stages, in one region: after stage 4, before multi-region. */
  readonly horizontal: readonly Stage[];
  /** The external APIs, US dollars a month, paid whatever the servers. */
  readonly apiMonthly: number;
  readonly current: CurrentSetup;
}

export interface PlanRule {
  /** The guide: "use vertical scaling until you hit CPX61 limits (~5K users)", then horizontal. */
  readonly verticalUntilUsers: number;
  /**
   * How many daily active users make one concurrent user. Ours, not the guide's (4 by default): the guide's
   * "scale soon" list names 2,000 daily and 500 concurrent users as two separate triggers.
   */
  readonly dauPerConcurrentUser: number;
}

/**
 * Whether the team serves global traffic (the decision tree's last question), and who said so. Only then is
 * a multi-region stage offered: the guide sends a team there for global traffic, not for its number of users.
 */
export interface TrafficScope {
  readonly global: boolean;
  /** command: `--global`/`--not-global`; config: `advisor.global_traffic`; answer: a click in /scale advise; unknown: nobody said. */
  readonly source: 'command' | 'config' | 'answer' | 'unknown';
  readonly by?: string;
  readonly at?: Date;
}

export const NOT_KNOWN_GLOBAL: TrafficScope = { global: false, source: 'unknown' };

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

/**
 * Every feature a stage has: its own and those of the stages before it. A horizontal row comes after every
 * single-region stage: it has theirs and its own.
 */
export function stageFeatures(stage: Stage, stages: readonly Stage[]): Set<StageFeature> {
  const before =
    stage.table === 'stages'
      ? stages.filter((other) => other.number <= stage.number)
      : [...stages.filter((other) => !other.adds.includes('multi_region')), stage];
  return new Set(before.flatMap((other) => other.adds));
}

function isMultiRegion(stage: Stage, stages: readonly Stage[]): boolean {
  return stage.table === 'stages' && stageFeatures(stage, stages).has('multi_region');
}

/**
 * What a team can grow into, in order: the stages, then the "Horizontal Scaling Costs" rows beyond them. The
 * multi-region stages only with global traffic: the guide's decision tree sends a team there for that reason,
 * not for its number of users ("Are you serving global traffic? NO → Horizontal scaling").
 */
export function architectures(tables: Pick<CapacityTables, 'stages' | 'horizontal'>, global: boolean): Stage[] {
  return [...tables.stages.filter((stage) => global || !isMultiRegion(stage, tables.stages)), ...tables.horizontal];
}

/** The single-region architecture that reaches furthest (the last one: the config keeps them in order). */
export function largestSingleRegion(tables: Pick<CapacityTables, 'stages' | 'horizontal'>): Stage | undefined {
  return architectures(tables, false).at(-1);
}

/** The first multi-region stage, if the tables have one: what global traffic would add. */
export function multiRegionStage(tables: Pick<CapacityTables, 'stages'>): Stage | undefined {
  return tables.stages.find((stage) => isMultiRegion(stage, tables.stages));
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
    label: stage.label,
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
 * the current stage). Separate database or read replicas, horizontal: the first architecture after the
 * current one, in one region (the stages, then the Horizontal Scaling Costs rows), that has what the step
 * needs; from one that already has it, simply the next, larger one. Multi-region: the first multi-region
 * stage, which the decision tree recommends only for global traffic.
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
  const stage = nextStageFor(step, current, tables);
  if (!stage) {
    const where = step === 'multi_region' || tables.horizontal.length === 0 ? 'the stages table' : 'the stages or horizontal tables';
    return { kind: 'unavailable', reason: `no stage after ${current.label} in ${where} ${describeNeed(step, current)}`, currentMonthly };
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
      if (!current.features.has('separate_database')) return 'separate_database';
      return current.features.has('read_replicas') ? null : 'read_replicas';
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

function nextStageFor(step: Exclude<ScalingStep, 'vertical'>, current: ResolvedCurrent, tables: CapacityTables): Stage | undefined {
  const feature = neededFeature(step, current);
  const { stages } = tables;
  const has = (stage: Stage) => feature === null || stageFeatures(stage, stages).has(feature);
  if (step === 'multi_region') return stages.find((stage) => stage.number > current.stageNumber && has(stage));
  // A team already in several regions has nothing single-region ahead of it.
  const ahead = current.features.has('multi_region')
    ? stages.filter((stage) => stage.number > current.stageNumber)
    : architectures(tables, false).filter((stage) => stage.table === 'horizontal' || stage.number > current.stageNumber);
  return ahead.find(has);
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
  /** The daily-active-users ratio used for `dau` (ours, not the guide's). */
  readonly dauPerConcurrentUser: number;
  readonly vertical: PlanOption<Tier>;
  /** The first stage or horizontal row that carries the load; a multi-region stage only with global traffic. */
  readonly horizontal: PlanOption<Stage>;
  readonly scope: TrafficScope;
  /** The first multi-region stage of the tables, if any. */
  readonly multiRegion: Stage | undefined;
  /** That stage, when the traffic is not known to be global and it is what global traffic would have picked. */
  readonly multiRegionLeftOut: Stage | undefined;
  /** The guide's rule: vertical up to `verticalUntilUsers`, horizontal above (or when no tier fits). */
  readonly recommended: 'vertical' | 'horizontal';
  readonly current: ResolvedCurrent;
  readonly apiMonthly: number;
  readonly verticalUntilUsers: number;
}

/**
 * Which tier and which architecture carry the load, what they cost, and which of the two the guide would pick.
 * The architecture is the first stage or "Horizontal Scaling Costs" row that reaches the load, multi-region
 * stages only when `scope` says the traffic is global.
 */
export function planFor(load: PlanLoad, tables: CapacityTables, rule: PlanRule, scope: TrafficScope = NOT_KNOWN_GLOBAL): Plan {
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
  const horizontal = option(pickStage(users, architectures(tables, scope.global)));
  const multiRegion = multiRegionStage(tables);
  // Left out only where global traffic would have picked it: not where a single-region stage carries the load.
  const multiRegionLeftOut = !scope.global && multiRegion && pickStage(users, architectures(tables, true)) === multiRegion ? multiRegion : undefined;
  const recommended = users <= rule.verticalUntilUsers && vertical.fit ? 'vertical' : horizontal.fit || !vertical.fit ? 'horizontal' : 'vertical';
  return {
    users,
    dau,
    dauPerConcurrentUser: rule.dauPerConcurrentUser,
    vertical,
    horizontal,
    scope,
    multiRegion,
    multiRegionLeftOut,
    recommended,
    current,
    apiMonthly: tables.apiMonthly,
    verticalUntilUsers: rule.verticalUntilUsers,
  };
}

// --- /scale cost: the year-one projection -------------------------------------------------------------------

/** One period of the guide's "Year 1 Growth Scenario": how many months, and the users it must carry. */
export interface ProjectionPeriod {
  readonly months: number;
  readonly users: number;
  /** The guide's own row for the period: its hand-picked architecture and price (with APIs), and why ours differs. */
  readonly guide?: { readonly architecture: string; readonly monthly: number; readonly why: string };
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
  /** The guide's own row, with its running total. */
  readonly guide?: ProjectionPeriod['guide'] & { readonly cumulative: number };
}

export interface Projection {
  readonly rows: ProjectionRow[];
  /** Ours, APIs included; null when some period fits nothing. */
  readonly total: number | null;
  /** The guide's own year ("Year 1 Total Infrastructure Cost: $4,380"), when every period has its figure. */
  readonly guideTotal: number | null;
}

/**
 * The guide's year-one scenario priced with the configured tables: each period gets what `planFor` would
 * recommend for its peak users. With the guide's own tables this is months 1-3 CPX41, 4-6 CPX51, 7-9 CPX61,
 * 10-12 stage 4; the guide's hand-made table says "Single 16GB", "Single 32GB", "32GB VPS + DB", "2× App +
 * DB + Replica" and prices them differently (see config/advisor.yaml).
 */
export function projectCosts(periods: readonly ProjectionPeriod[], tables: CapacityTables, rule: PlanRule, scope: TrafficScope = NOT_KNOWN_GLOBAL): Projection {
  const rows: ProjectionRow[] = [];
  let month = 1;
  let cumulative: number | null = 0;
  let guideCumulative = 0;
  for (const period of periods) {
    const plan = planFor({ users: period.users }, tables, rule, scope);
    const option = plan.recommended === 'vertical' ? plan.vertical : plan.horizontal;
    const fit = option.fit as Tier | Stage | undefined;
    const monthly = option.totalWithApis;
    cumulative = cumulative === null || monthly === null ? null : cumulative + monthly * period.months;
    if (period.guide) guideCumulative += period.guide.monthly * period.months;
    rows.push({
      months: period.months === 1 ? String(month) : `${month}-${month + period.months - 1}`,
      users: period.users,
      architecture: fit ? ('label' in fit ? fit.label : `${fit.name} (one server)`) : 'nothing in the tables fits',
      kind: fit ? plan.recommended : 'none',
      monthly,
      cumulative,
      ...(period.guide ? { guide: { ...period.guide, cumulative: guideCumulative } } : {}),
    });
    month += period.months;
  }
  const guideTotal = periods.length > 0 && periods.every((period) => period.guide) ? guideCumulative : null;
  return { rows, total: cumulative, guideTotal };
}

/** "Compare to AWS: ~$18,000 for same capacity. Savings: $13,620 (76%)": the guide's, and the same estimate against ours. */
export interface AwsComparison {
  readonly awsYearOne: number;
  readonly guideTotal: number;
  readonly guideSavings: number;
  /** Whole percent, as the guide rounds it. */
  readonly guideSavingsPercent: number;
  readonly ours: { readonly total: number; readonly savings: number; readonly savingsPercent: number } | null;
}

export function compareWithAws(awsYearOne: number | null, projection: Projection): AwsComparison | null {
  if (awsYearOne === null || projection.guideTotal === null || awsYearOne <= 0) return null;
  const savings = (total: number) => ({ total, savings: awsYearOne - total, savingsPercent: Math.round(((awsYearOne - total) / awsYearOne) * 100) });
  const guide = savings(projection.guideTotal);
  return {
    awsYearOne,
    guideTotal: guide.total,
    guideSavings: guide.savings,
    guideSavingsPercent: guide.savingsPercent,
    ours: projection.total === null ? null : savings(projection.total),
  };
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
