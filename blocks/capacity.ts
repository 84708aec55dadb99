import {
  describeTier,
  formatCapacity,
  formatDelta,
  formatDollars,
  type AwsComparison,
  type GuideFigure,
  type Plan,
  type Price,
  type Projection,
  type ProjectionRow,
  type ResolvedCurrent,
  type Stage,
  type StageServer,
  type Tier,
  type TrafficScope,
} from '../core/capacity.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

const ROLE_NAMES: Record<StageServer['role'], string> = {
  everything: 'everything',
  app: 'app',
  database: 'database',
  database_replica: 'database replica',
};

/** "2 × app: CPX41 (16 GB), $35 each" */
function describeServer(server: StageServer): string {
  const what = server.tier ? `${server.tier} (${server.size})` : server.size;
  const count = server.count > 1 ? `${server.count} × ` : '';
  const each = server.count > 1 ? ' each' : '';
  const note = server.note ? ` (${escapeMrkdwn(server.note)})` : '';
  return `${count}${ROLE_NAMES[server.role]}${note}: ${escapeMrkdwn(what)}, ${formatDollars(server.monthly)}${each}`;
}

/** A stage's servers, load balancer and total, one bullet each. */
export function describeStage(stage: Stage): string[] {
  const parts = stage.servers.map((server) => `• ${describeServer(server)}`);
  if (stage.loadBalancer) parts.unshift(`• load balancer: ${escapeMrkdwn(stage.loadBalancer.name)}, ${formatDollars(stage.loadBalancer.monthly)}`);
  const sum = stage.servers.reduce((total, server) => total + server.count * server.monthly, stage.loadBalancer?.monthly ?? 0);
  if (stage.monthly > sum) parts.push(`• other costs: ${formatDollars(stage.monthly - sum)} (the config sets the stage's total)`);
  return parts;
}

/** "$1,200+" where the guide gives a floor. */
function guideAmount(figure: GuideFigure): string {
  return `${formatDollars(figure.totalWithApis)}${figure.orMore ? '+' : ''}`;
}

/**
 * The guide's own figures for an architecture beside ours, each with why they differ: "The guide's stage 4
 * heading: $550; priced from the `pricing` table: $396 (…)". Nothing when the guide says what we say.
 */
export function describeGuideFigures(stage: Stage, apiMonthly: number): string[] {
  const ours = stage.monthly + apiMonthly;
  return stage.guide
    .filter((figure) => figure.orMore || figure.totalWithApis !== ours || (figure.users !== null && figure.users !== stage.capacity.max))
    .map((figure) => {
      const without = figure.monthly === null ? '' : ` (${formatDollars(figure.monthly)} without them)`;
      const users = figure.users === null ? '' : `, for ${figure.users.toLocaleString('en-US')} users`;
      return (
        `_The guide's figure, ${escapeMrkdwn(figure.where)}: ${guideAmount(figure)}/month with the APIs${without}${users}; ` +
        `priced from the \`pricing\` table: ${formatDollars(ours)}. Why: ${escapeMrkdwn(figure.why)}._`
      );
    });
}

function tierLine(tier: Tier): string {
  return `${escapeMrkdwn(tier.name)}: ${describeTier(tier)}, ${formatDollars(tier.monthly)}/month, sized for ${formatCapacity(tier.capacity)}`;
}

