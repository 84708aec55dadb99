import type { Button } from '@slack/types';
import {
  isQuestionId,
  type Answer,
  type EvidenceLine,
  type ForecastCitation,
  type QuestionId,
  type Recommendation,
  type Step,
  type Walk,
} from '../core/advisor.ts';
import type { Price, Stage } from '../core/capacity.ts';
import { formatDuration } from '../core/duration.ts';
import { formatValue } from '../core/units.ts';
import { describePrice } from './capacity.ts';
import { describeLabels } from './status.ts';
import { escapeMrkdwn, SLACK_LIMITS, truncateText, type Block, type Message } from './types.ts';

/** Action ids of the advice message; one listener (bot/listeners/advise-actions.ts) serves /^advise_/. */
export const ADVISE_ACTIONS = {
  yes: 'advise_yes',
  no: 'advise_no',
  start: 'advise_start',
  refresh: 'advise_refresh',
  /** advise_change_<question>: ask a remembered question again. */
  changePrefix: 'advise_change_',
} as const;

/** A click on one of the advice message's buttons, as parseAdviseAction reads it. */
export type AdviseAction =
  | { readonly kind: 'answer'; readonly question: QuestionId; readonly answer: Answer }
  | { readonly kind: 'change'; readonly question: QuestionId }
  | { readonly kind: 'refresh' }
  | { readonly kind: 'start'; readonly target: string };

/** Reads a button's action id and value; anything not exactly what the advice message shows is refused. */
export function parseAdviseAction(actionId: string, value: string | undefined, startTargets: readonly string[]): AdviseAction | null {
  if (value === undefined) return null;
  if (actionId === ADVISE_ACTIONS.yes || actionId === ADVISE_ACTIONS.no) {
    return isQuestionId(value) ? { kind: 'answer', question: value, answer: actionId === ADVISE_ACTIONS.yes ? 'yes' : 'no' } : null;
  }
  if (actionId.startsWith(ADVISE_ACTIONS.changePrefix)) {
    const question = actionId.slice(ADVISE_ACTIONS.changePrefix.length);
    return isQuestionId(question) && value === question ? { kind: 'change', question } : null;
  }
  if (actionId === ADVISE_ACTIONS.refresh) return value === 'refresh' ? { kind: 'refresh' } : null;
  // Only a target the config names: a forged value must not reach the dispatcher.
  if (actionId === ADVISE_ACTIONS.start) return startTargets.includes(value) ? { kind: 'start', target: value } : null;
  return null;
}

export function questionText(question: QuestionId, cpuMemoryThreshold: number): string {
  switch (question) {
    case 'degraded':
      return 'Is performance degraded?';
    case 'optimized':
      return 'Have you optimized first?';
    case 'cpu_memory':
      return `Is CPU or memory above ${formatValue(cpuMemoryThreshold, 'percent')}?`;
    case 'database':
      return 'Is the database the bottleneck?';
    case 'global_traffic':
      return 'Are you serving global traffic?';
  }
}

/** What a person is told when a question waits for them. */
function questionHelp(step: Step, optimizationChecklist: string): string {
  switch (step.question) {
    case 'optimized':
      return (
        'The guide: _“Optimization can often double your capacity for $0 cost. Always optimize before scaling!”_ ' +
        'Have you worked through its *Performance Optimization Before Scaling* list (indexes and slow queries, PgBouncer, ' +
        `caching, N+1 queries, CDN, compression)? Completing the \`${escapeMrkdwn(optimizationChecklist)}\` checklist answers Yes.`
      );
    case 'global_traffic':
      return (
        'Are many of your users far from your servers (say, in both the US and the EU)? ' +
        'Yes leads to a multi-region deployment, No to a load balancer and more app servers.'
      );
    default:
      return `${escapeMrkdwn(step.note ?? 'The metrics cannot answer this.')}. Answer from what you see; the answer counts for a short while only.`;
  }
}

export const RECOMMENDATION_TITLES: Record<Recommendation, string> = {
  dont_scale: "Don't scale yet: monitor",
  optimize_first: 'Optimize before scaling',
  vertical: 'Vertical scaling: upgrade the VPS',
  database: 'Separate database server or read replicas',
  horizontal: 'Horizontal scaling: load balancer + more app servers',
  multi_region: 'Multi-region deployment',
};

