import { and, desc, eq } from 'drizzle-orm';
import { QUESTIONS, type Answers } from '../../core/advisor.ts';
import type { AdviceStore } from '../../core/storage/advice.ts';
import type { DecisionInput } from '../../core/storage/effects.ts';
import type { FenceTokenOf } from '../../core/storage/leases.ts';
import { ANSWER_KIND, adviceAnswerDecision, adviceDecision, rememberedAnswer } from '../advice.ts';
import { decisionRow } from '../scrub.ts';
import { inPgTransaction, type PgDb } from './client.ts';
import { decisionLog } from './schema.ts';

/**
 * The PostgreSQL advice store: rows of the decision log, as db/sqlite/advice.ts. Each write commits at once
 * (not batched like decisions.append): an answer must be readable by the walk that follows its click.
 */
export function createPgAdviceStore(db: PgDb, fenceToken: FenceTokenOf | undefined): AdviceStore {
  const record = (input: DecisionInput) =>
    inPgTransaction(db, fenceToken, async (tx) => {
      const [row] = await tx.insert(decisionLog).values(decisionRow(input)).returning({ id: decisionLog.id });
      return row!.id;
    });
  return {
    recordAnswer: (input) => record(adviceAnswerDecision(input)),
    async latestAnswers() {
      const answers: Answers = {};
      for (const question of QUESTIONS) {
        const [row] = await db
          .select()
          .from(decisionLog)
          .where(and(eq(decisionLog.kind, ANSWER_KIND), eq(decisionLog.subject, question)))
          .orderBy(desc(decisionLog.id))
          .limit(1);
        const remembered = rememberedAnswer(row);
        if (remembered) answers[question] = remembered;
      }
      return answers;
    },
    recordAdvice: (input) => record(adviceDecision(input)),
  };
}
