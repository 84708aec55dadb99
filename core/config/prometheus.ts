import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { duration } from './shared.ts';

/** `prometheus:` where the triggers are evaluated, and `grafana:` where a person looks at the same metrics. */

/** `auto`, or a duration (0 turns the evaluation cache off). A boolean is taken in, to be refused with the others. */
const maxAge = z.union([z.string(), z.number(), z.boolean()]).transform((value, context) => {
  if (value === 'auto') return value;
  try {
    if (typeof value !== 'boolean') return parseDuration(value);
  } catch {}
  context.addIssue({
    code: 'custom',
    message: `"${value}" is not a max_age: write auto (the scrape interval Prometheus reports), 0 (off) or a duration like 15s`,
  });
  return z.NEVER;
});

const prometheusFields = { url: z.url(), timeout: duration, lookback: duration, max_age: maxAge };

export const prometheusFile = z.object(prometheusFields).partial().strict();

export const prometheusSection = z
  .object(prometheusFields)
  .strict()
  .transform((prometheus) => ({
    url: prometheus.url,
    timeoutMs: parseDuration(prometheus.timeout) * 1000,
    lookbackSeconds: parseDuration(prometheus.lookback),
    /**
     * How long an evaluation serves every status, advice, snapshot and watcher cycle asked for meanwhile
     * (core/evaluation-cache.ts): `auto` follows Prometheus's scrape interval; 0 asks Prometheus every time.
     */
    maxAge: prometheus.max_age,
  }))
  .readonly();

/** PROMETHEUS_URL, when set, wins over the files. */
export function prometheusUrlFrom(env: Readonly<Record<string, string | undefined>>, configured: string | undefined): string | undefined {
  return env.PROMETHEUS_URL?.trim() || configured;
}

export function prometheusUrlProblems(env: Readonly<Record<string, string | undefined>>): string[] {
  return env.PROMETHEUS_URL && !z.url().safeParse(env.PROMETHEUS_URL.trim()).success
    ? [`PROMETHEUS_URL: "${env.PROMETHEUS_URL}" is not a URL (like http://127.0.0.1:9090)`]
    : [];
}

const grafanaFields = { dashboard_url: z.url().nullable() };

export const grafanaFile = z.object(grafanaFields).partial().strict();

export const grafanaSection = z
  .object(grafanaFields)
  .strict()
  .transform((grafana) => ({ dashboardUrl: grafana.dashboard_url }))
  .readonly();
