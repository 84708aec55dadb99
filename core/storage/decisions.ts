import type { DecisionInput } from './effects.ts';

export type { DecisionInput } from './effects.ts';

/** One row of the decision log, as stored (subject, outcome and detail already scrubbed of secrets). */
export interface DecisionRecord {
  readonly id: number;
  readonly at: Date;
  readonly kind: string;
  readonly actor: string;
  readonly channel: string | null;
  readonly subject: string | null;
  readonly outcome: string | null;
  readonly detail: Record<string, unknown>;
}

export interface DecisionQuery {
  readonly limit?: number;
  readonly kinds?: readonly string[];
  readonly subject?: string;
  readonly since?: Date;
}

/** The decision log: append-only. Rows that go with a state change are written as that change's Effects instead. */
export interface DecisionStore {
  /** Appends a row on its own, sharing a commit with the rows asked for within a few ms; resolves once committed. */
  append(input: DecisionInput): Promise<number>;
  /** Newest first. */
  list(query?: DecisionQuery): Promise<DecisionRecord[]>;
}
