import { describe, expect, it } from 'vitest';
import { buildAdviceBlocks, describeEvidence, RECOMMENDATION_TITLES, type AdviceBlocksInput } from '../../blocks/advice.ts';
import { buildCostBlocks, buildPlanBlocks, formatProjectionTable } from '../../blocks/capacity.ts';
import { loadConfig } from '../../bot/config.ts';
import { RECOMMENDATIONS, type EvidenceLine, type Step, type Walk } from '../../core/advisor.ts';
import { compareWithAws, planFor, priceRecommendation, projectCosts, resolveCurrent, type ScalingStep } from '../../core/capacity.ts';
import { checkBlockKitLimits } from '../helpers/slack/index.ts';

const { capacity, advisor } = loadConfig();
const AT = new Date('2026-03-14T02:00:00Z');

function evidenceLine(overrides: Partial<EvidenceLine> = {}): EvidenceLine {
  return {
    trigger: 'advisor_cpu',
    name: 'CPU usage',
    labels: { instance: 'web-1:9100' },
    state: 'breached',
    value: 0.83,
    unit: 'percent',
    op: '>',
    threshold: 0.8,
    forSeconds: 900,
    heldSeconds: 1800,
    heldWholeWindow: true,
    ...overrides,
  };
}

function input(walk: Walk, extra: Partial<AdviceBlocksInput> = {}): AdviceBlocksInput {
  const price =
    walk.recommendation && ['vertical', 'database', 'horizontal', 'multi_region'].includes(walk.recommendation)
      ? priceRecommendation(walk.recommendation as ScalingStep, capacity)
      : null;
  return {
    walk,
    evaluatedAt: AT,
    price,
    apiMonthly: capacity.apiMonthly,
    currentLabel: resolveCurrent(capacity).label,
    cpuMemoryThreshold: 0.8,
    optimizationChecklist: 'optimize',
    ...(walk.recommendation && advisor.start[walk.recommendation] ? { startTarget: advisor.start[walk.recommendation]! } : {}),
    adviceId: 42,
    ...extra,
  };
}

const degraded: Step = { question: 'degraded', answer: 'yes', source: 'metrics', evidence: [evidenceLine({ trigger: 'cpu', threshold: 0.7 })] };
const optimized: Step = {
  question: 'optimized',
  answer: 'yes',
  source: 'person',
  evidence: [],
  by: 'U0123',
  at: AT,
  expiresAt: new Date(AT.getTime() + 30 * 86400_000),
};
const cpuYes: Step = { question: 'cpu_memory', answer: 'yes', source: 'metrics', evidence: [evidenceLine()] };

function texts(blocks: readonly unknown[] | undefined): string {
  return JSON.stringify(blocks);
}

