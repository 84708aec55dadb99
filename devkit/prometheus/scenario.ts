import { buildOpenMetrics, type SeriesSpec } from './build-open-metrics.ts';

/**
 * Raw exporter series for the bot's default trigger queries (config/triggers.yaml), built from the value a test
 * wants the *query* to return over time:
 *
 *   const s = scenario({ now })
 *     .cpu('web-1:9100', step(now - 20 * 60, 0.3, 0.9))   // CPU 0.9 since now-20m, 0.3 before
 *     .memory('web-1:9100', 0.5);
 *   const prom = await startPrometheus({ openMetrics: s.toOpenMetrics() });
 *   await prom.query(cpuQuery, now);                        // → [{ metric: { instance: 'web-1:9100' }, value: 0.9 }]
 *
 * Samples sit on a grid that ends exactly at `now` (every `stepSeconds`, default 60, back to `start`, default
 * now − 26 h, which is enough for the `offset 1d` of response_time_trend with its 1 h window).
 *
 * Gauges (memory, db_connections, redis_memory, users, db_size) follow the value exactly: the sample at t
 * carries valueAt(t), and an instant query at t returns it.
 *
 * Counters (cpu, disk_iowait, api_p99, error_rate, cache_hit_rate, response_time_trend) are built so that the
 * counter grows at rate valueAt(tᵢ) from sample tᵢ to tᵢ₊₁. A `rate(x[W])` query at T therefore returns the
 * average of the value over [T − W, T]: after a step at t₀ (on the grid), the query moves linearly from the old
 * to the new value between t₀ and t₀ + W and is exact from t₀ + W on. W is 5 m for all default rate triggers and
 * 1 h for response_time_trend. So "CPU 0.9 since now − 20 m" makes the cpu query read 0.9 from now − 15 m on,
 * and the `for: 15m` of the cpu trigger is met at `now` with nothing to spare.
 */

export type ValueAt = number | ((t: number) => number);

/**
 * A piecewise-constant value: `[[from, value], …]` with `from` in Unix seconds. The value of the last point with
 * from ≤ t holds; before the first point, the first value holds.
 */
export function piecewise(points: ReadonlyArray<readonly [number, number]>): (t: number) => number {
  if (points.length === 0) throw new Error('piecewise needs at least one point');
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  return (t) => {
    let value = sorted[0]![1];
    for (const [from, v] of sorted) {
      if (from > t) break;
      value = v;
    }
    return value;
  };
}

/** `before` until `at` (Unix seconds), `after` from `at` on. */
export function step(at: number, before: number, after: number): (t: number) => number {
  return piecewise([
    [-Infinity, before],
    [at, after],
  ]);
}

export const SCENARIO_DEFAULTS = {
  historySeconds: 26 * 3600,
  stepSeconds: 60,
  cpus: 2,
  /** CPU use reported when only disk_iowait was set: iowait plus this much user time. */
  userCpuBesideIowait: 0.05,
  memoryTotalBytes: 16 * 1024 ** 3,
  apiInstance: 'api-1:8080',
  requestsPerSecond: 50,
  p99Seconds: 0.25,
  meanResponseSeconds: 0.1,
  /** Share of requests answered 404 (not errors: the error_rate query must ignore them). */
  notFoundShare: 0.02,
  /** prom-client's default histogram buckets. */
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  maxConnections: 200,
  redisMaxBytes: 2 * 1024 ** 3,
  redisOpsPerSecond: 1000,
  /** Size of each of the `postgres` and `template1` databases beside the application's. */
  systemDatabaseBytes: 7_500_000,
} as const;

export interface ScenarioOptions {
  /** Unix seconds; the last sample is at `now`. Default: the current second. */
  now?: number;
  /** Default 60. */
  stepSeconds?: number;
  /** Unix seconds; default now − 26 h. */
  start?: number;
  /**
   * History length instead of `start`: `scenario({ now, hours: 24 * 8, stepSeconds: 300 })` for the forecasts'
   * week. Backfill time grows with hours × file size: keep long scenarios coarse (5-minute steps).
   */
  hours?: number;
}

