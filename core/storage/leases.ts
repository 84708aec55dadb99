/**
 * Leadership among replicas: one row in the database names the replica that runs what must not run twice
 * (the watcher, the outbox sender, reminders, runbook steps). The database's clock decides when a lease has
 * run out, so replicas whose clocks disagree still agree on who leads. Every change of holder increments the
 * fencing token; a leader's writes carry it, and the storage refuses them once a newer token exists.
 */
export interface LeaseState {
  /** Who holds the lease after this call (null: nobody, it was released or never taken). */
  readonly holder: string | null;
  /** The fencing token of the holder's tenure; 0 before anyone has led. */
  readonly token: number;
  /** Milliseconds the lease has left by the database's clock (0 when it has run out or is free). */
  readonly ttlLeftMs: number;
}

export interface LeaseStore {
  /**
   * Takes the lease when it is free or has run out (a new token), or renews it when `holder` holds it (the
   * same token), for `ttlMs` from the database's now. Another holder's live lease is left alone: the answer
   * then names that holder.
   */
  acquire(holder: string, ttlMs: number): Promise<LeaseState>;
  /** Gives the lease up at once if `holder` still holds it with `token` (a clean stop): the next replica need not wait it out. */
  release(holder: string, token: number): Promise<void>;
  /** Who holds it now, without changing anything. */
  current(): Promise<LeaseState>;
  /**
   * This database's deployment id, made once and kept: the SSH hosts keep fencing tokens per deployment, so
   * another deployment on the same host (another team's bot, a test) or this database started afresh with
   * token 1 is not refused by tokens it never issued. Kept in leader_lease as the row named `deployment`.
   */
  deployment(): Promise<string>;
}

/**
 * A write made under a fencing token that is no longer the lease's (a newer leader took over while this one
 * stalled): nothing of it was written.
 */
export class FencedError extends Error {
  constructor(readonly token: number) {
    super(`fencing token ${token} is no longer the leader's: the write was refused`);
    this.name = 'FencedError';
  }
}

/**
 * Which fencing token the write being made carries, if any: the storage asks this before every write
 * transaction, and refuses the write (FencedError) when the lease has moved on. Writes with no token (a
 * click, a slash command: any replica answers those) are not fenced.
 */
export type FenceTokenOf = () => number | undefined;
