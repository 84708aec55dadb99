import axios, { AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import { z } from 'zod';
import { displayUrl, redactSecrets } from '../core/redact.ts';
import type { PrometheusPort } from '../core/ports.ts';
import { createEvaluationStore } from '../core/incremental-evaluation.ts';
import { createForecastMemo, judgeTriggers } from '../core/status.ts';
import type { Series } from '../core/triggers.ts';

export type { PrometheusPort } from '../core/ports.ts';

export interface PrometheusOptions {
  url: string;
  timeoutMs: number;
}

/** Why a query failed, phrased for the person reading the status. */
export class PrometheusError extends Error {
  constructor(
    message: string,
    readonly kind: 'unreachable' | 'timeout' | 'bad_query' | 'bad_response',
  ) {
    super(message);
    this.name = 'PrometheusError';
  }
}

// Prometheus writes special floats as "NaN", "+Inf" and "-Inf"; Number() knows only the first.
function parseSampleValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}
const sampleValue = z.string().transform(parseSampleValue);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A range query's answer, checked point by point as a schema would, but by hand: a fleet's answer holds a
 * hundred thousand points, and walking them with zod cost ten times the JSON.parse (about 120 ms of CPU a
 * status at 100 instances, on the event loop that also has to ack Slack in time; README, "Benchmarks").
 * Null when anything is not the documented shape.
 */
export function readMatrix(body: unknown): Series[] | null {
  if (!isRecord(body) || body.status !== 'success' || !isRecord(body.data)) return null;
  const { resultType, result } = body.data;
  if (resultType !== 'matrix' || !Array.isArray(result)) return null;
  const series: Series[] = [];
  for (const entry of result) {
    if (!isRecord(entry) || !isRecord(entry.metric) || !Array.isArray(entry.values)) return null;
    for (const value of Object.values(entry.metric)) if (typeof value !== 'string') return null;
    // The points are converted in place ([time, "0.5"] becomes [time, 0.5]): the answer is ours alone, and a
    // second array per point would only be garbage for the collector to chase.
    const points = entry.values as unknown[];
    for (const point of points) {
      if (!Array.isArray(point) || point.length !== 2) return null;
      const [time, text] = point as [unknown, unknown];
      if (typeof time !== 'number' || !Number.isFinite(time) || typeof text !== 'string') return null;
      point[1] = parseSampleValue(text);
    }
    series.push({ labels: entry.metric as Record<string, string>, points: points as Array<[number, number]> });
  }
  return series;
}

const vectorResponse = z.object({
  status: z.literal('success'),
  data: z.discriminatedUnion('resultType', [
    z.object({
      resultType: z.literal('vector'),
      result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), sampleValue]) })),
    }),
    z.object({ resultType: z.literal('scalar'), result: z.tuple([z.number(), sampleValue]) }),
  ]),
});

export function createPrometheus({ url, timeoutMs }: PrometheusOptions): PrometheusPort {
  const http: AxiosInstance = axios.create({
    baseURL: url.replace(/\/+$/, ''),
    timeout: timeoutMs,
    // Prometheus answers 400/422 with a JSON error that says what is wrong with the query: keep it.
    validateStatus: () => true,
    // Ask Prometheus to give up no later than we do, so a slow query does not keep running there.
    params: { timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s` },
    // Over loopback, gzip only costs CPU on both ends of the same machine: at 100 instances a status cost
    // Prometheus 280 ms of CPU with it and 220 ms without, and our reading of the answers 180 ms and 115 ms
    // (README, "Benchmarks"). Anywhere else the wire may be slow: let axios ask for gzip as it does.
    ...(isLoopback(url) ? { headers: { 'Accept-Encoding': 'identity' } } : {}),
  });

  async function get(path: string, params: Record<string, string | number>): Promise<unknown> {
    let response: AxiosResponse;
    try {
      response = await http.get(path, { params });
    } catch (error) {
      throw describeTransportError(error, url, timeoutMs);
    }
    const body = response.data as { status?: string; error?: string; errorType?: string } | undefined;
    if (response.status >= 400 || body?.status !== 'success') {
      const detail = redactSecrets(body?.error ?? `HTTP ${response.status}`);
      const kind = response.status === 400 || response.status === 422 ? 'bad_query' : 'bad_response';
      throw new PrometheusError(`Prometheus refused the query: ${detail}`, kind);
    }
    return body;
  }

  // Forecasts are fitted once per step of their query, whoever asks (core/status.ts ForecastMemo).
  const forecastMemo = createForecastMemo();
  // Each trigger's runs, kept between evaluations so that the next asks only for what is new (core/incremental-evaluation.ts).
  const evaluations = createEvaluationStore();
  const port: PrometheusPort = {
    url,
    // On this thread: the bot's own client judges in a worker (prometheus-off-thread.ts); the CLI and tests use this one.
    judgeTriggers: (triggers, at, lookbackSeconds, options) => judgeTriggers(triggers, port, at, lookbackSeconds, options, forecastMemo, evaluations),
    async queryRange(query, start, end, stepSeconds) {
      const body = await get('/api/v1/query_range', { query, start, end, step: stepSeconds });
      const series = readMatrix(body);
      if (!series) throw new PrometheusError('Prometheus answered with an unexpected shape', 'bad_response');
      return series;
    },
    async queryInstant(query, at) {
      const body = await get('/api/v1/query', { query, time: at });
      const parsed = vectorResponse.safeParse(body);
      if (!parsed.success) throw new PrometheusError('Prometheus answered with an unexpected shape', 'bad_response');
      const { data } = parsed.data;
      if (data.resultType === 'scalar') return [{ labels: {}, value: data.result[1] }];
      return data.result.map(({ metric, value }) => ({ labels: metric, value: value[1] }));
    },
  };
  return port;
}

/** Whether the URL names this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopback(url: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return false;
  }
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

// These messages reach Slack (the blind notice, /scale status), the decision log and the logs: the URL is
// shown without its user and password, and whatever the error says is scrubbed.
function describeTransportError(error: unknown, url: string, timeoutMs: number): PrometheusError {
  const shown = displayUrl(url);
  if (error instanceof AxiosError) {
    if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT') {
      return new PrometheusError(`Prometheus at ${shown} did not answer within ${timeoutMs / 1000} s`, 'timeout');
    }
    return new PrometheusError(`Prometheus at ${shown} cannot be reached (${redactSecrets(error.code ?? error.message)})`, 'unreachable');
  }
  return new PrometheusError(`Prometheus at ${shown} cannot be reached (${redactSecrets(String(error))})`, 'unreachable');
}
