import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { knownTrafficScope } from '../../core/advisor.ts';
import {
  compareWithAws,
  formatCapacity,
  formatDelta,
  formatDollars,
  pickStage,
  pickTier,
  planFor,
  priceRecommendation,
  projectCosts,
  resolveCurrent,
  type CapacityTables,
  type Tier,
  type TrafficScope,
} from '../../core/capacity.ts';

const { capacity: GUIDE, advisor } = loadConfig();
const RULE = advisor.plan;
const at = (tables: CapacityTables, current: CapacityTables['current']): CapacityTables => ({ ...tables, current });
const GLOBAL: TrafficScope = { global: true, source: 'command' };

describe("the guide's tables (config/advisor.yaml)", () => {
  it('hold the Cost Comparison tiers, the five stages priced from them, $190 of APIs and CPX41 as current', () => {
    expect(GUIDE.tiers.map((tier) => [tier.name, tier.ramGb, tier.vcpu, tier.storageGb, tier.monthly, tier.capacity.min, tier.capacity.max])).toEqual([
      ['CPX41', 16, 8, 240, 35, 500, 1000],
      ['CPX51', 32, 16, 360, 50, 2000, 3000],
      ['CPX61', 64, 24, 480, 100, 5000, 8000],
      ['CCX63', 128, 48, 960, 400, 20000, null],
    ]);
    expect(GUIDE.stages.map((stage) => [stage.number, stage.monthly, stage.capacity.min, stage.capacity.max, stage.adds])).toEqual([
      [1, 35, 0, 1000, []],
      [2, 85, 1000, 3000, ['separate_database']],
      [3, 126, 3000, 5000, ['load_balancer']],
      [4, 206, 5000, 10000, ['read_replicas']],
      [5, 1010, 10000, null, ['multi_region']],
    ]);
    expect(GUIDE.apiMonthly).toBe(190);
    expect(resolveCurrent(GUIDE)).toMatchObject({ label: 'CPX41 (one server)', monthly: 35, stageNumber: 1 });
  });
});

describe('pickTier and pickStage at the boundaries of the guide’s tables', () => {
  const cases: Array<[number, string, number]> = [
    [500, 'CPX41', 1],
    [1000, 'CPX41', 1],
    [3000, 'CPX51', 2],
    [5000, 'CPX61', 3],
    [8000, 'CPX61', 4],
    [20000, 'CCX63', 5],
  ];
  it.each(cases)('%i users: tier %s, stage %i', (users, tier, stage) => {
    expect(pickTier(users, GUIDE.tiers)?.name).toBe(tier);
    expect(pickStage(users, GUIDE.stages)?.number).toBe(stage);
  });

  it('one over a boundary takes the next; the gaps of the guide’s ranges go to the next larger tier', () => {
    expect(pickTier(1001, GUIDE.tiers)?.name).toBe('CPX51');
    expect(pickTier(3001, GUIDE.tiers)?.name).toBe('CPX61');
    expect(pickTier(8001, GUIDE.tiers)?.name).toBe('CCX63');
    expect(pickStage(1001, GUIDE.stages)?.number).toBe(2);
    expect(pickStage(10001, GUIDE.stages)?.number).toBe(5);
    expect(pickTier(1, GUIDE.tiers)?.name).toBe('CPX41');
    expect(pickTier(5_000_000, GUIDE.tiers)?.name).toBe('CCX63');
  });

  it('nothing fits past a table whose largest entry has a max', () => {
    const small: Tier[] = [{ name: 'S', ramGb: 2, vcpu: 1, storageGb: 20, monthly: 5, capacity: { min: 0, max: 100 } }];
    expect(pickTier(101, small)).toBeUndefined();
  });
});

