import { z } from 'zod';
import { parseDuration } from '../duration.ts';
import { duration } from './shared.ts';

/** `prometheus:` where the triggers are evaluated, and `grafana:` where a person looks at the same metrics. */

const prometheusFields = { url: z.url(), timeout: duration, lookback: duration };

export const prometheusFile = z.object(prometheusFields).partial().strict();

export const prometheusSection = z
  .object(prometheusFields)
  .strict()
  .transform((prometheus) => ({
    url: prometheus.url,
    timeoutMs: parseDuration(prometheus.timeout) * 1000,
    lookbackSeconds: parseDuration(prometheus.lookback),
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
