import { and, desc, eq } from 'drizzle-orm';
import { QUESTIONS, type Answers, type RememberedAnswer } from '../core/advisor.ts';
import type { AdviceAnswerInput, AdviceInput } from '../core/storage/advice.ts';
import type { DecisionInput } from '../core/storage/effects.ts';
import type { Db } from './client.ts';
import { recordDecision } from './decision-log.ts';
import { decisionLog } from './schema.ts';

// The advice store's SQLite internals (db/sqlite/advice.ts): rows of the decision log (core/storage/advice.ts says why).

export const ADVICE_KIND = 'advice';
export const ANSWER_KIND = 'advice_answer';

/** The decision-log row of an answer (both dialects write this). */
export function adviceAnswerDecision(input: AdviceAnswerInput): DecisionInput {
  return {
    at: input.at,
    kind: ANSWER_KIND,
    actor: input.actor,
    channel: input.channel,
    subject: input.question,
    outcome: input.answer,
    detail: { question: input.question, answer: input.answer },
  };
}

/** The decision-log row of an advice (both dialects write this). */
export function adviceDecision(input: AdviceInput): DecisionInput {
  return {
    at: input.at,
    kind: ADVICE_KIND,
    actor: input.actor,
    channel: input.channel,
    subject: input.outcome,
    outcome: input.outcome,
    detail: input.detail,
  };
}

export function recordAdviceAnswer(db: Db, input: AdviceAnswerInput): number {
  return recordDecision(db, adviceAnswerDecision(input));
}

/** A person's answer as an answer row (adviceAnswerDecision) recorded it; undefined for a row that holds no yes or no. */
export function rememberedAnswer(row: { actor: string; at: Date; detail: Record<string, unknown> } | undefined): RememberedAnswer | undefined {
  const answer = row?.detail.answer;
  return row && (answer === 'yes' || answer === 'no') ? { answer, by: row.actor, at: row.at, source: 'person' } : undefined;
}

/** The latest answer to each question; expiry is the decision tree's business (it knows the time). */
export function latestAdviceAnswers(db: Db): Answers {
  const answers: Answers = {};
  for (const question of QUESTIONS) {
    const row = db
      .select()
      .from(decisionLog)
      .where(and(eq(decisionLog.kind, ANSWER_KIND), eq(decisionLog.subject, question)))
      .orderBy(desc(decisionLog.id))
      .limit(1)
      .get();
    const remembered = rememberedAnswer(row);
    if (remembered) answers[question] = remembered;
  }
  return answers;
}

/** One advice given: what was recommended, the path, the evidence values and the price. */
export function recordAdvice(db: Db, input: AdviceInput): number {
  return recordDecision(db, adviceDecision(input));
}
