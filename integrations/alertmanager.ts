import { z } from 'zod';
import type { Severity } from '../core/triggers.ts';

/** Alertmanager's webhook payload (version 4), as far as we read it. */
const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});
const payloadSchema = z.object({
  version: z.string().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().optional(),
  alerts: z.array(alertSchema).min(1).max(1000),
});

export interface AlertmanagerAlert {
  readonly key: string;
  readonly status: 'firing' | 'resolved';
  readonly alertname: string;
  readonly severity: Severity;
  readonly labels: Record<string, string>;
  readonly summary?: string;
  readonly description?: string;
  readonly value?: string;
  readonly startsAt: Date;
  readonly endsAt?: Date;
  readonly generatorUrl?: string;
  readonly advice?: string;
}

/** The guide's monitoring/alerts.yml: what each of its alerts asks for. */
const GUIDE_ALERTS: Record<string, { severity: Severity; advice: string }> = {
  HighCPUUsage: { severity: 'immediate', advice: 'Consider scaling: vertical first (see /scale advise).' },
  HighMemoryUsage: { severity: 'immediate', advice: 'Consider scaling: vertical first (see /scale advise).' },
  DatabaseConnectionsHigh: { severity: 'immediate', advice: 'Add PgBouncer or scale the database.' },
  HighAPILatency: { severity: 'immediate', advice: 'Optimize or scale.' },
  HighConcurrentUsers: { severity: 'soon', advice: 'Scale soon (see /scale plan).' },
};

const SEVERITY_LABELS: Record<string, Severity> = {
  critical: 'immediate',
  page: 'immediate',
  high: 'immediate',
  error: 'immediate',
  immediate: 'immediate',
  warning: 'soon',
  warn: 'soon',
  info: 'soon',
  low: 'soon',
  soon: 'soon',
};

export class AlertmanagerPayloadError extends Error {}

/** Validates a webhook body and turns it into alerts keyed so that repeats of one alert update one breach. */
export function parseAlertmanagerPayload(body: unknown): AlertmanagerAlert[] {
  const parsed = payloadSchema.safeParse(body);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new AlertmanagerPayloadError(
      `not an Alertmanager webhook payload (version 4): ${first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid'}`,
    );
  }
  return parsed.data.alerts.map((alert) => {
    const alertname = alert.labels.alertname ?? 'UnnamedAlert';
    const guide = GUIDE_ALERTS[alertname];
    const severity = SEVERITY_LABELS[(alert.labels.severity ?? '').toLowerCase()] ?? guide?.severity ?? 'immediate';
    const identity = alert.fingerprint ?? stableLabels(alert.labels);
    const endsAt = alert.endsAt && !alert.endsAt.startsWith('0001-') ? new Date(alert.endsAt) : undefined;
    return {
      key: `alertmanager:${identity}`,
      status: alert.status,
      alertname,
      severity,
      labels: alert.labels,
      ...(alert.annotations.summary ? { summary: alert.annotations.summary } : {}),
      ...(alert.annotations.description ? { description: alert.annotations.description } : {}),
      ...(alert.annotations.value ? { value: alert.annotations.value } : {}),
      startsAt: new Date(alert.startsAt),
      ...(endsAt ? { endsAt } : {}),
      ...(alert.generatorURL ? { generatorUrl: alert.generatorURL } : {}),
      ...(guide ? { advice: guide.advice } : {}),
    };
  });
}

function stableLabels(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}