/** The price part of an advice: the next tier or stage, what it costs a month and how much more than now. */
export function describePrice(price: Price, apiMonthly: number, currentLabel: string): string {
  const now = `${escapeMrkdwn(currentLabel)} at ${formatDollars(price.currentMonthly)}`;
  switch (price.kind) {
    case 'unavailable':
      return `*Cost:* :warning: ${escapeMrkdwn(price.reason)}. Now: ${now}/month.`;
    case 'tier': {
      const lines = price.upgrades.map((upgrade) => {
        const who = upgrade.count > 1 ? `${upgrade.servers} (${upgrade.count} ×)` : upgrade.servers;
        return `*Next tier* for ${who}: ${tierLine(upgrade.to)} (now ${escapeMrkdwn(upgrade.from.name)}, ${formatDollars(upgrade.from.monthly)})`;
      });
      lines.push(describeCost(price, now, apiMonthly));
      return lines.join('\n');
    }
    case 'stage': {
      const { stage } = price;
      const heading =
        stage.table === 'stages'
          ? `*Next stage:* ${stage.number}. ${escapeMrkdwn(stage.name)}`
          : `*Next:* ${escapeMrkdwn(stage.name)} (the guide's Horizontal Scaling Costs table, past its stages)`;
      return [
        `${heading}, sized for ${formatCapacity(stage.capacity)}`,
        ...describeStage(stage),
        describeCost(price, now, apiMonthly),
        ...describeGuideFigures(stage, apiMonthly),
      ].join('\n');
    }
  }
}

function describeCost(price: Exclude<Price, { kind: 'unavailable' }>, now: string, apiMonthly: number): string {
  return (
    `*Cost:* ${formatDollars(price.newMonthly)}/month, ${formatDelta(price.delta)} against ${now}; ` +
    `*${formatDollars(price.newTotalWithApis)}/month* with the APIs (${formatDollars(apiMonthly)}).`
  );
}

function describeNow(current: ResolvedCurrent, apiMonthly: number): string {
  const total = formatDollars(current.monthly + apiMonthly);
  return `${escapeMrkdwn(current.label)}: ${formatDollars(current.monthly)}/month + ${formatDollars(apiMonthly)} APIs = *${total}/month*`;
}

function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: truncateText(text, SLACK_LIMITS.sectionText) } };
}

/** "stage 4. Read replicas" or the horizontal row's own name, with where it comes from. */
function architectureHeading(stage: Stage): string {
  return stage.table === 'stages'
    ? `*Horizontal (the guide's stages):* stage ${stage.number}. ${escapeMrkdwn(stage.name)}`
    : `*Horizontal (the guide's Horizontal Scaling Costs table):* ${escapeMrkdwn(stage.name)}`;
}

/** "stage 4" or the row's name: the short form for the rule's line and the fallback text. */
function architectureBrief(stage: Stage): string {
  return stage.table === 'stages' ? `stage ${stage.number}` : stage.name;
}

/** Who said whether the traffic is global. */
function describeScope(scope: TrafficScope): string {
  const verdict = scope.global ? 'global' : 'not global';
  switch (scope.source) {
    case 'command':
      return `you said the traffic is ${verdict} (\`--${scope.global ? 'global' : 'not-global'}\`)`;
    case 'config':
      return `the config says the traffic is ${verdict} (\`advisor.global_traffic: ${scope.global}\`)`;
    case 'answer':
      return `<@${scope.by}> answered in \`/scale advise\`${scope.at ? ` on ${scope.at.toISOString().slice(0, 10)}` : ''} that the traffic is ${verdict}`;
    case 'unknown':
      return 'nobody has said the traffic is global';
  }
}

/** Why multi-region is or is not in the plan: the guide sends a team there for global traffic, not for its users. */
function scopeText(plan: Plan): string | null {
  const users = plan.users.toLocaleString('en-US');
  if (plan.multiRegionLeftOut) {
    const stage = plan.multiRegionLeftOut;
    const floor = stage.guide.find((figure) => figure.orMore);
    const price = floor ? `${guideAmount(floor)}/month in the guide` : `${formatDollars(stage.monthly + plan.apiMonthly)}/month`;
    const how =
      plan.scope.source === 'unknown'
        ? ' If it is: answer *Are you serving global traffic?* in `/scale advise`, set `advisor.global_traffic: true`, ' +
          `or type \`/scale plan ${plan.users} --global\`.`
        : '';
    return (
      `:globe_with_meridians: *Multi-region (stage ${stage.number}, ${price}) is left out:* the guide sends a team there for global traffic ` +
      `(“Are you serving global traffic? NO → Horizontal scaling”), not for its number of users, and ${describeScope(plan.scope)}.${how}`
    );
  }
  if (plan.scope.global) {
    const stage = plan.multiRegion;
    const below =
      stage && plan.horizontal.fit !== stage
        ? ` The guide's multi-region stage (${stage.number}) is sized for ${formatCapacity(stage.capacity)}; for ${users}, what carries the load is shown. ` +
          'Its decision tree sends global traffic to multi-region whatever the load: that buys latency, not capacity.'
        : '';
    return `:globe_with_meridians: *Global traffic:* ${describeScope(plan.scope)}, so multi-region stages are offered.${below}`;
  }
  return null;
}

