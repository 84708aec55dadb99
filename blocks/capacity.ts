import {
  describeTier,
  formatCapacity,
  formatDelta,
  formatDollars,
  type Plan,
  type Price,
  type ProjectionRow,
  type ResolvedCurrent,
  type Stage,
  type StageServer,
  type Tier,
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
      return [
        `*Next stage:* ${stage.number}. ${escapeMrkdwn(stage.name)}, sized for ${formatCapacity(stage.capacity)}`,
        ...describeStage(stage),
        describeCost(price, now, apiMonthly),
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

/** The `/scale plan <users>` answer. */
export function buildPlanBlocks(plan: Plan): Message {
  const users = plan.users.toLocaleString('en-US');
  const load = plan.dau === null ? `${users} concurrent users` : `${plan.dau.toLocaleString('en-US')} daily active users (≈ ${users} concurrent)`;
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: truncateText(`Plan for ${load}`, SLACK_LIMITS.headerText) } }];

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
          `${horizontalMark}*Horizontal (the guide's stages):* stage ${stage.number}. ${escapeMrkdwn(stage.name)}, sized for ${formatCapacity(stage.capacity)}`,
          ...describeStage(stage),
          `${formatDollars(stage.monthly)}/month (${formatDelta(plan.horizontal.delta!)} against now), ` +
            `*${formatDollars(plan.horizontal.totalWithApis!)}/month* with the APIs`,
        ].join('\n'),
      ),
    );
  } else {
    blocks.push(section(`*Horizontal (the guide's stages):* no stage is sized for ${users} users.`));
  }

  const limit = plan.verticalUntilUsers.toLocaleString('en-US');
  const chosen = plan.recommended === 'vertical' ? tier?.name : stage ? `stage ${stage.number}` : undefined;
  blocks.push(
    section(
      `*The guide's rule:* vertical scaling until about ${limit} users, then horizontal (better availability and performance). ` +
        (chosen ? `For ${users} users: *${plan.recommended}*, ${escapeMrkdwn(chosen)}.` : `Nothing in the tables carries ${users} users.`),
    ),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Now: ${describeNow(plan.current, plan.apiMonthly)}. Prices from the config's \`pricing\` and \`stages\`.` }],
    },
  );
  const verticalBrief = tier ? `${tier.name} ${formatDollars(plan.vertical.totalWithApis!)}/month` : 'none';
  const horizontalBrief = stage ? `stage ${stage.number} ${formatDollars(plan.horizontal.totalWithApis!)}/month` : 'none';
  const fallback = `Plan for ${load}: vertical ${verticalBrief}, horizontal ${horizontalBrief}; the guide's rule says ${plan.recommended}`;
  return { text: fallback, blocks };
}

export interface CostBlocksInput {
  readonly current: ResolvedCurrent;
  readonly apiMonthly: number;
  readonly projection: { readonly rows: readonly ProjectionRow[]; readonly total: number | null };
}

/** A fixed-width table for a code block: Slack has no table block for messages. */
export function formatProjectionTable(rows: readonly ProjectionRow[], total: number | null): string {
  const header = ['Months', 'Users', 'Architecture', 'Monthly', 'Cumulative'];
  const body = rows.map((row) => [
    row.months,
    row.users.toLocaleString('en-US'),
    row.architecture,
    row.monthly === null ? '-' : formatDollars(row.monthly),
    row.cumulative === null ? '-' : formatDollars(row.cumulative),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const right = new Set([1, 3, 4]);
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (right.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...body.map(line)];
  if (total !== null) lines.push(`Year one: ${formatDollars(total)}`);
  return lines.join('\n');
}

/** The `/scale cost` answer: what runs now and the guide's year-one scenario, priced with the config's tables. */
export function buildCostBlocks(input: CostBlocksInput): Message {
  const { current } = input;
  const now = [`*Now:* ${describeNow(current, input.apiMonthly)}`];
  if (current.stage) now.push(...describeStage(current.stage));
  else if (current.tier) now.push(`• ${tierLine(current.tier)}`);
  const blocks: Block[] = [{ type: 'header', text: { type: 'plain_text', text: 'Monthly cost' } }, section(now.join('\n'))];
  if (input.projection.rows.length > 0) {
    // Code-block text is escaped like any mrkdwn: `&`, `<` and `>` would otherwise be read as markup.
    const table = escapeMrkdwn(formatProjectionTable(input.projection.rows, input.projection.total));
    blocks.push(
      section(`*Year one* (the guide's growth scenario, each period on what \`/scale plan\` picks for its users, APIs included)\n\`\`\`\n${table}\n\`\`\``),
    );
  }
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text:
          'Prices and the scenario come from the config (`pricing`, `stages`, `api_costs`, `current`, `projection`); ' +
          '`/scale plan <users>` prices any load.',
      },
    ],
  });
  const total = input.projection.total === null ? '' : `; year one ${formatDollars(input.projection.total)}`;
  return { text: `Monthly cost now: ${formatDollars(current.monthly + input.apiMonthly)} (${current.label})${total}`, blocks };
}
