// What the bot really asked Prometheus, read from Prometheus' own query log (`global.query_log_file`), so that
// the floor a status answer is compared with is the very set of queries that status sent: evaluation queries
// (full or incremental, whichever the client chose) and forecast queries alike, with nothing of ours guessed.
// Also Prometheus' CPU as it reports it (process_cpu_seconds_total on its /metrics).
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PrometheusFixture } from '../devkit/prometheus/index.ts';

export interface LoggedQuery {
  readonly query: string;
  /** Unix seconds; for an instant query start = end = its time. */
  readonly start: number;
  readonly end: number;
  /** Seconds; 0 for an instant query. */
  readonly step: number;
  /** Prometheus' own time for it (execTotalTime), seconds, when logged. */
  readonly execSeconds: number | null;
}

/** One line of Prometheus' query log, or null for a line that is not a query (a partial write, another API). */
export function parseQueryLogLine(line: string): LoggedQuery | null {
  if (line.trim() === '') return null;
  let entry: { params?: { query?: unknown; start?: unknown; end?: unknown; step?: unknown }; stats?: { timings?: { execTotalTime?: unknown } } };
  try {
    entry = JSON.parse(line);
  } catch {
    return null;
  }
  const params = entry.params;
  if (!params || typeof params.query !== 'string') return null;
  const start = Date.parse(String(params.start)) / 1000;
  const end = Date.parse(String(params.end)) / 1000;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  const step = typeof params.step === 'number' ? params.step : Number(params.step ?? 0);
  const exec = entry.stats?.timings?.execTotalTime;
  return { query: params.query, start, end, step: Number.isFinite(step) ? step : 0, execSeconds: typeof exec === 'number' ? exec : null };
}

/** The HTTP API call a plain client makes to ask `logged` again. */
export function replayUrl(prometheusUrl: string, logged: LoggedQuery): string {
  if (logged.step > 0) {
    const params = new URLSearchParams({ query: logged.query, start: String(logged.start), end: String(logged.end), step: String(logged.step) });
    return `${prometheusUrl}/api/v1/query_range?${params}`;
  }
  return `${prometheusUrl}/api/v1/query?${new URLSearchParams({ query: logged.query, time: String(logged.end) })}`;
}

/** Asks every query at once with a plain client (fetch, the body read whole); wall time from first out to last in, ms. */
export async function replayAllAtOnce(prometheusUrl: string, queries: readonly LoggedQuery[]): Promise<number> {
  const began = performance.now();
  await Promise.all(
    queries.map(async (logged) => {
      const response = await fetch(replayUrl(prometheusUrl, logged));
      const text = await response.text();
      if (!response.ok) throw new Error(`Prometheus answered ${response.status} to a replayed query: ${text.slice(0, 200)}`);
    }),
  );
  return performance.now() - began;
}

export interface QueryLog {
  readonly file: string;
  /** Where the log ends now: read what came after with `since`. */
  mark(): number;
  since(mark: number): LoggedQuery[];
}

/**
 * Turns on the query log of a running devkit Prometheus: its config gets `query_log_file` and a SIGHUP reloads
 * it (no restart, the backfilled data stays open). The config is the JSON the devkit wrote next to its data dir.
 */
export async function enableQueryLog(prometheus: PrometheusFixture): Promise<QueryLog> {
  const dir = dirname(prometheus.dataDir);
  const configFile = join(dir, 'prometheus.yml');
  const file = join(dir, 'queries.log');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { global?: Record<string, unknown> };
  config.global = { ...config.global, query_log_file: file };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  process.kill(prometheus.pid, 'SIGHUP');
  const deadline = Date.now() + 10_000;
  // Reloaded once a query shows up in the log.
  while (Date.now() < deadline) {
    await (await fetch(`${prometheus.url}/api/v1/query?query=vector(1)`)).arrayBuffer();
    if (existsSync(file) && readFileSync(file, 'utf8').includes('vector(1)')) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!existsSync(file)) throw new Error(`Prometheus did not start its query log at ${file} after a reload:\n${prometheus.logs().slice(-2000)}`);
  const size = () => (existsSync(file) ? statSync(file).size : 0);
  return {
    file,
    mark: size,
    since(mark) {
      const text = readFileSync(file).subarray(mark).toString('utf8');
      return text
        .split('\n')
        .map(parseQueryLogLine)
        .filter((entry): entry is LoggedQuery => entry !== null);
    },
  };
}

/** Waits until the log has had nothing new for `quietMs` (and at least `atLeast` queries since `mark`); returns them. */
export async function waitForQuiet(log: QueryLog, mark: number, options: { quietMs: number; atLeast: number; timeoutMs: number }): Promise<LoggedQuery[]> {
  const deadline = Date.now() + options.timeoutMs;
  let count = -1;
  let quietSince = Date.now();
  for (;;) {
    const queries = log.since(mark);
    if (queries.length !== count) {
      count = queries.length;
      quietSince = Date.now();
    } else if (count >= options.atLeast && Date.now() - quietSince >= options.quietMs) {
      return queries;
    }
    if (Date.now() > deadline) return queries;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** process_cpu_seconds_total from Prometheus' own /metrics, in ms. */
export async function prometheusCpuMs(prometheusUrl: string): Promise<number> {
  const response = await fetch(`${prometheusUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const match = /^process_cpu_seconds_total ([0-9.e+-]+)$/m.exec(await response.text());
  if (!match) throw new Error(`Prometheus at ${prometheusUrl} reports no process_cpu_seconds_total`);
  return Number(match[1]) * 1000;
}

/** A short description of a set of queries: how many, range or instant, and the longest range asked. */
export function describeQueries(queries: readonly LoggedQuery[]): { count: number; ranges: number; instants: number; longestRangeSeconds: number } {
  const ranges = queries.filter((query) => query.step > 0);
  return {
    count: queries.length,
    ranges: ranges.length,
    instants: queries.length - ranges.length,
    longestRangeSeconds: ranges.reduce((longest, query) => Math.max(longest, query.end - query.start), 0),
  };
}
