import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import {
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
} from '../../core/capacity.ts';

const { capacity: GUIDE, advisor } = loadConfig();
const RULE = advisor.plan;
const at = (tables: CapacityTables, current: CapacityTables['current']): CapacityTables => ({ ...tables, current });

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
    [20000, 'horizontal', 590, 1200],
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
    const fewStages: CapacityTables = { ...GUIDE, stages: GUIDE.stages.slice(0, 2) };
    expect(planFor({ users: 6000 }, fewStages, RULE)).toMatchObject({ recommended: 'vertical', horizontal: { fit: undefined } });
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

  it('from the last stage: no further stage to price', () => {
    expect(priceRecommendation('horizontal', at(GUIDE, { stage: 5 }))).toMatchObject({
      kind: 'unavailable',
      reason: expect.stringMatching(/no stage after stage 5/),
    });
  });
});

describe('projectCosts', () => {
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
