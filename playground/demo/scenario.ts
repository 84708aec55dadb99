// The demo's story, from the scaling guide's "When to Scale": a calm single server, then traffic grows, CPU
// climbs past 70 % and stays there, concurrent users pass 500. Time is compressed: the guide's "15 minutes"
// becomes 30 seconds in the demo config (see ../config.ts), so the breach appears within two minutes.
// Pure: values are a function of seconds since the story started; the exporter turns them into series.

export interface DemoValues {
  /** Busy fraction of every CPU, iowait included (what the cpu trigger's query returns). */
  readonly cpu: number;
  readonly iowait: number;
  /** Used fraction of memory. */
  readonly memory: number;
  readonly concurrentUsers: number;
  readonly dailyActiveUsers: number;
  readonly requestsPerSecond: number;
  readonly errorRatio: number;
  readonly meanLatencySeconds: number;
  readonly p99LatencySeconds: number;
  /** Fraction of max_connections in use. */
  readonly dbConnections: number;
  readonly dbSizeBytes: number;
  /** Fraction of Redis maxmemory in use. */
  readonly redisMemory: number;
  readonly cacheHitRate: number;
}

type Numeric = { -readonly [K in keyof DemoValues]: number };

export const CALM: DemoValues = {
  cpu: 0.32,
  iowait: 0.03,
  memory: 0.55,
  concurrentUsers: 140,
  dailyActiveUsers: 900,
  requestsPerSecond: 40,
  errorRatio: 0.002,
  meanLatencySeconds: 0.12,
  p99LatencySeconds: 0.35,
  dbConnections: 0.3,
  dbSizeBytes: 6.2e9,
  redisMemory: 0.4,
  cacheHitRate: 0.93,
};

/** The peak stays under every other threshold, so the story has one "scale now" (CPU) and one "scale soon" (users). */
export const PEAK: DemoValues = {
  cpu: 0.86,
  iowait: 0.05,
  memory: 0.72,
  concurrentUsers: 640,
  dailyActiveUsers: 1900,
  requestsPerSecond: 190,
  errorRatio: 0.004,
  meanLatencySeconds: 0.2,
  p99LatencySeconds: 0.55,
  dbConnections: 0.45,
  dbSizeBytes: 6.4e9,
  redisMemory: 0.55,
  cacheHitRate: 0.9,
};

/** Seconds: calm until GROWTH_STARTS, traffic grows until GROWTH_ENDS, then it stays high. */
export const GROWTH_STARTS = 10;
export const GROWTH_ENDS = 45;
/** "Load drops" (a button on the page) brings everything back to calm over this many seconds. */
export const CALM_DOWN_SECONDS = 20;

export type DemoPhase = 'warming up' | 'calm' | 'traffic grows' | 'CPU stays above 70 %' | 'load drops' | 'calm again';

export interface DemoMoment {
  readonly phase: DemoPhase;
  /** 0 calm … 1 peak. */
  readonly level: number;
  readonly values: DemoValues;
}

/**
 * Where the story is: seconds since it (re)started, and when "load drops" was pressed, if it was. Before it
 * starts (`elapsedSeconds` undefined) the server is calm while Prometheus collects its first samples: a
 * `rate()` over a window longer than the series' history reads wrong, so the story waits for a full window.
 */
export interface DemoTimeline {
  readonly elapsedSeconds?: number;
  readonly calmDownAtSeconds?: number;
}

function playLevel(t: number): number {
  if (t <= GROWTH_STARTS) return 0;
  if (t >= GROWTH_ENDS) return 1;
  return (t - GROWTH_STARTS) / (GROWTH_ENDS - GROWTH_STARTS);
}

export function demoMoment({ elapsedSeconds, calmDownAtSeconds }: DemoTimeline): DemoMoment {
  const t = elapsedSeconds ?? 0;
  let level = playLevel(t);
  let phase: DemoPhase = elapsedSeconds === undefined ? 'warming up' : t <= GROWTH_STARTS ? 'calm' : t < GROWTH_ENDS ? 'traffic grows' : 'CPU stays above 70 %';
  if (calmDownAtSeconds !== undefined && t >= calmDownAtSeconds) {
    const from = playLevel(calmDownAtSeconds);
    const progress = Math.min(1, (t - calmDownAtSeconds) / CALM_DOWN_SECONDS);
    level = from * (1 - progress);
    phase = progress < 1 ? 'load drops' : 'calm again';
  }
  // A small, deterministic wobble so the lines look alive; never enough to cross a threshold on its own.
  const wobble = level > 0.95 ? 0.015 * Math.sin(t / 3) : 0;
  const values = {} as Numeric;
  for (const key of Object.keys(CALM) as Array<keyof DemoValues>) {
    values[key] = CALM[key] + (PEAK[key] - CALM[key]) * level;
  }
  values.cpu += wobble;
  values.concurrentUsers = Math.round(values.concurrentUsers);
  values.dailyActiveUsers = Math.round(values.dailyActiveUsers);
  return { phase, level, values };
}