/** Past the largest single-region architecture: what the guide still has to say. */
function beyondText(plan: Plan, largest: Stage | undefined): string {
  const users = plan.users.toLocaleString('en-US');
  const reach = largest?.capacity.max
    ? ` Its largest single-region architecture, ${escapeMrkdwn(largest.name)}, is sized for ${largest.capacity.max.toLocaleString('en-US')} users.`
    : '';
  return (
    `*Horizontal:* nothing in the guide's tables carries ${users} users in one region.${reach} ` +
    'Past that the guide gives no architecture or price, only directions: a bigger database server (“good for up to 50K active users”), ' +
    'read replicas for read-heavy loads, managed PostgreSQL, sharding at 100K+ users (“only do if absolutely necessary”), and multi-region ' +
    'for global traffic. Size the next step by load-testing the largest setup (the guide’s k6 tests) rather than by extrapolating its tables.'
  );
}

export interface PlanBlocksOptions {
  /** The largest single-region architecture of the tables, named when a load is beyond it. */
  readonly largestSingleRegion?: Stage;
}

/** The `/scale plan <users>` answer. */
export function buildPlanBlocks(plan: Plan, options: PlanBlocksOptions = {}): Message {
  const users = plan.users.toLocaleString('en-US');
  const load = plan.dau === null ? `${users} concurrent users` : `${plan.dau.toLocaleString('en-US')} daily active users (≈ ${users} concurrent)`;
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: truncateText(`Plan for ${load}`, SLACK_LIMITS.headerText) } }];
  if (plan.dau !== null) {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text:
            `≈ ${users} concurrent at ${plan.dauPerConcurrentUser} daily active users per concurrent user: *our assumption, not the guide's* ` +
            '(its “scale soon” list names 2,000 daily and 500 concurrent users as two separate triggers). ' +
            'Set `advisor.dau_per_concurrent_user` to your own ratio, or give `/scale plan <concurrent users>`.',
        },
      ],
    });
  }

  const tier = plan.vertical.fit;
  const verticalMark = plan.recommended === 'vertical' ? ':point_right: ' : '';
  if (tier) {
    const gap = plan.users < tier.capacity.min ? `\n_No tier is sized for ${users} users exactly; this is the next larger one._` : '';
    blocks.push(
      section(
        `${verticalMark}*Vertical (one bigger server):* ${tierLine(tier)}\n` +
          `${formatDollars(tier.monthly)}/month (${formatDelta(plan.vertical.delta!)} against now), ` +
          `*${formatDollars(plan.vertical.totalWithApis!)}/month* with the APIs${gap}`,
      ),
    );
  } else {
    blocks.push(section(`*Vertical (one bigger server):* no tier of the pricing table is sized for ${users} users: vertical scaling has run out.`));
  }

  const stage = plan.horizontal.fit;
  const horizontalMark = plan.recommended === 'horizontal' ? ':point_right: ' : '';
  if (stage) {
    blocks.push(
      section(
        [
          `${horizontalMark}${architectureHeading(stage)}, sized for ${formatCapacity(stage.capacity)}`,
          ...describeStage(stage),
          `${formatDollars(stage.monthly)}/month (${formatDelta(plan.horizontal.delta!)} against now), ` +
            `*${formatDollars(plan.horizontal.totalWithApis!)}/month* with the APIs`,
          ...describeGuideFigures(stage, plan.apiMonthly),
        ].join('\n'),
      ),
    );
  } else if (plan.scope.global) {
    blocks.push(section(`*Horizontal:* no stage is sized for ${users} users.`));
  } else {
    blocks.push(section(beyondText(plan, options.largestSingleRegion)));
  }
  const scope = scopeText(plan);
  if (scope) blocks.push(section(scope));

  const limit = plan.verticalUntilUsers.toLocaleString('en-US');
  const chosen = plan.recommended === 'vertical' ? tier?.name : stage ? architectureBrief(stage) : undefined;
  const outrun = plan.recommended === 'vertical' && plan.users > plan.verticalUntilUsers && tier;
  const verdict = outrun
    ? `For ${users} users the rule says horizontal, but nothing horizontal in the tables carries them${plan.scope.global ? '' : ' in one region'}: ` +
      `the only entry that does is *${escapeMrkdwn(tier.name)}*, one server (the guide: “Single point of failure remains”).`
    : chosen
      ? `For ${users} users: *${plan.recommended}*, ${escapeMrkdwn(chosen)}.`
      : `Nothing in the tables carries ${users} users.`;
  blocks.push(section(`*The guide's rule:* vertical scaling until about ${limit} users, then horizontal (better availability and performance). ${verdict}`), {
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text:
          `Now: ${describeNow(plan.current, plan.apiMonthly)}. Prices from the config's \`pricing\` (by default the guide's Cost Comparison table), ` +
          'one list for every table: where the guide prints another figure, it is shown beside ours.',
      },
    ],
  });
  const verticalBrief = tier ? `${tier.name} ${formatDollars(plan.vertical.totalWithApis!)}/month` : 'none';
  const horizontalBrief = stage ? `${architectureBrief(stage)} ${formatDollars(plan.horizontal.totalWithApis!)}/month` : 'none';
  const fallback = `Plan for ${load}: vertical ${verticalBrief}, horizontal ${horizontalBrief}; the guide's rule says ${plan.recommended}`;
  return { text: fallback, blocks };
}