describe('planFor', () => {
  const cases: Array<[number, 'vertical' | 'horizontal', number, number]> = [
    [500, 'vertical', 225, 225],
    [1000, 'vertical', 225, 225],
    [3000, 'vertical', 240, 275],
    [5000, 'vertical', 290, 316],
    [8000, 'horizontal', 290, 396],
  ];
  it.each(cases)('%i users: the guide’s rule says %s; totals with APIs $%i vertical, $%i horizontal', (users, recommended, vertical, horizontal) => {
    const plan = planFor({ users }, GUIDE, RULE);
    expect(plan.recommended).toBe(recommended);
    expect(plan.vertical.totalWithApis).toBe(vertical);
    expect(plan.horizontal.totalWithApis).toBe(horizontal);
    expect(plan.vertical.delta).toBe(vertical - 225);
  });

  it('takes daily active users at 4 per concurrent user, rounding up', () => {
    const plan = planFor({ dau: 12001 }, GUIDE, RULE);
    expect(plan).toMatchObject({ users: 3001, dau: 12001, recommended: 'vertical' });
    expect(plan.vertical.fit?.name).toBe('CPX61');
  });

  it('goes horizontal below the limit when no tier is big enough, vertical above it when no stage is', () => {
    const tiny: CapacityTables = { ...GUIDE, tiers: [GUIDE.tiers[0]!], current: { tier: 'CPX41' } };
    expect(planFor({ users: 2000 }, tiny, RULE)).toMatchObject({ recommended: 'horizontal', vertical: { fit: undefined, totalWithApis: null } });
    const fewStages: CapacityTables = { ...GUIDE, stages: GUIDE.stages.slice(0, 2), horizontal: [] };
    expect(planFor({ users: 6000 }, fewStages, RULE)).toMatchObject({ recommended: 'vertical', horizontal: { fit: undefined } });
  });
});

describe("past 10,000 users: the guide's Horizontal Scaling Costs table, multi-region only for global traffic", () => {
  it('holds the guide’s three rows: the first two are stages 3 and 4 (their figures beside them), the third goes on to 15,000 users', () => {
    expect(GUIDE.horizontal.map((row) => [row.name, row.table, row.monthly, row.capacity.min, row.capacity.max])).toEqual([
      ['4× App (32GB) + 2× DB (64GB) + LB', 'horizontal', 406, 10000, 15000],
    ]);
    const figures = (number: number) =>
      GUIDE.stages[number - 1]!.guide.map((figure) => [figure.where, figure.monthly, figure.totalWithApis, figure.users, figure.orMore]);
    expect(figures(3)).toEqual([
      ['its stage 3 heading', null, 400, null, false],
      ['its Horizontal Scaling Costs table', 156, 346, 3000, false],
    ]);
    expect(figures(4)).toEqual([
      ['its stage 4 heading', null, 550, null, false],
      ['its Horizontal Scaling Costs table', 276, 466, 8000, false],
    ]);
    expect(figures(5)).toEqual([['its stage 5 heading', null, 1200, null, true]]);
    expect(GUIDE.horizontal[0]!.guide.map((figure) => [figure.monthly, figure.totalWithApis, figure.users])).toEqual([[456, 646, 15000]]);
  });

  // The guide: "4× App (32GB) + 2× DB (64GB) + LB | $456 | $646 | 15000 users"; ours from the Cost Comparison
  // prices: 4 × CPX51 ($50) + 2 × CPX61 ($100) + LB11 ($6) = $406, $596 with the APIs.
  it.each([10001, 12000, 15000])('%i users, traffic not known to be global: the 4× app row (596 dollars, the guide: 646), not multi-region', (users) => {
    const plan = planFor({ users }, GUIDE, RULE);
    expect(plan.recommended).toBe('horizontal');
    expect(plan.horizontal.fit).toMatchObject({ table: 'horizontal', name: '4× App (32GB) + 2× DB (64GB) + LB' });
    expect(plan.horizontal).toMatchObject({ monthly: 406, totalWithApis: 596, delta: 371 });
    expect(plan.horizontal.fit!.guide[0]).toMatchObject({ totalWithApis: 646, monthly: 456, users: 15000 });
    expect(plan.multiRegionLeftOut?.number).toBe(5);
    expect(plan.vertical.fit?.name).toBe('CCX63');
  });

  it.each([12000, 15000, 20000])('%i users with global traffic: stage 5, multi-region (1,200 dollars; the guide: 1200+)', (users) => {
    const plan = planFor({ users }, GUIDE, RULE, GLOBAL);
    expect(plan.horizontal.fit).toMatchObject({ table: 'stages', number: 5, name: 'Multi-region' });
    expect(plan.horizontal.totalWithApis).toBe(1200);
    expect(plan.multiRegionLeftOut).toBeUndefined();
  });

  it('below 10,000 users global traffic changes nothing: the stage that carries the load', () => {
    for (const users of [500, 3000, 8000, 10000]) {
      expect(planFor({ users }, GUIDE, RULE, GLOBAL).horizontal.fit).toBe(planFor({ users }, GUIDE, RULE).horizontal.fit);
      expect(planFor({ users }, GUIDE, RULE).multiRegionLeftOut).toBeUndefined();
    }
  });

  it('past 15,000 users in one region the guide has no horizontal architecture: only the CCX63 (one server) fits', () => {
    const plan = planFor({ users: 15001 }, GUIDE, RULE);
    expect(plan.horizontal.fit).toBeUndefined();
    expect(plan.recommended).toBe('vertical');
    expect(plan.vertical).toMatchObject({ fit: { name: 'CCX63' }, totalWithApis: 590 });
    expect(planFor({ users: 15001 }, GUIDE, RULE, GLOBAL).horizontal.fit?.number).toBe(5);
  });

  it('whatever the load, multi-region only with global traffic', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.boolean(), (users, global) => {
        const plan = planFor({ users }, GUIDE, RULE, { global, source: 'command' });
        const multiRegion = plan.horizontal.fit?.adds.includes('multi_region') ?? false;
        if (!global) expect(multiRegion).toBe(false);
        // Every fit carries the load.
        if (plan.horizontal.fit) expect(plan.horizontal.fit.capacity.max === null || plan.horizontal.fit.capacity.max >= users).toBe(true);
        expect(projectCosts([{ months: 1, users }], GUIDE, RULE, { global, source: 'command' }).rows[0]!.architecture.includes('Multi-region')).toBe(
          global && multiRegion,
        );
      }),
    );
  });
});