/**
 * The latency distribution behind the histogram: a piecewise-linear quantile function through the mean and
 * the p99, so `histogram_quantile(0.99, …)` reads about `p99` and the average about `mean`.
 * Returns the fraction of requests at or under `seconds`.
 */
export function latencyFractionAtOrBelow(seconds: number, mean: number, p99: number): number {
  const points: ReadonlyArray<readonly [number, number]> = [
    [0, 0],
    [0.8 * mean, 0.5],
    [Math.min(1.8 * mean, 0.95 * p99), 0.9],
    [p99, 0.99],
    [1.6 * p99, 1],
  ];
  if (seconds <= 0) return 0;
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x0, y0] = points[i - 1]!;
    if (seconds <= x1) return y0 + ((y1 - y0) * (seconds - x0)) / (x1 - x0);
  }
  return 1;
}

// ---- the week before the demo ------------------------------------------------------------------------------

/** Days of backfilled history the demo starts with: a week for forecasts and the digest, and a day to spare. */
export const HISTORY_DAYS = 8;
/** The last stretch of history bends onto the live story's calm start, so no line jumps where the two meet. */
export const HISTORY_BLEND_SECONDS = 2 * 3600;
/** Busiest hour of the daily cycle, in UTC. */
export const HISTORY_BUSIEST_HOUR_UTC = 14;

/**
 * How each value moved over the week: `grewBy` is how much lower it was HISTORY_DAYS ago (a fraction of its calm
 * value), `daily` the amplitude of its daily cycle (same unit). Memory grows fastest, so the forecast has a
 * "crosses 85 % in about two weeks" to tell; users and traffic grow by a third; the database grows slowly.
 */
export const HISTORY_SHAPE: { readonly [K in keyof DemoValues]: { readonly grewBy: number; readonly daily: number } } = {
  cpu: { grewBy: 0.3, daily: 0.3 },
  iowait: { grewBy: 0.2, daily: 0.2 },
  memory: { grewBy: 0.28, daily: 0.1 },
  concurrentUsers: { grewBy: 0.35, daily: 0.4 },
  dailyActiveUsers: { grewBy: 0.35, daily: 0.02 },
  requestsPerSecond: { grewBy: 0.35, daily: 0.4 },
  errorRatio: { grewBy: 0, daily: 0.2 },
  meanLatencySeconds: { grewBy: 0.1, daily: 0.1 },
  p99LatencySeconds: { grewBy: 0.1, daily: 0.15 },
  dbConnections: { grewBy: 0.3, daily: 0.25 },
  dbSizeBytes: { grewBy: 0.1, daily: 0 },
  redisMemory: { grewBy: 0.3, daily: 0.1 },
  cacheHitRate: { grewBy: 0, daily: 0.01 },
};

/**
 * The server's values at Unix second `at`, `secondsBefore` the live story's start: steady growth towards the
 * calm start, a daily cycle busiest at HISTORY_BUSIEST_HOUR_UTC, and over the last HISTORY_BLEND_SECONDS a
 * blend onto CALM, so history meets the live exporter without a step. Never near a threshold: the only breach
 * is the live one.
 */
export function historyValues(at: number, secondsBefore: number): DemoValues {
  const age = Math.min(1, Math.max(0, secondsBefore / (HISTORY_DAYS * 86_400)));
  const hour = (((at % 86_400) + 86_400) % 86_400) / 3600;
  const cycle = Math.cos((2 * Math.PI * (hour - HISTORY_BUSIEST_HOUR_UTC)) / 24);
  const blend = Math.min(1, Math.max(0, secondsBefore / HISTORY_BLEND_SECONDS));
  const values = {} as Numeric;
  for (const key of Object.keys(CALM) as Array<keyof DemoValues>) {
    const { grewBy, daily } = HISTORY_SHAPE[key];
    const then = CALM[key] * (1 - grewBy * age) * (1 + daily * cycle);
    values[key] = CALM[key] + (then - CALM[key]) * blend;
  }
  values.concurrentUsers = Math.round(values.concurrentUsers);
  values.dailyActiveUsers = Math.round(values.dailyActiveUsers);
  return values;
}
