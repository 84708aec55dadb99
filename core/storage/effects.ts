/**
 * What a storage transaction writes besides its own rows: decision-log rows and the Slack messages that
 * announce the change, committed together with it or not at all. Messages are named by their outbox key, not
 * by row id, so that the effects can be computed before the transaction and a PostgreSQL implementation can
 * resolve the keys between its statements exactly as SQLite does.
 */
export interface DecisionInput {
  readonly at: Date;
  readonly kind: string;
  readonly actor: string;
  readonly channel?: string | null;
  readonly subject?: string | null;
  readonly outcome?: string | null;
  readonly detail?: Record<string, unknown>;
}

export interface MessagePayload {
  readonly text: string;
  readonly blocks?: unknown[];
  /**
   * A file to upload instead of a message (a chart): the outbox runs Slack's three-call upload flow and shares it
   * with `text` as its comment, in the channel or the parent's thread. Never edited once sent.
   */
  readonly file?: FilePayload;
}

export interface FilePayload {
  readonly filename: string;
  readonly title: string;
  readonly altText: string;
  /** The bytes, base64. */
  readonly base64: string;
}

export type MessageWrite =
  /** Queue a new message; a second post with the same key queues nothing (the first one stands). */
  | {
      readonly kind: 'post';
      readonly key: string;
      readonly channel: string;
      readonly parentKey?: string | null;
      readonly payload: MessagePayload;
      readonly at: Date;
    }
  /** Change what a queued or sent message says (a sent one is edited in place by the outbox). */
  | { readonly kind: 'edit'; readonly key: string; readonly payload: MessagePayload };

export interface Effects {
  readonly decisions?: readonly DecisionInput[];
  readonly messages?: readonly MessageWrite[];
}

/**
 * Effects computed from the rows a transaction has just written (a new run's id, a run after its
 * transition). Pure and synchronous: no I/O and no await, so that every implementation can call it inside
 * its transaction, between its statements.
 */
export type EffectsOf<T> = (written: T) => Effects;

export const NO_EFFECTS: Effects = {};