describe('knownTrafficScope: what plan and cost know of "Are you serving global traffic?"', () => {
  const NOW = new Date('2026-06-01T00:00:00Z');
  const memory = { globalTraffic: 90 * 86400, optimized: null, metricQuestions: 3600 };
  const answer = (value: 'yes' | 'no', daysAgo: number) => ({
    global_traffic: { answer: value, by: 'U0BOB0001', at: new Date(NOW.getTime() - daysAgo * 86400_000), source: 'person' as const },
  });
  it('the config’s standing answer, else the latest answer while it counts, else nobody said (not global)', () => {
    expect(knownTrafficScope(true, answer('no', 1), memory, NOW)).toEqual({ global: true, source: 'config' });
    expect(knownTrafficScope(null, answer('yes', 1), memory, NOW)).toMatchObject({ global: true, source: 'answer', by: 'U0BOB0001' });
    expect(knownTrafficScope(null, answer('no', 1), memory, NOW)).toMatchObject({ global: false, source: 'answer' });
    expect(knownTrafficScope(null, answer('yes', 91), memory, NOW)).toEqual({ global: false, source: 'unknown' });
    expect(knownTrafficScope(null, {}, memory, NOW)).toEqual({ global: false, source: 'unknown' });
  });
});

describe('priceRecommendation', () => {
  it('vertical from CPX41: CPX51, +$15', () => {
    const price = priceRecommendation('vertical', GUIDE);
    expect(price).toMatchObject({ kind: 'tier', currentMonthly: 35, newMonthly: 50, delta: 15, newTotalWithApis: 240 });
    expect(price.kind === 'tier' && price.upgrades.map((upgrade) => [upgrade.from.name, upgrade.to.name, upgrade.count])).toEqual([['CPX41', 'CPX51', 1]]);
  });

  it('vertical from the largest tier: nothing larger, horizontal is next', () => {
    expect(priceRecommendation('vertical', at(GUIDE, { tier: 'CCX63' }))).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/CCX63 is the largest tier/),
    });
  });

  it('from one server: the database gets stage 2, horizontal stage 3, multi-region stage 5', () => {
    expect(priceRecommendation('database', GUIDE)).toMatchObject({ kind: 'stage', stage: { number: 2 }, newMonthly: 85, delta: 50, newTotalWithApis: 275 });
    expect(priceRecommendation('horizontal', GUIDE)).toMatchObject({ kind: 'stage', stage: { number: 3 }, delta: 91, newTotalWithApis: 316 });
    expect(priceRecommendation('multi_region', GUIDE)).toMatchObject({ kind: 'stage', stage: { number: 5 }, newTotalWithApis: 1200 });
  });

  it('from stage 3 (already a separate database and a load balancer): read replicas, the next stage, bigger app servers', () => {
    const stage3 = at(GUIDE, { stage: 3 });
    expect(priceRecommendation('database', stage3)).toMatchObject({ kind: 'stage', stage: { number: 4 }, currentMonthly: 126, delta: 80 });
    expect(priceRecommendation('horizontal', stage3)).toMatchObject({ kind: 'stage', stage: { number: 4 } });
    const vertical = priceRecommendation('vertical', stage3);
    expect(vertical).toMatchObject({ kind: 'tier', delta: 30, newMonthly: 156 });
    expect(vertical.kind === 'tier' && vertical.upgrades[0]).toMatchObject({
      from: { name: 'CPX41' },
      to: { name: 'CPX51' },
      count: 2,
      servers: 'each app server',
    });
  });

  it('from stage 4, in one region: horizontal and the database go to the 4× app row, not to multi-region', () => {
    const stage4 = at(GUIDE, { stage: 4 });
    for (const step of ['horizontal', 'database'] as const) {
      expect(priceRecommendation(step, stage4)).toMatchObject({
        kind: 'stage',
        stage: { table: 'horizontal', name: '4× App (32GB) + 2× DB (64GB) + LB' },
        currentMonthly: 206,
        newMonthly: 406,
        delta: 200,
        newTotalWithApis: 596,
      });
    }
    expect(priceRecommendation('multi_region', stage4)).toMatchObject({ kind: 'stage', stage: { number: 5 } });
  });

  it('no step but multi-region ever prices a multi-region stage', () => {
    for (const current of [{ tier: 'CPX41' }, { tier: 'CCX63' }, { stage: 1 }, { stage: 2 }, { stage: 3 }, { stage: 4 }]) {
      for (const step of ['vertical', 'database', 'horizontal'] as const) {
        const price = priceRecommendation(step, at(GUIDE, current));
        expect(price.kind === 'stage' && price.stage.adds.includes('multi_region'), `${step} from ${JSON.stringify(current)}`).toBe(false);
      }
    }
  });

  it('from the last stage: no further stage to price', () => {
    expect(priceRecommendation('horizontal', at(GUIDE, { stage: 5 }))).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/no stage after stage 5/),
    });
  });
});

