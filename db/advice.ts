import { and, desc, eq } from 'drizzle-orm';
import { QUESTIONS, type Answer, type Answers, type QuestionId } from '../core/advisor.ts';
import type { Db } from './client.ts';
import { recordDecision } from './decision-log.ts';
import { decisionLog } from './schema.ts';

/**
 * The advisor keeps nothing of its own: every advice and every answer to one of its questions is a row of
 * the append-only decision log, and the remembered answers are read back from there (the latest per
 * question, whoever gave it, in whichever channel: the answers describe the team's product, not a channel).
 */

export const ADVICE_KIND = 'advice';
export const ANSWER_KIND = 'advice_answer';

export interface AnswerInput {
  readonly at: Date;
  readonly actor: string;
  readonly channel: string | null;
  readonly question: QuestionId;
  readonly answer: Answer;
}

export function recordAdviceAnswer(db: Db, input: AnswerInput): number {
  return recordDecision(db, {
    at: input.at,
    kind: ANSWER_KIND,
    actor: input.actor,
    channel: input.channel,
    subject: input.question,
    outcome: input.answer,
    detail: { question: input.question, answer: input.answer },
  });
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
    const answer = row?.detail.answer;
    if (row && (answer === 'yes' || answer === 'no')) answers[question] = { answer, by: row.actor, at: row.at, source: 'person' };
  }
  return answers;
}

export interface AdviceInput {
  readonly at: Date;
  readonly actor: string;
  readonly channel: string | null;
  /** The recommendation, or "question" while one waits for an answer. */
  readonly outcome: string;
  readonly detail: Record<string, unknown>;
}

/** One advice given: what was recommended, the path, the evidence values and the price. */
export function recordAdvice(db: Db, input: AdviceInput): number {
  return recordDecision(db, {
    at: input.at,
    kind: ADVICE_KIND,
    actor: input.actor,
    channel: input.channel,
    subject: input.outcome,
    outcome: input.outcome,
    detail: input.detail,
  });
}
