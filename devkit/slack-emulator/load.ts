// "Slack under load": an opt-in mode of the fake in which Slack pushes back on its own, the way the real one
// does on a busy day, so that the bot's retry and look-up paths run without a test scripting each failure.
// Everything random comes from one seeded generator: a seed replays the same pushback for the same calls.
import type { InjectedFailure } from './fake-slack.ts';

/** A token bucket: `perMinute` calls refill evenly, up to `burst` at once. */
export interface RateLimit {
  perMinute: number;
  burst: number;
}

export interface SlackLoadOptions {
  /** Seed of the generator behind every random choice (default 1). */
  seed?: number;
  /**
   * Slack's per-method tiers, answered with HTTP 429 and `Retry-After` (the call is not carried out).
   * `true`: the published tiers (SLACK_RATE_LIMITS); an object overrides per method.
   * chat.postMessage is limited per channel (about one a second, short bursts allowed), the rest per app.
   */
  rateLimits?: boolean | Record<string, RateLimit>;
  /** Multiplies every limit's rate and burst (0.5: twice as strict), to reach 429s in a short test. Default 1. */
  rateScale?: number;
  /** Share of calls answered HTTP 500 or 503 (half of them carried out before the error). Default 0. */
  errorRate?: number;
  /**
   * Share of calls whose answer never comes in time: held `timeoutMs`, then the connection is dropped.
   * Half of them are carried out at once (Slack posted, the client does not know), half never. Default 0.
   */
  timeoutRate?: number;
  /** How long a timed-out call is held; pick it above the client's own timeout. Default 11,000 ms. */
  timeoutMs?: number;
  /** Share of calls whose connection is reset at once (half carried out). Default 0. */
  dropRate?: number;
  /**
   * Channels the bot was invited to. When set, chat.postMessage, chat.update, chat.delete,
   * conversations.history/replies and files.completeUploadExternal (its channel_id) in any other channel
   * answer `not_in_channel`.
   */
  members?: readonly string[];
  /** Methods load mode leaves alone (e.g. `auth.test`, which Bolt needs to start). Default: auth.test, apps.connections.open. */
  spare?: readonly string[];
}

const TIER_1: RateLimit = { perMinute: 1, burst: 1 };
const TIER_2: RateLimit = { perMinute: 20, burst: 5 };
const TIER_3: RateLimit = { perMinute: 50, burst: 10 };
const TIER_4: RateLimit = { perMinute: 100, burst: 20 };

/**
 * https://docs.slack.dev/apis/web-api/rate-limits and each method's page. chat.postMessage is "special":
 * one message per second per channel, with short bursts allowed.
 */
export const SLACK_RATE_LIMITS: Readonly<Record<string, RateLimit>> = {
  'chat.postMessage': { perMinute: 60, burst: 4 },
  'chat.update': TIER_3,
  'chat.delete': TIER_3,
  'chat.postEphemeral': TIER_4,
  'chat.getPermalink': TIER_4,
  'conversations.history': TIER_3,
  'conversations.replies': TIER_3,
  'users.info': TIER_4,
  'usergroups.list': TIER_2,
  'usergroups.users.list': TIER_2,
  'views.open': TIER_4,
  'files.getUploadURLExternal': TIER_4,
  'files.completeUploadExternal': TIER_4,
  'auth.test': TIER_4,
  'apps.connections.open': TIER_1,
};

const CHANNEL_METHODS = new Set([
  'chat.postMessage',
  'chat.update',
  'chat.delete',
  'conversations.history',
  'conversations.replies',
  'files.completeUploadExternal',
]);

/** mulberry32: small, fast, and the same numbers for the same seed on every platform. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LoadCounts {
  rateLimited: number;
  errors: number;
  timeouts: number;
  drops: number;
  notInChannel: number;
}

/** Decides, call by call, how a loaded Slack answers. */
export class SlackLoad {
  readonly counts: LoadCounts = { rateLimited: 0, errors: 0, timeouts: 0, drops: 0, notInChannel: 0 };
  private readonly random: () => number;
  private readonly limits: Record<string, RateLimit>;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly members: Set<string> | undefined;
  private readonly spare: Set<string>;

  constructor(
    private readonly options: SlackLoadOptions,
    private readonly nowMs: () => number = () => Date.now(),
  ) {
    this.random = generator(options.seed ?? 1);
    const scale = options.rateScale ?? 1;
    const base = options.rateLimits === true ? SLACK_RATE_LIMITS : options.rateLimits ? { ...SLACK_RATE_LIMITS, ...options.rateLimits } : {};
    this.limits = Object.fromEntries(
      Object.entries(base).map(([method, limit]) => [method, { perMinute: limit.perMinute * scale, burst: Math.max(1, Math.round(limit.burst * scale)) }]),
    );
    this.members = options.members ? new Set(options.members) : undefined;
    this.spare = new Set(options.spare ?? ['auth.test', 'apps.connections.open']);
  }

  /** Slack's refusal of a channel the bot is not in, checked before the method runs. */
  notInChannel(method: string, channel: unknown): boolean {
    if (!this.members || !CHANNEL_METHODS.has(method) || typeof channel !== 'string') return false;
    if (this.members.has(channel)) return false;
    this.counts.notInChannel += 1;
    return true;
  }

  /** The pushback for this call, if any: a 429, a 5xx, a timeout or a reset connection. */
  pushback(method: string, args: Record<string, unknown>): InjectedFailure | undefined {
    if (this.spare.has(method)) return undefined;
    const retryAfter = this.take(method, args);
    if (retryAfter !== undefined) {
      this.counts.rateLimited += 1;
      return { status: 429, retryAfter };
    }
    const roll = this.random();
    const carriedOut = this.random() < 0.5;
    const errorRate = this.options.errorRate ?? 0;
    const timeoutRate = this.options.timeoutRate ?? 0;
    const dropRate = this.options.dropRate ?? 0;
    if (roll < errorRate) {
      this.counts.errors += 1;
      return { status: this.random() < 0.5 ? 500 : 503, error: 'internal_error', thenSucceed: carriedOut };
    }
    if (roll < errorRate + timeoutRate) {
      this.counts.timeouts += 1;
      return { delayMs: this.options.timeoutMs ?? 11_000, dropConnection: true, thenSucceed: carriedOut };
    }
    if (roll < errorRate + timeoutRate + dropRate) {
      this.counts.drops += 1;
      return { dropConnection: true, thenSucceed: carriedOut };
    }
    return undefined;
  }

  /** Takes a token from the call's bucket; when there is none, the seconds until there is one. */
  private take(method: string, args: Record<string, unknown>): number | undefined {
    const limit = this.limits[method];
    if (!limit || limit.perMinute <= 0) return undefined;
    const key = method === 'chat.postMessage' ? `${method} ${String(args.channel)}` : method;
    const now = this.nowMs();
    const perMs = limit.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  }
}