describe('projectCosts', () => {
  it("keeps the guide's own year one beside ours: $240, $290, $380, $550, $4,380 in all", () => {
    const projection = projectCosts(advisor.projection, GUIDE, RULE);
    expect(projection.rows.map((row) => [row.months, row.guide?.architecture, row.guide?.monthly, row.guide?.cumulative])).toEqual([
      ['1-3', 'Single 16GB VPS', 240, 720],
      ['4-6', 'Single 32GB VPS', 290, 1590],
      ['7-9', '32GB VPS + DB', 380, 2730],
      ['10-12', '2× App + DB + Replica', 550, 4380],
    ]);
    expect(projection).toMatchObject({ total: 3453, guideTotal: 4380 });
    // "Compare to AWS: ~$18,000 for same capacity. Savings: $13,620 (76%)"
    expect(compareWithAws(advisor.awsYearOne, projection)).toEqual({
      awsYearOne: 18000,
      guideTotal: 4380,
      guideSavings: 13620,
      guideSavingsPercent: 76,
      ours: { total: 3453, savings: 14547, savingsPercent: 81 },
    });
    expect(compareWithAws(null, projection)).toBeNull();
    expect(compareWithAws(18000, projectCosts([{ months: 12, users: 500 }], GUIDE, RULE))).toBeNull();
  });

  it("prices the guide's year-one scenario with the tables and the guide's rule", () => {
    const { rows, total } = projectCosts(advisor.projection, GUIDE, RULE);
    expect(rows.map((row) => [row.months, row.users, row.architecture, row.monthly, row.cumulative])).toEqual([
      ['1-3', 500, 'CPX41 (one server)', 225, 675],
      ['4-6', 2000, 'CPX51 (one server)', 240, 1395],
      ['7-9', 5000, 'CPX61 (one server)', 290, 2265],
      ['10-12', 10000, 'stage 4: Read replicas', 396, 3453],
    ]);
    expect(total).toBe(3453);
  });
});

describe('formatting', () => {
  it('dollars, deltas and capacities', () => {
    expect(formatDollars(1200)).toBe('$1,200');
    expect(formatDelta(15)).toBe('+$15');
    expect(formatDelta(-15)).toBe('−$15');
    expect(formatDelta(0)).toBe('±$0');
    expect(formatCapacity({ min: 20000, max: null })).toBe('20,000+ users');
    expect(formatCapacity({ min: 500, max: 1000 })).toBe('500-1,000 users');
  });
});