/** Stretches with no samples at all, `[from, to)` in Unix seconds: a scrape target that was down. */
export type Gaps = ReadonlyArray<readonly [number, number]>;

export function scenario(options: ScenarioOptions = {}): Scenario {
  return new Scenario(options);
}

interface NodeState {
  usage?: (t: number) => number;
  iowait?: (t: number) => number;
  cpus: number;
}

interface HttpState {
  rps?: (t: number) => number;
  p99?: (t: number) => number;
  mean?: (t: number) => number;
  errorRatio?: (t: number) => number;
  buckets: readonly number[];
}

export class Scenario {
  readonly now: number;
  readonly start: number;
  readonly stepSeconds: number;
  /** The sample grid, oldest first, ending at `now`. */
  readonly timestamps: readonly number[];
  private readonly nodes = new Map<string, NodeState>();
  private readonly apis = new Map<string, HttpState>();
  private readonly emitters: Array<() => SeriesSpec[]> = [];

  constructor(options: ScenarioOptions = {}) {
    this.now = options.now ?? Math.floor(Date.now() / 1000);
    this.stepSeconds = options.stepSeconds ?? SCENARIO_DEFAULTS.stepSeconds;
    if (options.start !== undefined && options.hours !== undefined) throw new Error('give start or hours, not both');
    this.start = options.start ?? (options.hours !== undefined ? this.now - options.hours * 3600 : this.now - SCENARIO_DEFAULTS.historySeconds);
    if (!(this.stepSeconds > 0)) throw new Error('stepSeconds must be positive');
    if (!(this.start < this.now)) throw new Error('start must be before now');
    const timestamps: number[] = [];
    for (let t = this.now; t >= this.start; t -= this.stepSeconds) timestamps.push(t);
    this.timestamps = timestamps.reverse();
  }

  // --- generic building blocks -------------------------------------------------------------------------------

  /** Any series as is. */
  series(spec: SeriesSpec): this {
    this.emitters.push(() => [spec]);
    return this;
  }

  /** A gauge sampled on the grid, with no samples inside `gaps`. */
  gauge(name: string, labels: Record<string, string>, valueAt: ValueAt, help?: string, options: { gaps?: Gaps } = {}): this {
    const f = fn(valueAt);
    const gaps = options.gaps ?? [];
    const present = (t: number) => !gaps.some(([from, to]) => t >= from && t < to);
    this.emitters.push(() => [{ name, help, type: 'gauge', labels, samples: this.timestamps.filter(present).map((t) => [t, f(t)]) }]);
    return this;
  }

  /** A counter (`name` ends in `_total`) growing at `perSecond(tᵢ)` from tᵢ to tᵢ₊₁. */
  counter(name: string, labels: Record<string, string>, perSecond: ValueAt, help?: string): this {
    const f = fn(perSecond);
    this.emitters.push(() => [{ name, help, type: 'counter', labels, samples: this.integrate(this.timestamps.map((t) => f(t))) }]);
    return this;
  }

  // --- node_exporter: cpu, disk_iowait, memory ------------------------------------------------------------------

  /**
   * cpu trigger: `1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))` = usage.
   * Busy time includes iowait, so usage must be ≥ the instance's iowait. The CPUs differ (one busier, one less
   * busy) and only their average equals the usage.
   */
  cpu(instance: string, usage: ValueAt, options: { cpus?: number } = {}): this {
    const node = this.node(instance, options.cpus);
    node.usage = fn(usage);
    return this;
  }

  /** disk_iowait trigger: `avg by (instance) (rate(node_cpu_seconds_total{mode="iowait"}[5m]))` = fraction. */
  diskIowait(instance: string, fraction: ValueAt, options: { cpus?: number } = {}): this {
    const node = this.node(instance, options.cpus);
    node.iowait = fn(fraction);
    return this;
  }

