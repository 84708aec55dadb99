import type { AdviceStore } from '../../core/storage/advice.ts';
import { latestAdviceAnswers, recordAdvice, recordAdviceAnswer } from '../advice.ts';
import { inTransaction, type Db } from '../client.ts';

/**
 * The SQLite implementation of the advice store. Each write is one row, committed at once (not batched like
 * decisions.append): an answer must be readable by the walk that follows its click.
 */
export function createSqliteAdviceStore(db: Db): AdviceStore {
  return {
    recordAnswer: async (input) => inTransaction(db, () => recordAdviceAnswer(db, input)),
    latestAnswers: async () => latestAdviceAnswers(db),
    recordAdvice: async (input) => inTransaction(db, () => recordAdvice(db, input)),
  };
}