export interface CostBlocksInput {
  readonly current: ResolvedCurrent;
  readonly apiMonthly: number;
  readonly projection: Projection;
  /** The guide's AWS comparison, when the config keeps it and the scenario is the guide's. */
  readonly aws?: AwsComparison | null;
  readonly scope?: TrafficScope;
}

/** A fixed-width table for a code block: Slack has no table block for messages. */
function fixedWidth(header: readonly string[], body: readonly (readonly string[])[], right: ReadonlySet<number>): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (right.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...body.map(line)];
}

export function formatProjectionTable(rows: readonly ProjectionRow[], total: number | null): string {
  const body = rows.map((row) => [
    row.months,
    row.users.toLocaleString('en-US'),
    row.architecture,
    row.monthly === null ? '-' : formatDollars(row.monthly),
    row.cumulative === null ? '-' : formatDollars(row.cumulative),
  ]);
  const lines = fixedWidth(['Months', 'Users', 'Architecture', 'Monthly', 'Cumulative'], body, new Set([1, 3, 4]));
  if (total !== null) lines.push(`Year one: ${formatDollars(total)}`);
  return lines.join('\n');
}

/** The guide's own year-one table, as it prints it (only the periods that carry its figures). */
export function formatGuideProjectionTable(rows: readonly ProjectionRow[], total: number | null): string {
  const body = rows.flatMap((row) =>
    row.guide
      ? [[row.months, row.users.toLocaleString('en-US'), row.guide.architecture, formatDollars(row.guide.monthly), formatDollars(row.guide.cumulative)]]
      : [],
  );
  const lines = fixedWidth(['Months', 'Users', 'Architecture', 'Monthly', 'Cumulative'], body, new Set([1, 3, 4]));
  if (total !== null) lines.push(`Year one: ${formatDollars(total)}`);
  return lines.join('\n');
}

