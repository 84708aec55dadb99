import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { parse } from 'yaml';
import { parseDuration } from '../core/duration.ts';
import { displayUrl, redactSecrets } from '../core/redact.ts';

/**
 * How often Prometheus scrapes, read from its config API (GET /api/v1/status/config): `prometheus.max_age:
 * auto` follows it, since an evaluation younger than a scrape is as good as a new one (core/evaluation-cache.ts).
 */

/** What `auto` means while Prometheus's config cannot be read: the interval of its example config and of most setups. */
export const FALLBACK_SCRAPE_INTERVAL_SECONDS = 15;
/** A Prometheus reloaded with another interval is followed within this long. */
export const SCRAPE_INTERVAL_REFRESH_MS = 10 * 60_000;

/**
 * The scrape interval in Prometheus's loaded config (the YAML its config API returns): the shortest of
 * `global.scrape_interval` and every job's own `scrape_interval`.
 *
 * Why the shortest job's and not the global one: the cache promises that an evaluation it serves is as good as
 * a new one, and a trigger may read a job that is scraped faster than the global default (a 5 s job beside a
 * 15 s global one would otherwise have its last two samples hidden). Which jobs a trigger's query reads cannot
 * be told from the query, so the fastest one bounds them all. The price is only more evaluations when one job
 * scrapes fast, never a stale answer; and the crowd still shares an evaluation in flight.
 * Null when the text says no interval.
 */
export function scrapeIntervalOf(configYaml: string): number | null {
  const config = parse(configYaml) as { global?: { scrape_interval?: unknown }; scrape_configs?: Array<{ scrape_interval?: unknown }> } | null;
  const intervals = [
    config?.global?.scrape_interval,
    ...(Array.isArray(config?.scrape_configs) ? config.scrape_configs : []).map((job) => job?.scrape_interval),
  ]
    .map(durationSeconds)
    .filter((seconds): seconds is number => seconds !== null && seconds > 0);
  return intervals.length > 0 ? Math.min(...intervals) : null;
}

function durationSeconds(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  try {
    return parseDuration(value);
  } catch {
    // A unit Prometheus knows and the config syntax does not (y): that job does not count.
    return null;
  }
}

/** The scrape interval of the Prometheus at `url`, in seconds; throws with what went wrong. */
export async function readScrapeInterval({ url, timeoutMs }: { readonly url: string; readonly timeoutMs: number }): Promise<number> {
  const http: AxiosInstance = axios.create({ baseURL: url.replace(/\/+$/, ''), timeout: timeoutMs, validateStatus: () => true });
  let response: AxiosResponse;
  try {
    response = await http.get('/api/v1/status/config');
  } catch (error) {
    throw new Error(`could not reach Prometheus at ${displayUrl(url)}: ${redactSecrets(error instanceof Error ? error.message : String(error))}`);
  }
  const body = response.data as { status?: string; data?: { yaml?: unknown } } | undefined;
  if (response.status >= 400 || body?.status !== 'success' || typeof body.data?.yaml !== 'string') {
    throw new Error(`Prometheus at ${displayUrl(url)} did not give its config (HTTP ${response.status} from /api/v1/status/config)`);
  }
  const seconds = scrapeIntervalOf(body.data.yaml);
  if (seconds === null) throw new Error(`Prometheus at ${displayUrl(url)} gave a config without a scrape_interval`);
  return seconds;
}

export interface ScrapeIntervalWatch {
  /** The latest interval read, in seconds; FALLBACK_SCRAPE_INTERVAL_SECONDS until one has been read. */
  seconds(): number;
  /** The first reading's end (read or failed): for tests and logs; nothing waits for it. */
  readonly firstRead: Promise<void>;
  stop(): void;
}

/**
 * Reads the scrape interval now and every `refreshMs`, in the background: nothing waits for Prometheus's
 * config (a status asked meanwhile uses the last interval read, or the fallback). A failed reading keeps
 * the last one.
 */
export function watchScrapeInterval(options: {
  readonly url: string;
  readonly timeoutMs: number;
  readonly refreshMs?: number;
  /** The first interval read, and each change after it. */
  readonly onRead?: (seconds: number) => void;
  readonly onFailed?: (error: Error) => void;
}): ScrapeIntervalWatch {
  let current = FALLBACK_SCRAPE_INTERVAL_SECONDS;
  let known = false;
  let stopped = false;
  const read = async () => {
    try {
      const seconds = await readScrapeInterval(options);
      if (stopped) return;
      const news = !known || seconds !== current;
      current = seconds;
      known = true;
      if (news) options.onRead?.(seconds);
    } catch (error) {
      if (!stopped) options.onFailed?.(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const firstRead = read();
  const timer = setInterval(() => void read(), options.refreshMs ?? SCRAPE_INTERVAL_REFRESH_MS);
  timer.unref();
  return {
    seconds: () => current,
    firstRead,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