/** What the guide says about each outcome, shortened. */
const RECOMMENDATION_TEXT: Record<Recommendation, string> = {
  dont_scale: 'Performance is not degraded. The guide: _“Scale when data says you should, not when fear says you might.”_ Keep an eye on `/scale status`.',
  optimize_first:
    'The guide: _“Optimization can often double your capacity for $0 cost. Always optimize before scaling!”_ Database (missing indexes, slow queries, ' +
    'PgBouncer), application (caching, pagination, N+1 queries), frontend (code splitting, CDN), infrastructure (Nginx workers, HTTP/2, ' +
    'compression). Then ask again. Overloaded right now? The guide’s quick fixes buy time: restart the services, prune Docker data, cache harder.',
  // The downtime of each path is in verticalPaths: it depends on which migration runbooks are configured.
  vertical: 'The easiest step: no architecture changes, the same configuration files. The app is down while it moves; how long depends on the path.',
  database:
    'The database is the bottleneck: give it a server of its own (PostgreSQL, Redis, PgBouncer), or, once it has one, add read replicas for the ' +
    'read queries.',
  horizontal:
    'A load balancer in front of identical, stateless app servers (sessions in Redis, files in shared storage, no local state): high availability ' +
    'and zero-downtime deploys.',
  multi_region:
    'Global low latency and geographic redundancy: a load balancer and app servers in each region, the primary database in one, replicas near ' + 'the users.',
};

/** The vertical migration's two runbooks (config/runbooks.yaml): copy with rsync, or back up and restore. */
export const VERTICAL_RUNBOOKS = { rsync: 'vertical-migration', restore: 'vertical-migration-restore' } as const;

/**
 * The vertical advice's paths and what each costs in downtime, as the runbooks do them: both copy the bulk
 * while the app still runs, and the app is down only for the last part. A runbook the config does not have
 * is described without its command. Then the guide's own figures, and why they disagree.
 */
export function verticalPaths(runbooks: ReadonlySet<string>): string {
  const command = (id: string) => (runbooks.has(id) ? ` (\`/scale run ${id}\`)` : '');
  return [
    `• *rsync*${command(VERTICAL_RUNBOOKS.rsync)}: copy the app and its data to the new server while it runs, stop it, then a final rsync ` +
      'of what changed since: *down for the final rsync*, which grows with how much the data changed during the first copy.',
    `• *backup and restore*${command(VERTICAL_RUNBOOKS.restore)}: back up while the app runs, stop it, take a final dump, copy the dump ` +
      'and restore it on the new server: *down for the final dump, the copy and the restore together*, which grow with the size of the ' +
      'database (a `/scale run test-restore` shows how long the restore takes).',
    'Then start the app on the new server, check its health, point DNS at it, and keep the old server for 24 hours as the way back.',
    '_The guide promises “minimal downtime (5-10 minutes)”, but its own steps stop the app first and then back up and copy everything ' +
      '(“Migration (1-2 hours)”): in that order the app is down for the whole migration. Neither path here does that._',
  ].join('\n');
}

/** "checklist:before" → the button's label and the command a person would type. */
export function describeStartTarget(target: string): { label: string; command: string } {
  const [kind, id = ''] = target.split(':');
  if (kind === 'runbook') return { label: `Start runbook: ${id}`, command: `/scale run ${id}` };
  return { label: `Start checklist: ${id}`, command: `/scale checklist ${id}` };
}