function awsText(aws: AwsComparison): string {
  const guide =
    `*Compared with AWS, in the guide's words:* “~${formatDollars(aws.awsYearOne)} for same capacity”, ` +
    `saving ${formatDollars(aws.guideSavings)} (${aws.guideSavingsPercent} %) on its ${formatDollars(aws.guideTotal)}.`;
  const ours = aws.ours
    ? ` The guide names no AWS services or prices, so the bot cannot price that side; against our ${formatDollars(aws.ours.total)} the same estimate ` +
      `would save ${formatDollars(aws.ours.savings)} (${aws.ours.savingsPercent} %).`
    : ' The guide names no AWS services or prices, so the bot cannot price that side.';
  return guide + ours;
}

/** The `/scale cost` answer: what runs now and the guide's year-one scenario, priced with the config's tables, beside the guide's own. */
export function buildCostBlocks(input: CostBlocksInput): Message {
  const { current, projection } = input;
  const now = [`*Now:* ${describeNow(current, input.apiMonthly)}`];
  if (current.stage) now.push(...describeStage(current.stage), ...describeGuideFigures(current.stage, input.apiMonthly));
  else if (current.tier) now.push(`• ${tierLine(current.tier)}`);
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: 'Monthly cost' } }, section(now.join('\n'))];
  if (projection.rows.length > 0) {
    // Code-block text is escaped like any mrkdwn: `&`, `<` and `>` would otherwise be read as markup.
    const table = escapeMrkdwn(formatProjectionTable(projection.rows, projection.total));
    blocks.push(
      section(
        "*Year one* (the guide's growth scenario, each period on what `/scale plan` picks for its users, priced from the `pricing` table, APIs included)\n" +
          `\`\`\`\n${table}\n\`\`\``,
      ),
    );
  }
  if (projection.guideTotal !== null && projection.total !== null) {
    const table = escapeMrkdwn(formatGuideProjectionTable(projection.rows, projection.guideTotal));
    blocks.push(
      section(
        `*The guide's own table* (its hand-picked architectures and prices)\n\`\`\`\n${table}\n\`\`\`\n` +
          `The guide's table: *${formatDollars(projection.guideTotal)}*; priced from the \`pricing\` table: *${formatDollars(projection.total)}*. ` +
          'One price list for every table, so that a difference between two options means something.',
      ),
    );
    const whys = projection.rows.flatMap((row) =>
      row.guide && row.monthly !== row.guide.monthly
        ? [
            `• ${row.months}: its ${escapeMrkdwn(row.guide.architecture)} at ${formatDollars(row.guide.monthly)}, ` +
              `ours ${row.monthly === null ? '-' : formatDollars(row.monthly)}: ${escapeMrkdwn(row.guide.why)}`,
          ]
        : [],
    );
    if (whys.length > 0) blocks.push(section(`*Why they differ*\n${whys.join('\n')}`));
  }
  if (input.aws) blocks.push(section(awsText(input.aws)));
  const scope = input.scope;
  const scopeLine = scope?.global
    ? ' Global traffic: multi-region stages are priced where they fit.'
    : ' Multi-region only for global traffic (`advisor.global_traffic`, `/scale advise`, or `/scale cost --global`).';
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text:
          'Prices and the scenario come from the config (`pricing`, `stages`, `horizontal`, `api_costs`, `current`, `projection`); ' +
          `\`/scale plan <users>\` prices any load.${scopeLine}`,
      },
    ],
  });
  const total = projection.total === null ? '' : `; year one ${formatDollars(projection.total)}`;
  const guide = projection.guideTotal === null ? '' : ` (the guide's table: ${formatDollars(projection.guideTotal)})`;
  return { text: `Monthly cost now: ${formatDollars(current.monthly + input.apiMonthly)} (${current.label})${total}${guide}`, blocks };
}
