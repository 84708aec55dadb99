import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { LeaderGate } from '../core/ports.ts';
import type { FenceTokenOf, LeaseState, LeaseStore } from '../core/storage/leases.ts';

/**
 * Leadership among replicas: which one runs what must not run twice (the watcher and its reminders, the outbox
 * sender, runbook steps, recovery and expiry).
 *
 * Why a lease row with a fencing token rather than an advisory lock held on a connection: the token grows with
 * every change of holder and every write transaction of a leader's job can check it (the stores do, through
 * `fenceToken`), so a leader that stalled and woke up after another took over has its writes refused instead
 * of trusted; and the lease is judged by the database's clock, so a replica whose connection was cut, or whose
 * process stood still, cannot go on believing it leads: its own deadline (below) runs out first.
 */

export type Role = 'leader' | 'follower';

/** SCALEBOT_LEASE_SECONDS when unset. */
export const DEFAULT_LEASE_MS = 15_000;

/** What a change of role reports (the log line says the same; bot/main.ts counts it in the metrics). */
export interface LeadershipChange {
  readonly role: Role;
  /** The tenure's fencing token: the new one when elected, the one given up when deposed. */
  readonly token: number;
  readonly reason: string;
}

/**
 * Work only the leader does. `start` runs inside the tenure's context (everything it starts, timers and awaits
 * included, carries the tenure's fencing token); `stop` ends it when the replica is deposed or stops.
 */
export interface LeaderJob {
  readonly name: string;
  start(): unknown;
  stop(): unknown;
}

export interface LeadershipOptions {
  readonly leases: LeaseStore;
  /** Who this replica is in the lease row; default hostname:pid:random. */
  readonly holder?: string;
  readonly leaseMs: number;
  /** Default leaseMs / 5: four renewals may fail before the lease runs out. */
  readonly renewEveryMs?: number;
  readonly logger: Logger;
  readonly onChange?: (change: LeadershipChange) => void;
  /** Monotonic milliseconds (default performance.now): a wall clock set back would stretch the deadline. */
  readonly now?: () => number;
}

export interface Leadership extends LeaderGate {
  readonly holder: string;
  /** The fencing token the write being made carries: the token of the tenure whose job makes it, if any. */
  readonly fenceToken: FenceTokenOf;
  role(): Role;
  /**
   * Starts competing for the lease. Resolves after the first attempt, and when it won, after the jobs have
   * started (a single replica leads, and has recovered its runs, by the time it says it is ready).
   */
  start(jobs?: readonly LeaderJob[]): Promise<void>;
  /** A clean stop: the jobs stop, then the lease is released so that a follower takes over at once. */
  stop(): Promise<void>;
}

/** For services wired without replicas (tests that build them alone): this process always leads, unfenced. */
export const SOLE_LEADER: LeaderGate = {
  isLeader: () => true,
  asLeader: (job) => job(),
  mayCallOut: () => true,
  token: () => undefined,
};