/** One series as evidence: "CPU usage `instance=web-1`: 90 % > 80 % for ≥ 30 min (needs 15 min)". */
export function describeEvidence(line: EvidenceLine): string {
  const labels = describeLabels(line.labels);
  const subject = `${escapeMrkdwn(line.name)}${labels ? ` \`${escapeMrkdwn(labels)}\`` : ''}`;
  if (line.state === 'no_data') return `${subject}: no data${line.reason ? ` (${escapeMrkdwn(line.reason)})` : ''}`;
  const value = formatValue(line.value, line.unit);
  const limit = `${escapeMrkdwn(line.op)} ${formatValue(line.threshold, line.unit)}`;
  switch (line.state) {
    case 'breached':
      if (line.forSeconds === 0) return `${subject}: ${value} ${limit}`;
      return (
        `${subject}: ${value} ${limit} for ${line.heldWholeWindow ? '≥ ' : ''}${formatDuration(line.heldSeconds)}` +
        ` (needs ${formatDuration(line.forSeconds)})`
      );
    case 'pending':
      return `${subject}: ${value} ${limit}, but only for ${formatDuration(line.heldSeconds)} of ${formatDuration(line.forSeconds)}`;
    case 'ok':
      return `${subject}: ${value}, not ${limit}`;
  }
}

function slackDate(date: Date): string {
  return `<!date^${Math.floor(date.getTime() / 1000)}^{date_short_pretty} {time}|${date.toISOString()}>`;
}

const ANSWER_WORDS = { yes: 'Yes', no: 'No', pending: 'waiting for an answer' } as const;
/** Evidence lines under one step before the rest are counted, so a hundred instances still fit. */
const MAX_EVIDENCE_LINES = 6;

function stepBlock(step: Step, index: number, options: AdviceBlocksInput): Block {
  const question = questionText(step.question, options.cpuMemoryThreshold);
  const answer = step.answer === 'pending' ? `_${ANSWER_WORDS.pending}_` : `*${ANSWER_WORDS[step.answer]}*`;
  const lines = [`*${index + 1}. ${question}*  ${answer}`];
  if (step.question === 'optimized')
    lines.push('_Asked before anything that costs money (the guide asks it last, and says “Always optimize before scaling!”)._');
  if (step.source === 'metrics') {
    for (const line of step.evidence.slice(0, MAX_EVIDENCE_LINES)) lines.push(`• ${describeEvidence(line)}`);
    if (step.evidence.length > MAX_EVIDENCE_LINES) lines.push(`• … and ${step.evidence.length - MAX_EVIDENCE_LINES} more series`);
    if (step.note) lines.push(`_${escapeMrkdwn(step.note)}_`);
  } else if (step.answer !== 'pending') {
    const when = step.at ? ` ${slackDate(step.at)}` : '';
    const until = step.expiresAt ? `; counts until ${slackDate(step.expiresAt)}` : '';
    if (step.source === 'checklist') lines.push(`The \`${escapeMrkdwn(options.optimizationChecklist)}\` checklist was completed${when}${until}.`);
    else if (step.source === 'config') lines.push(`The config says so: \`advisor.global_traffic: ${step.answer === 'yes'}\`.`);
    else lines.push(`Answered by <@${step.by}>${when}${until}.`);
    if (step.note) lines.push(`_The metrics could not answer: ${escapeMrkdwn(step.note)}._`);
  }
  const text = truncateText(lines.join('\n'), SLACK_LIMITS.sectionText);
  // An answer from the config changes in the config, not with a button.
  const changeable = step.answer !== 'pending' && step.source !== 'metrics' && step.source !== 'config';
  return {
    type: 'section',
    block_id: `advise_step_${step.question}`,
    text: { type: 'mrkdwn', text },
    ...(changeable
      ? {
          accessory: {
            type: 'button',
            action_id: `${ADVISE_ACTIONS.changePrefix}${step.question}`,
            text: { type: 'plain_text', text: 'Change answer' },
            value: step.question,
          },
        }
      : {}),
  };
}

export interface AdviceBlocksInput {
  readonly walk: Walk;
  readonly evaluatedAt: Date;
  /** Prometheus could not answer at all. */
  readonly failure?: string;
  readonly price: Price | null;
  readonly apiMonthly: number;
  readonly currentLabel: string;
  readonly cpuMemoryThreshold: number;
  readonly optimizationChecklist: string;
  /** "checklist:before": what the Start button starts, if anything. */
  readonly startTarget?: string;
  /** The decision log row of this advice. */
  readonly adviceId?: number;
  /** Triggers forecast to cross within warn_within, soonest first (the evidence's forecasts). */
  readonly forecasts?: readonly ForecastCitation[];
  /** The ids of the configured runbooks: the vertical advice names the migration runbooks that exist. */
  readonly runbooks?: ReadonlySet<string>;
}

/** Forecasts cited under the recommendation, before the list is counted instead. */
const MAX_FORECAST_LINES = 4;

/**
 * "Soon: Concurrent users crosses 500 in ~19 days (Dec 23)": what the trend adds to any answer, and the
 * reason a "don't scale yet" is a "not yet" and not a "never".
 */
