import type { DecisionStore } from '../../core/storage/decisions.ts';
import type { FenceTokenOf } from '../../core/storage/leases.ts';
import type { Db } from '../client.ts';
import { appendDecision, listDecisions } from '../decision-log.ts';

/** The SQLite decision log: appends are batched into one commit per 20 ms (db/decision-log.ts says why). */
export function createSqliteDecisionStore(db: Db, fenceToken?: FenceTokenOf): DecisionStore {
  return {
    append: (input) => appendDecision(db, input, fenceToken?.()),
    list: async (query) => listDecisions(db, query),
  };
}