describe('the advice message', () => {
  it('shows the path step by step with its evidence, the recommendation, its price and the Start button', () => {
    const message = buildAdviceBlocks(input({ recommendation: 'vertical', path: [degraded, optimized, cpuYes] }));
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    const all = texts(message.blocks);
    expect(message.text).toBe('Advice: Vertical scaling: upgrade the VPS (CPX51)');
    expect(all).toContain('*1. Is performance degraded?*  *Yes*');
    expect(all).toContain('*3. Is CPU or memory above 80 %?*  *Yes*');
    expect(all).toContain('CPU usage `instance=web-1:9100`: 83 % &gt; 80 % for ≥ 30 min (needs 15 min)');
    expect(all).toContain('Answered by <@U0123>');
    expect(all).toContain('Asked before anything that costs money');
    expect(all).toContain('*Next tier* for the server: CPX51: 32 GB RAM, 16 vCPU, 360 GB storage, $50/month, sized for 2,000-3,000 users');
    expect(all).toContain('+$15 against CPX41 (one server) at $35; *$240/month* with the APIs ($190)');
    expect(message.blocks).toContainEqual(
      expect.objectContaining({
        type: 'actions',
        elements: expect.arrayContaining([
          expect.objectContaining({ action_id: 'advise_start', value: 'checklist:before', text: { type: 'plain_text', text: 'Start checklist: before' } }),
        ]),
      }),
    );
    expect(message.blocks).toContainEqual(
      expect.objectContaining({ block_id: 'advise_step_optimized', accessory: expect.objectContaining({ action_id: 'advise_change_optimized' }) }),
    );
  });

  // The guide: "Minimal downtime (5-10 minutes)" under Pros, "Migration (1-2 hours)" in its steps, which stop
  // the app before the backup and the rsync. The runbooks copy the bulk while the app runs.
  it('vertical: the downtime of each migration path as the runbooks do it, the guide’s two figures said for what they are', () => {
    const path = [degraded, optimized, cpuYes];
    const both = texts(
      buildAdviceBlocks(input({ recommendation: 'vertical', path }, { runbooks: new Set(['vertical-migration', 'vertical-migration-restore', 'backup']) }))
        .blocks,
    );
    expect(both).toContain(
      '• *rsync* (`/scale run vertical-migration`): copy the app and its data to the new server while it runs, stop it, then a final rsync',
    );
    expect(both).toContain('*down for the final rsync*');
    expect(both).toContain('• *backup and restore* (`/scale run vertical-migration-restore`): back up while the app runs, stop it, take a final dump');
    expect(both).toContain('*down for the final dump, the copy and the restore together*');
    expect(both).toContain('The guide promises “minimal downtime (5-10 minutes)”, but its own steps stop the app first');
    expect(both).toContain('(“Migration (1-2 hours)”)');
    expect(both).not.toContain('5-10 minutes of downtime');
    // A runbook the config lacks is described, not offered as a command.
    const rsyncOnly = texts(buildAdviceBlocks(input({ recommendation: 'vertical', path }, { runbooks: new Set(['vertical-migration']) })).blocks);
    expect(rsyncOnly).toContain('`/scale run vertical-migration`');
    expect(rsyncOnly).not.toContain('vertical-migration-restore');
    expect(rsyncOnly).toContain('• *backup and restore*: back up while the app runs');
  });

  it('global traffic set in the config: said so, with no Change button', () => {
    const path: Step[] = [
      degraded,
      optimized,
      { question: 'cpu_memory', answer: 'no', source: 'metrics', evidence: [] },
      { question: 'database', answer: 'no', source: 'metrics', evidence: [] },
      { question: 'global_traffic', answer: 'no', source: 'config', evidence: [] },
    ];
    const message = buildAdviceBlocks(input({ recommendation: 'horizontal', path }));
    expect(texts(message.blocks)).toContain('The config says so: `advisor.global_traffic: false`.');
    expect(message.blocks!.find((block) => block.block_id === 'advise_step_global_traffic')).not.toHaveProperty('accessory');
  });

  it('asks a pending question with Yes and No and no Start button', () => {
    const pending: Step = { question: 'optimized', answer: 'pending', source: 'person', evidence: [] };
    const message = buildAdviceBlocks(input({ path: [degraded, pending], pendingQuestion: 'optimized' }));
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    expect(message.text).toBe('Advice: one question first: Have you optimized first?');
    const answer = message.blocks!.find((block) => block.block_id === 'advise_answer_optimized');
    expect(answer).toMatchObject({
      type: 'actions',
      elements: [
        { action_id: 'advise_yes', value: 'optimized' },
        { action_id: 'advise_no', value: 'optimized' },
      ],
    });
    expect(texts(message.blocks)).not.toContain('advise_start');
    expect(texts(message.blocks)).toContain('double your capacity for $0');
  });

  it.each(RECOMMENDATIONS)('fits Slack for "%s", with 200 series of evidence, long labels and a long failure', (recommendation) => {
    const many = Array.from({ length: 200 }, (_, i) =>
      evidenceLine({ labels: { instance: `web-${i}-${'x'.repeat(120)}`, '<job>': '&' }, reason: 'r'.repeat(400) }),
    );
    const path: Step[] = [
      { ...degraded, evidence: many },
      { ...optimized, answer: recommendation === 'optimize_first' ? 'no' : 'yes' },
      { question: 'cpu_memory', answer: recommendation === 'vertical' ? 'yes' : 'no', source: 'metrics', evidence: many, note: 'n'.repeat(4000) },
      {
        question: 'database',
        answer: recommendation === 'database' ? 'yes' : 'no',
        source: 'person',
        evidence: many,
        by: 'U1',
        at: AT,
        note: 'Prometheus has no data',
      },
      { question: 'global_traffic', answer: recommendation === 'multi_region' ? 'yes' : 'no', source: 'person', evidence: [], by: 'U2', at: AT },
    ];
    const cut =
      recommendation === 'dont_scale' ? 1 : recommendation === 'optimize_first' ? 2 : recommendation === 'vertical' ? 3 : recommendation === 'database' ? 4 : 5;
    const message = buildAdviceBlocks(input({ recommendation, path: path.slice(0, cut) }, { failure: 'f'.repeat(5000) }));
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    expect(texts(message.blocks)).toContain(RECOMMENDATION_TITLES[recommendation]);
    expect(texts(message.blocks)).toContain('and 194 more series');
    expect(texts(message.blocks)).not.toMatch(/<job>/);
  });

  it('says when a step was answered by the optimization checklist, and when the next step has no price', () => {
    const checklist: Step = { question: 'optimized', answer: 'yes', source: 'checklist', evidence: [], by: 'checklist', at: AT };
    const message = buildAdviceBlocks(
      input(
        { recommendation: 'vertical', path: [degraded, checklist, cpuYes] },
        { currentLabel: 'CCX63 (one server)', price: { kind: 'unavailable', reason: 'CCX63 is the largest tier in the pricing table', currentMonthly: 400 } },
      ),
    );
    expect(texts(message.blocks)).toContain('The `optimize` checklist was completed');
    expect(texts(message.blocks)).toContain(':warning: CCX63 is the largest tier in the pricing table. Now: CCX63 (one server) at $400/month.');
  });

  it('describes evidence in every state', () => {
    expect(describeEvidence(evidenceLine({ state: 'pending', heldSeconds: 360, heldWholeWindow: false }))).toBe(
      'CPU usage `instance=web-1:9100`: 83 % &gt; 80 %, but only for 6 min of 15 min',
    );
    expect(describeEvidence(evidenceLine({ state: 'ok', value: 0.41, labels: {} }))).toBe('CPU usage: 41 %, not &gt; 80 %');
    expect(describeEvidence(evidenceLine({ state: 'breached', forSeconds: 0, labels: {}, name: 'Database connections (of max)', value: 0.9 }))).toBe(
      'Database connections (of max): 90 % &gt; 80 %',
    );
    expect(describeEvidence(evidenceLine({ state: 'no_data', value: null, labels: {}, reason: 'the query returned no series at this time' }))).toBe(
      'CPU usage: no data (the query returned no series at this time)',
    );
  });
});

