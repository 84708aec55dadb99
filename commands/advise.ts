import { buildAdviceBlocks } from '../blocks/advice.ts';
import { takesNoArguments } from '../blocks/replies.ts';
import type { Message } from '../blocks/types.ts';
import { walkDecisionTree, type QuestionId, type Recommendation, type Walk } from '../core/advisor.ts';
import { gatherWalkInputs } from '../core/advice-evidence.ts';
import { priceRecommendation, resolveCurrent, type Price, type ScalingStep } from '../core/capacity.ts';
import { UsageError, type CommandDeps, type Subcommand } from './types.ts';

const SCALING_STEPS: ReadonlySet<Recommendation> = new Set(['vertical', 'database', 'horizontal', 'multi_region']);

export interface AdviceRun {
  readonly message: Message;
  readonly walk: Walk;
  readonly price: Price | null;
  readonly adviceId: number;
}

export interface AdviceRequest {
  /** Who asked (typed the command or clicked). */
  readonly actor: string;
  readonly channel: string | null;
  /** Ask this question again although an answer is remembered. */
  readonly ask?: QuestionId;
  /** The question just answered by a click: that answer counts for this walk even under `remember: 0`. */
  readonly answered?: QuestionId;
  /** What led to this walk: "command", "answer", "change", "refresh". */
  readonly trigger: string;
}

/**
 * Walks the decision tree now: fresh evidence from Prometheus, the remembered answers, the optimization
 * checklist. The advice, its path, its evidence and its price become one decision-log row before the
 * message is built, so the message can name the row.
 */
export async function giveAdvice(deps: CommandDeps, request: AdviceRequest): Promise<AdviceRun> {
  const { config } = deps;
  const now = deps.clock();
  const { evidence, answers } = await gatherWalkInputs(
    config.advisor.evidence,
    { prometheus: deps.prometheus, advice: deps.storage.advice },
    now,
    config.prometheus.lookbackSeconds,
    { settings: config.forecast, triggers: config.triggers },
  );
  const completedAt = await deps.checklistCompletedAt(config.advisor.optimizationChecklist);
  const walk = walkDecisionTree(evidence, answers, {
    now,
    memory: config.advisor.memory,
    optimizationCompletedAt: completedAt,
    globalTraffic: config.advisor.globalTraffic,
    ...(request.ask ? { ask: request.ask } : {}),
    ...(request.answered ? { answered: request.answered } : {}),
  });
  const recommendation = walk.recommendation;
  const price = recommendation && SCALING_STEPS.has(recommendation) ? priceRecommendation(recommendation as ScalingStep, config.capacity) : null;
  const current = resolveCurrent(config.capacity);
  const adviceId = await deps.storage.advice.recordAdvice({
    at: now,
    actor: request.actor,
    channel: request.channel,
    outcome: recommendation ?? 'question',
    detail: {
      trigger: request.trigger,
      recommendation: recommendation ?? null,
      pending_question: walk.pendingQuestion ?? null,
      evaluated_at: evidence.evaluatedAt.toISOString(),
      ...(evidence.failure ? { failure: evidence.failure } : {}),
      forecasts: (evidence.forecasts ?? []).map((citation) => ({ ...citation, crossesAt: citation.crossesAt.toISOString() })),
      path: walk.path.map((step) => ({
        question: step.question,
        answer: step.answer,
        source: step.source,
        ...(step.by ? { by: step.by } : {}),
        ...(step.at ? { at: step.at.toISOString() } : {}),
        ...(step.note ? { note: step.note } : {}),
        evidence: step.evidence,
      })),
      current: { label: current.label, monthly: current.monthly },
      api_monthly: config.capacity.apiMonthly,
      price,
    },
  });
  const startTarget = recommendation ? config.advisor.start[recommendation] : undefined;
  const message = buildAdviceBlocks({
    walk,
    evaluatedAt: evidence.evaluatedAt,
    ...(evidence.failure ? { failure: evidence.failure } : {}),
    price,
    apiMonthly: config.capacity.apiMonthly,
    currentLabel: current.label,
    cpuMemoryThreshold: config.advisor.cpuMemoryThreshold,
    optimizationChecklist: config.advisor.optimizationChecklist,
    ...(startTarget ? { startTarget } : {}),
    adviceId,
    forecasts: evidence.forecasts ?? [],
    runbooks: new Set(config.runbooks.map((runbook) => runbook.id)),
  });
  return { message, walk, price, adviceId };
}

export const advise = {
  name: 'advise',
  usage: 'advise',
  summary: "Walks the guide's decision tree on live metrics: what to do next, with the evidence and the price",
  async run({ args, user, channel, deps, respond }) {
    if (args.length > 0) throw new UsageError(takesNoArguments('advise', ': it asks what the metrics cannot tell'));
    const run = await giveAdvice(deps, { actor: user, channel, trigger: 'command' });
    // In the channel: the team sees the evidence, and anyone may answer the questions (the log keeps who).
    await respond({ ...run.message, ephemeral: false });
    return {
      outcome: run.walk.recommendation ?? 'question',
      detail: { advice_id: run.adviceId, ...(run.walk.pendingQuestion ? { pending_question: run.walk.pendingQuestion } : {}) },
    };
  },
} as const satisfies Subcommand;