  /** memory trigger: `1 - MemAvailable / MemTotal` = usedFraction (MemAvailable rounded to whole bytes). */
  memory(instance: string, usedFraction: ValueAt, options: { totalBytes?: number } = {}): this {
    const total = options.totalBytes ?? SCENARIO_DEFAULTS.memoryTotalBytes;
    const used = fn(usedFraction);
    const labels = { instance, job: 'node' };
    this.gauge('node_memory_MemTotal_bytes', labels, total, 'Memory information field MemTotal_bytes.');
    this.gauge(
      'node_memory_MemAvailable_bytes',
      labels,
      (t) => Math.round(total * (1 - fraction(used(t), 'memory'))),
      'Memory information field MemAvailable_bytes.',
    );
    return this;
  }

  // --- the application's HTTP metrics: api_p99, error_rate, response_time_trend ---------------------------------

  /**
   * api_p99 trigger: `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))`.
   * The buckets are filled so that linear interpolation inside the bucket holding the value lands on it exactly.
   * Values above the largest finite bucket (10 s by default) cannot be expressed: histogram_quantile caps there.
   * With several API instances the query merges their histograms; give one instance the p99 to assert on it.
   */
  apiP99(seconds: ValueAt, options: { instance?: string; buckets?: readonly number[] } = {}): this {
    const api = this.api(options.instance);
    if (options.buckets) api.buckets = [...options.buckets].sort((a, b) => a - b);
    api.p99 = fn(seconds);
    return this;
  }

  /** error_rate trigger: 5xx share of `http_requests_total`. With a ratio that is never > 0, no 5xx series exist. */
  errorRate(ratio: ValueAt, options: { instance?: string } = {}): this {
    this.api(options.instance).errorRatio = fn(ratio);
    return this;
  }

  /** Requests per second for both http_requests_total and the duration histogram (default 50). */
  requestRate(perSecond: ValueAt, options: { instance?: string } = {}): this {
    this.api(options.instance).rps = fn(perSecond);
    return this;
  }

  /** Mean response time (`_sum / _count` of the histogram); default 0.1 s. */
  meanResponseTime(seconds: ValueAt, options: { instance?: string } = {}): this {
    this.api(options.instance).mean = fn(seconds);
    return this;
  }

  /**
   * response_time_trend trigger: mean response time over the last hour / over the same hour a day earlier.
   * The mean is `baselineSeconds` before now − 24 h and baselineSeconds × ratio(t) after, so the query at T
   * (now − 23 h ≤ T ≤ now) returns the average of ratio over [T − 1 h, T]: hold a ratio for an hour to read it.
   */
  responseTimeTrend(ratio: ValueAt, options: { instance?: string; baselineSeconds?: number } = {}): this {
    const baseline = options.baselineSeconds ?? SCENARIO_DEFAULTS.meanResponseSeconds;
    const r = fn(ratio);
    const yesterdayEnds = this.now - 86_400;
    this.api(options.instance).mean = (t) => (t < yesterdayEnds ? baseline : baseline * r(t));
    return this;
  }

  // --- postgres_exporter: db_connections, db_size ---------------------------------------------------------------

  /**
   * db_connections trigger: `sum by (instance) (pg_stat_activity_count) / on (instance) max by (instance)
   * (pg_settings_max_connections)` = fraction. Connections are split over the states active, idle and
   * "idle in transaction"; they are whole numbers whenever fraction × max is.
   */
  dbConnections(instance: string, fractionOfMax: ValueAt, options: { maxConnections?: number } = {}): this {
    const max = options.maxConnections ?? SCENARIO_DEFAULTS.maxConnections;
    const f = fn(fractionOfMax);
    const labels = { instance, job: 'postgres' };
    const split = (t: number) => {
      const total = fraction(f(t), 'dbConnections') * max;
      const active = Math.floor(total * 0.6);
      const inTransaction = Math.floor(total * 0.1);
      return { active, 'idle in transaction': inTransaction, idle: total - active - inTransaction };
    };
    this.gauge('pg_settings_max_connections', { ...labels, server: instance }, max, 'Sets the maximum number of concurrent connections.');
    for (const state of ['active', 'idle', 'idle in transaction'] as const) {
      this.gauge('pg_stat_activity_count', { ...labels, datname: 'app', state }, (t) => split(t)[state], 'number of connections in this state');
    }
    return this;
  }

