import type { Answer, Answers, QuestionId } from '../advisor.ts';

/** A person's answer to one of the decision tree's questions (a Yes/No click on the advice message). */
export interface AdviceAnswerInput {
  readonly at: Date;
  readonly actor: string;
  readonly channel: string | null;
  readonly question: QuestionId;
  readonly answer: Answer;
}

/** One advice given: what was recommended, the path, the evidence values and the price. */
export interface AdviceInput {
  readonly at: Date;
  readonly actor: string;
  readonly channel: string | null;
  /** The recommendation, or "question" while one waits for an answer. */
  readonly outcome: string;
  readonly detail: Record<string, unknown>;
}

/**
 * The advice part of the storage port (core/ports.ts); db/sqlite/advice.ts implements it. The advisor keeps
 * nothing of its own: every advice and every answer is a row of the append-only decision log, and the
 * remembered answers are read back from there (the latest per question, whoever gave it, in whichever
 * channel: the answers describe the team's product, not a channel).
 */
export interface AdviceStore {
  /** Records an answer; it counts for the very next walk (committed when this resolves). Resolves to its row's id. */
  recordAnswer(input: AdviceAnswerInput): Promise<number>;
  /** The latest answer to each question; expiry is the decision tree's business (it knows the time). */
  latestAnswers(): Promise<Answers>;
  /** Records an advice; resolves to its row's id, which the advice message names. */
  recordAdvice(input: AdviceInput): Promise<number>;
}