export function defaultHolder(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** One term as the leader; a job's context holds the object, so a job of an earlier term is told apart even when the token is the same. */
interface Tenure {
  readonly token: number;
}

export function createLeadership(options: LeadershipOptions): Leadership {
  const { leases, leaseMs, logger, onChange } = options;
  const renewEveryMs = options.renewEveryMs ?? Math.max(1, Math.floor(leaseMs / 5));
  const now = options.now ?? (() => performance.now());
  const holder = options.holder ?? defaultHolder();
  const tenures = new AsyncLocalStorage<Tenure>();

  let jobs: readonly LeaderJob[] = [];
  let holds = false;
  let token = 0;
  let tenure: Tenure | null = null;
  /**
   * Until when this replica may act as the leader, by its monotonic clock: the time the acquire was SENT plus
   * the time the database said was left. The database counted from a moment after the send, so this deadline
   * falls before the lease's end in the database however long the request and its answer took.
   */
  let deadline = Number.NEGATIVE_INFINITY;
  let running = false;
  let stopping = false;
  let tickTimer: NodeJS.Timeout | null = null;
  let deadlineTimer: NodeJS.Timeout | null = null;
  let ticking: Promise<void> | null = null;
  /** The last answer, and when its request was sent: why the lease became free (released early, or ran out). */
  let lastSeen: { lease: LeaseState; sentAt: number } | null = null;
  let lastRenewError: string | null = null;
  /** Elections and depositions start and stop the jobs one after another, never two at once. */
  let transitions: Promise<void> = Promise.resolve();

  const isLeader = () => holds && !stopping && now() < deadline;
  /** A job of an earlier tenure (its context holds an older token) is no leader, even when this replica is again. */
  const inCurrentTenure = () => {
    const within = tenures.getStore();
    return !within || within === tenure;
  };

  function changed(role: Role, reason: string, detail: Record<string, unknown> = {}) {
    if (role === 'leader') logger.info({ fencing: token, holder, ...detail }, `became the leader (token ${token}): ${reason}`);
    else logger.warn({ fencing: token, holder, ...detail }, `no longer the leader (token ${token}): ${reason}`);
    try {
      onChange?.({ role, token, reason });
    } catch (error) {
      logger.error({ err: error }, 'a leadership listener failed');
    }
  }

  function armDeadline() {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(
      () => {
        deadlineTimer = null;
        if (!holds || stopping) return;
        if (now() < deadline) return armDeadline();
        depose('the lease ran out before it could be renewed (database unreachable?)', lastRenewError ? { error: lastRenewError } : {});
      },
      Math.max(0, deadline - now()),
    );
    deadlineTimer.unref?.();
  }

  function electionReason(sentAt: number): string {
    const seen = lastSeen?.lease;
    if (!seen?.holder) return 'the lease was free';
    if (seen.holder === holder) return 'its own lease had run out before it was renewed; a new tenure';
    // Taken well before the time it was seen held until (counted from the request's send, the earliest it can be;
    // a renewal period's margin for the requests' own delays): its holder gave it up (a clean stop).
    const ranOutAt = lastSeen!.sentAt + seen.ttlLeftMs;
    return sentAt < ranOutAt - renewEveryMs ? `the lease was released (holder ${seen.holder})` : `the lease ran out (holder ${seen.holder})`;
  }

  function elect(lease: LeaseState, until: number, sentAt: number) {
    const reason = lease.token === token ? 'its lease was renewed after its own deadline had passed' : electionReason(sentAt);
    holds = true;
    token = lease.token;
    deadline = until;
    const term: Tenure = { token };
    tenure = term;
    armDeadline();
    changed('leader', reason);
    transitions = transitions.then(() => startJobs(term));
  }

  function depose(reason: string, detail: Record<string, unknown> = {}) {
    holds = false;
    if (deadlineTimer) clearTimeout(deadlineTimer);
    deadlineTimer = null;
    changed('follower', reason, detail);
    transitions = transitions.then(() => stopJobs());
  }

  let started: LeaderJob[] = [];
  async function startJobs(term: Tenure) {
    for (const job of jobs) {
      // Deposed (or stopped) while the earlier jobs started: the rest do not.
      if (!isLeader() || tenure !== term) return;
      try {
        await tenures.run(term, () => job.start());
        started.push(job);
      } catch (error) {
        // A leader that could not recover its runs must not run steps (it might run one twice): it steps down,
        // and tries again (it or another replica) at the next acquire.
        logger.error({ err: error, job: job.name, fencing: term.token }, `the leader's job "${job.name}" could not start: stepping down`);
        if (holds && tenure === term) {
          depose(`its job "${job.name}" could not start`);
          await tenures.exit(() => leases.release(holder, term.token)).catch(() => {});
        }
        return;
      }
    }
  }

  async function stopJobs() {
    const stopping = started.reverse();
    started = [];
    for (const job of stopping) {
      try {
        await job.stop();
      } catch (error) {
        logger.error({ err: error, job: job.name }, `stopping the leader's job "${job.name}" failed`);
      }
    }
  }

  async function tick() {
    const sentAt = now();
    let lease: LeaseState;
    try {
      // The lease's own writes carry no token: they are how leadership moves.
      lease = await tenures.exit(() => withTimeout(leases.acquire(holder, leaseMs), leaseMs));
    } catch (error) {
      // The old deadline stands: once past it, the deadline timer deposes this replica.
      const message = error instanceof Error ? error.message : String(error);
      if (lastRenewError === null) logger.warn({ err: error, holder, leading: holds }, 'leadership: the lease could not be read or renewed');
      lastRenewError = message;
      return;
    }
    if (lastRenewError !== null) logger.info({ holder }, 'leadership: the lease can be read again');
    lastRenewError = null;
    if (!running) return;
    if (lease.holder === holder && lease.ttlLeftMs > 0) {
      const until = sentAt + lease.ttlLeftMs;
      // An answer that took longer than the lease proves nothing about now: it is not acted on.
      if (until <= now()) return;
      if (holds && lease.token === token) {
        deadline = until;
        armDeadline();
      } else {
        // Its own lease ran out in the database and was taken anew before the deadline timer fired: the old
        // term's jobs stop before the new term's start.
        if (holds) depose('its lease ran out before it could be renewed; it took it again');
        elect(lease, until, sentAt);
      }
    } else if (holds) {
      depose(`another replica holds it (${lease.holder ?? 'nobody'}, token ${lease.token})`);
    }
    lastSeen = { lease, sentAt };
  }

  function scheduleTick(after: number) {
    if (!running) return;
    tickTimer = setTimeout(() => {
      tickTimer = null;
      const sentAt = now();
      ticking = tick().finally(() => {
        ticking = null;
        scheduleTick(Math.max(0, sentAt + renewEveryMs - now()));
      });
    }, after);
    tickTimer.unref?.();
  }

  const leadership: Leadership = {
    holder,
    fenceToken: () => tenures.getStore()?.token,
    isLeader: () => isLeader() && inCurrentTenure(),
    asLeader<T>(job: () => T): T | undefined {
      if (!isLeader() || !inCurrentTenure() || !tenure) return undefined;
      return tenures.run(tenure, job);
    },
    mayCallOut: (timeoutMs) => isLeader() && inCurrentTenure() && deadline - now() > timeoutMs,
    token: () => tenures.getStore()?.token ?? (isLeader() ? token : undefined),
    role: () => (isLeader() ? 'leader' : 'follower'),
    async start(leaderJobs = []) {
      if (running) return;
      jobs = leaderJobs;
      running = true;
      stopping = false;
      // Started outside any term's context: the renewals must never carry a token.
      await tenures.exit(async () => {
        try {
          const sentAt = now();
          lastSeen = { lease: await leases.current(), sentAt };
        } catch {
          // The first acquire says what is wrong.
        }
        const first = now();
        ticking = tick();
        await ticking;
        ticking = null;
        // Renewing goes on while the jobs start: a recovery slower than the lease must not lose it.
        scheduleTick(Math.max(0, first + renewEveryMs - now()));
        await transitions;
      });
    },
    async stop() {
      if (!running) return;
      running = false;
      stopping = true;
      if (tickTimer) clearTimeout(tickTimer);
      tickTimer = null;
      await ticking?.catch(() => {});
      if (deadlineTimer) clearTimeout(deadlineTimer);
      deadlineTimer = null;
      const held = holds;
      const heldToken = token;
      transitions = transitions.then(() => stopJobs());
      await transitions;
      if (!held) return;
      holds = false;
      try {
        await tenures.exit(() => leases.release(holder, heldToken));
        changed('follower', 'this replica stopped and released the lease');
      } catch (error) {
        changed('follower', 'this replica stopped; the lease could not be released and runs out by itself', {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    },
  };
  return leadership;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
