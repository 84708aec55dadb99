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