  /** db_size trigger: `sum by (instance) (pg_database_size_bytes)` = bytes (app plus postgres and template1). */
  dbSize(instance: string, bytes: ValueAt): this {
    const b = fn(bytes);
    const labels = { instance, job: 'postgres' };
    const system = (t: number) => Math.min(SCENARIO_DEFAULTS.systemDatabaseBytes, b(t) / 4);
    const help = 'Disk space used by the database';
    this.gauge('pg_database_size_bytes', { ...labels, datname: 'app' }, (t) => b(t) - 2 * system(t), help);
    this.gauge('pg_database_size_bytes', { ...labels, datname: 'postgres' }, system, help);
    this.gauge('pg_database_size_bytes', { ...labels, datname: 'template1' }, system, help);
    return this;
  }

  // --- redis_exporter: redis_memory, cache_hit_rate --------------------------------------------------------------

  /**
   * redis_memory trigger: `redis_memory_used_bytes / (redis_memory_max_bytes > 0)` = fraction. With
   * `maxBytes: 0` (Redis without maxmemory, its default) the query has no result; used is then computed against
   * the default 2 GiB.
   */
  redisMemory(instance: string, fractionOfMax: ValueAt, options: { maxBytes?: number } = {}): this {
    const max = options.maxBytes ?? SCENARIO_DEFAULTS.redisMaxBytes;
    const reference = max > 0 ? max : SCENARIO_DEFAULTS.redisMaxBytes;
    const f = fn(fractionOfMax);
    const labels = { instance, job: 'redis' };
    this.gauge('redis_memory_max_bytes', labels, max, 'memory_max_bytes metric');
    this.gauge('redis_memory_used_bytes', labels, (t) => Math.round(reference * fraction(f(t), 'redisMemory')), 'memory_used_bytes metric');
    return this;
  }

  /** cache_hit_rate trigger: hits / (hits + misses) over 5 m, by instance. opsPerSecond 0 makes it NaN. */
  cacheHitRate(instance: string, ratio: ValueAt, options: { opsPerSecond?: ValueAt } = {}): this {
    const ops = fn(options.opsPerSecond ?? SCENARIO_DEFAULTS.redisOpsPerSecond);
    const r = fn(ratio);
    const labels = { instance, job: 'redis' };
    this.counter('redis_keyspace_hits_total', labels, (t) => ops(t) * fraction(r(t), 'cacheHitRate'), 'keyspace_hits_total metric');
    this.counter('redis_keyspace_misses_total', labels, (t) => ops(t) * (1 - fraction(r(t), 'cacheHitRate')), 'keyspace_misses_total metric');
    return this;
  }

  // --- the application's own gauges: concurrent_users, daily_active_users --------------------------------------

  /** concurrent_users trigger: `sum(app_concurrent_users)`; one series per instance, the query adds them. */
  concurrentUsers(instance: string, users: ValueAt, options: { gaps?: Gaps } = {}): this {
    return this.gauge('app_concurrent_users', { instance, job: 'app' }, users, 'Users with an open session.', options);
  }

  /** daily_active_users trigger: `max(app_daily_active_users)`; one series per instance, the query takes the largest. */
  dailyActiveUsers(instance: string, users: ValueAt): this {
    return this.gauge('app_daily_active_users', { instance, job: 'app' }, users, 'Distinct users in the last 24 hours.');
  }

  // --- output ---------------------------------------------------------------------------------------------------

  toSeries(): SeriesSpec[] {
    const out: SeriesSpec[] = [];
    for (const [instance, node] of this.nodes) out.push(...this.nodeSeries(instance, node));
    for (const [instance, api] of this.apis) out.push(...this.apiSeries(instance, api));
    for (const emit of this.emitters) out.push(...emit());
    return out;
  }