export function forecastText(forecasts: readonly ForecastCitation[], recommendation: Recommendation): string | null {
  if (forecasts.length === 0) return null;
  const heading = recommendation === 'dont_scale' ? '*Not yet, but soon:* the trend says' : '*Soon, too:* the trend says';
  const lines = forecasts.slice(0, MAX_FORECAST_LINES).map((citation) => {
    const labels = describeLabels(citation.labels);
    return `• ${escapeMrkdwn(citation.name)}${labels ? ` \`${escapeMrkdwn(labels)}\`` : ''}: ${escapeMrkdwn(citation.summary)}`;
  });
  if (forecasts.length > MAX_FORECAST_LINES) lines.push(`• … and ${forecasts.length - MAX_FORECAST_LINES} more triggers`);
  return `:chart_with_upwards_trend: ${heading}\n${lines.join('\n')}`;
}

/** The `/scale advise` message: the path step by step with evidence, then the question or the recommendation and its price. */
export function buildAdviceBlocks(input: AdviceBlocksInput): Message {
  const { walk } = input;
  const recommendation = walk.recommendation;
  const title = recommendation ? RECOMMENDATION_TITLES[recommendation] : 'One question first';
  const context = [`:compass: The guide's decision tree, walked ${slackDate(input.evaluatedAt)}`];
  if (input.adviceId !== undefined) context.push(`advice #${input.adviceId} in the decision log`);
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: truncateText(`Advice: ${title}`, SLACK_LIMITS.headerText), emoji: true } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] },
  ];
  if (input.failure) {
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: truncateText(
          `:warning: Prometheus could not answer: ${escapeMrkdwn(input.failure)}. The questions it would answer are asked instead.`,
          SLACK_LIMITS.sectionText,
        ),
      },
    });
  }
  blocks.push({ type: 'divider' });
  for (const [index, step] of walk.path.entries()) blocks.push(stepBlock(step, index, input));

  const pending = walk.path.find((step) => step.answer === 'pending');
  if (pending) {
    blocks.push(
      { type: 'section', text: { type: 'mrkdwn', text: truncateText(questionHelp(pending, input.optimizationChecklist), SLACK_LIMITS.sectionText) } },
      {
        type: 'actions',
        block_id: `advise_answer_${pending.question}`,
        elements: [
          { type: 'button', action_id: ADVISE_ACTIONS.yes, text: { type: 'plain_text', text: 'Yes' }, value: pending.question },
          { type: 'button', action_id: ADVISE_ACTIONS.no, text: { type: 'plain_text', text: 'No' }, value: pending.question },
        ],
      },
    );
  }
  if (recommendation) {
    blocks.push(
      { type: 'divider' },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: truncateText(
            `:point_right: *${RECOMMENDATION_TITLES[recommendation]}*\n${RECOMMENDATION_TEXT[recommendation]}` +
              (recommendation === 'vertical' ? `\n${verticalPaths(input.runbooks ?? new Set())}` : ''),
            SLACK_LIMITS.sectionText,
          ),
        },
      },
    );
    const soon = forecastText(input.forecasts ?? [], recommendation);
    if (soon) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncateText(soon, SLACK_LIMITS.sectionText) } });
    const cost = costText(recommendation, input);
    if (cost) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncateText(cost, SLACK_LIMITS.sectionText) } });
  }
  const elements: Button[] = [];
  if (recommendation && input.startTarget) {
    const label = describeStartTarget(input.startTarget).label;
    elements.push({
      type: 'button',
      action_id: ADVISE_ACTIONS.start,
      style: 'primary',
      text: { type: 'plain_text', text: truncateText(label, SLACK_LIMITS.buttonText) },
      value: input.startTarget,
    });
  }
  elements.push({ type: 'button', action_id: ADVISE_ACTIONS.refresh, text: { type: 'plain_text', text: 'Walk the tree again' }, value: 'refresh' });
  blocks.push({ type: 'actions', block_id: 'advise_actions', elements });

  const nextStep =
    input.price && input.price.kind !== 'unavailable'
      ? ` (${input.price.kind === 'tier' ? input.price.upgrades.map((upgrade) => upgrade.to.name).join(', ') : stageBrief(input.price.stage)})`
      : '';
  const fallback = recommendation
    ? `Advice: ${RECOMMENDATION_TITLES[recommendation]}${nextStep}`
    : `Advice: one question first: ${questionText(pending!.question, input.cpuMemoryThreshold)}`;
  return { text: fallback, blocks };
}

function stageBrief(stage: Stage): string {
  return stage.table === 'stages' ? `stage ${stage.number}` : stage.name;
}

function costText(recommendation: Recommendation, input: AdviceBlocksInput): string | null {
  if (recommendation === 'dont_scale') return null;
  if (recommendation === 'optimize_first') return `*Cost:* $0: the same servers, ${escapeMrkdwn(input.currentLabel)}.`;
  if (!input.price) return null;
  return describePrice(input.price, input.apiMonthly, input.currentLabel);
}