describe('the plan and cost messages', () => {
  it.each([500, 1000, 1500, 3000, 5000, 8000, 12000, 15000, 20000])('plan for %i users fits Slack and names the tier, the stage and the rule', (users) => {
    for (const global of [false, true]) {
      const message = buildPlanBlocks(planFor({ users }, capacity, advisor.plan, { global, source: 'command' }));
      expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    }
    const message = buildPlanBlocks(planFor({ users }, capacity, advisor.plan));
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    expect(texts(message.blocks)).toContain("*The guide's rule:* vertical scaling until about 5,000 users");
  });

  it('plan marks the gap between the guide’s tiers', () => {
    expect(texts(buildPlanBlocks(planFor({ users: 1500 }, capacity, advisor.plan)).blocks)).toContain('No tier is sized for 1,500 users exactly');
  });

  it('cost shows now and the year-one table', () => {
    const projection = projectCosts(advisor.projection, capacity, advisor.plan);
    const message = buildCostBlocks({
      current: resolveCurrent(capacity),
      apiMonthly: capacity.apiMonthly,
      projection,
      aws: compareWithAws(advisor.awsYearOne, projection),
    });
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
    expect(message.text).toBe("Monthly cost now: $225 (CPX41 (one server)); year one $3,453 (the guide's table: $4,380)");
    expect(formatProjectionTable(projectCosts(advisor.projection, capacity, advisor.plan).rows, 3453)).toBe(
      [
        'Months   Users  Architecture            Monthly  Cumulative',
        '1-3        500  CPX41 (one server)         $225        $675',
        '4-6      2,000  CPX51 (one server)         $240      $1,395',
        '7-9      5,000  CPX61 (one server)         $290      $2,265',
        '10-12   10,000  stage 4: Read replicas     $396      $3,453',
        'Year one: $3,453',
      ].join('\n'),
    );
  });
});