  toOpenMetrics(): string {
    return buildOpenMetrics(this.toSeries());
  }

  // --- internals -------------------------------------------------------------------------------------------------

  private node(instance: string, cpus?: number): NodeState {
    let node = this.nodes.get(instance);
    if (!node) {
      node = { cpus: SCENARIO_DEFAULTS.cpus };
      this.nodes.set(instance, node);
    }
    if (cpus !== undefined) {
      if (!Number.isInteger(cpus) || cpus < 1) throw new Error(`cpus must be a positive integer, not ${cpus}`);
      node.cpus = cpus;
    }
    return node;
  }

  private api(instance: string = SCENARIO_DEFAULTS.apiInstance): HttpState {
    let api = this.apis.get(instance);
    if (!api) {
      api = { buckets: SCENARIO_DEFAULTS.buckets };
      this.apis.set(instance, api);
    }
    return api;
  }

  /** Counter values on the grid from per-interval rates (rates[i] holds from timestamps[i] to timestamps[i+1]). */
  private integrate(rates: readonly number[]): Array<[number, number]> {
    const ts = this.timestamps;
    const samples: Array<[number, number]> = [];
    let value = 0;
    for (let i = 0; i < ts.length; i++) {
      if (i > 0) {
        const rate = rates[i - 1]!;
        if (!(rate >= 0) || !Number.isFinite(rate)) throw new Error(`counter rate must be finite and ≥ 0, got ${rate} at ${ts[i - 1]}`);
        value += rate * (ts[i]! - ts[i - 1]!);
      }
      samples.push([ts[i]!, value]);
    }
    return samples;
  }

  private nodeSeries(instance: string, node: NodeState): SeriesSpec[] {
    if (!node.usage && !node.iowait) return [];
    const modes = ['idle', 'iowait', 'user'] as const;
    // rates[cpu][mode][i]
    const rates = Array.from({ length: node.cpus }, () => ({ idle: [] as number[], iowait: [] as number[], user: [] as number[] }));
    for (const t of this.timestamps) {
      const w = fraction(node.iowait?.(t) ?? 0, 'diskIowait');
      const u = fraction(node.usage ? node.usage(t) : Math.min(1, w + SCENARIO_DEFAULTS.userCpuBesideIowait), 'cpu');
      if (w > u + 1e-12) throw new Error(`${instance}: iowait ${w} exceeds cpu usage ${u} at ${t}; busy time includes iowait`);
      // Spread the CPUs around the average so that only avg() gives the intended usage.
      const spread = Math.max(0, Math.min(0.05, u - w, 1 - u));
      rates.forEach((r, cpu) => {
        const last = cpu === node.cpus - 1 && node.cpus % 2 === 1;
        const d = last ? 0 : cpu % 2 === 0 ? spread : -spread;
        r.idle.push(1 - u - d);
        r.iowait.push(w);
        r.user.push(Math.max(0, u + d - w));
      });
    }
    return rates.flatMap((r, cpu) =>
      modes.map(
        (mode): SeriesSpec => ({
          name: 'node_cpu_seconds_total',
          help: 'Seconds the CPUs spent in each mode.',
          type: 'counter',
          labels: { cpu: String(cpu), instance, job: 'node', mode },
          samples: this.integrate(r[mode]),
        }),
      ),
    );
  }

  private apiSeries(instance: string, api: HttpState): SeriesSpec[] {
    const labels = { instance, job: 'api' };
    const rps = api.rps ?? (() => SCENARIO_DEFAULTS.requestsPerSecond);
    const p99 = api.p99 ?? (() => SCENARIO_DEFAULTS.p99Seconds);
    const mean = api.mean ?? (() => SCENARIO_DEFAULTS.meanResponseSeconds);
    const errors = api.errorRatio ?? (() => 0);
    const ts = this.timestamps;
    const requests = ts.map(rps);

    const bucketRates: number[][] = api.buckets.map(() => []);
    for (const [i, t] of ts.entries()) {
      const cumulative = p99Fractions(p99(t), api.buckets);
      for (const [b, share] of cumulative.entries()) bucketRates[b]!.push(requests[i]! * share);
    }
    const histogram: SeriesSpec[] = [
      ...api.buckets.map(
        (le, b): SeriesSpec => ({
          name: 'http_request_duration_seconds_bucket',
          type: 'histogram',
          labels: { ...labels, le: String(le) },
          samples: this.integrate(bucketRates[b]!),
        }),
      ),
      { name: 'http_request_duration_seconds_bucket', type: 'histogram', labels: { ...labels, le: '+Inf' }, samples: this.integrate(requests) },
      { name: 'http_request_duration_seconds_count', type: 'histogram', labels, samples: this.integrate(requests) },
      {
        name: 'http_request_duration_seconds_sum',
        type: 'histogram',
        labels,
        samples: this.integrate(ts.map((t, i) => requests[i]! * mean(t))),
      },
    ];
    histogram[0]!.help = 'Duration of HTTP requests in seconds.';

    const errorShare = ts.map((t) => fraction(errors(t), 'errorRate'));
    const byStatus: Array<[string, number[]]> = [
      ['200', requests.map((n, i) => n * (1 - errorShare[i]!) - n * Math.min(SCENARIO_DEFAULTS.notFoundShare, 1 - errorShare[i]!))],
      ['404', requests.map((n, i) => n * Math.min(SCENARIO_DEFAULTS.notFoundShare, 1 - errorShare[i]!))],
    ];
    if (errorShare.some((e) => e > 0)) {
      byStatus.push(['500', requests.map((n, i) => n * errorShare[i]! * 0.75)], ['503', requests.map((n, i) => n * errorShare[i]! * 0.25)]);
    }
    const counters = byStatus.map(
      ([status, rates]): SeriesSpec => ({
        name: 'http_requests_total',
        help: 'HTTP requests by status code.',
        type: 'counter',
        labels: { ...labels, status },
        samples: this.integrate(rates.map((r) => Math.max(0, r))),
      }),
    );
    return [...histogram, ...counters];
  }
}

/**
 * Cumulative share of requests at or under each bucket bound such that histogram_quantile(0.99) interpolates to
 * exactly `p99`. With p99 in (lo, hi]: 1 % of requests fall in that bucket, (0.99 − 0.01·(p99 − lo)/(hi − lo))
 * spread evenly below it, the rest in the bucket above. In the first bucket (lo = 0) the smallest expressible
 * value is 0.99·hi (every request in that bucket).
 */
export function p99Fractions(p99: number, buckets: readonly number[]): number[] {
  const q = 0.99;
  const j = buckets.findIndex((le) => p99 <= le);
  if (!(p99 > 0) || j === -1) {
    throw new Error(`p99 ${p99} s is not inside the histogram's finite buckets (0, ${buckets[buckets.length - 1]}]`);
  }
  const hi = buckets[j]!;
  if (j === 0) {
    const inFirst = (q * hi) / p99;
    if (inFirst > 1 + 1e-12) throw new Error(`p99 ${p99} s is below ${q * hi}, the least the first bucket (le=${hi}) can give`);
    return buckets.map((_, b) => (b === 0 ? Math.min(1, inFirst) : 1));
  }
  const lo = buckets[j - 1]!;
  const inBucket = 0.01;
  const below = q - (inBucket * (p99 - lo)) / (hi - lo);
  return buckets.map((_, b) => (b < j ? (below * (b + 1)) / j : b === j ? below + inBucket : 1));
}

function fn(value: ValueAt): (t: number) => number {
  return typeof value === 'function' ? value : () => value;
}

function fraction(value: number, what: string): number {
  if (!(value >= 0 && value <= 1)) throw new Error(`${what}: ${value} is not a fraction between 0 and 1`);
  return value;
}
