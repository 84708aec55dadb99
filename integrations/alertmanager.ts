import type { AlertmanagerAlert } from '../core/alerts.ts';
import { z } from 'zod';
import type { Severity } from '../core/triggers.ts';

/**
 * What one webhook request may hold. Alertmanager sends a group's alerts in one request (all of them unless
 * `max_alerts` is set in its webhook_config); a request past these limits is refused whole, so that a
 * misconfigured or hostile sender cannot open a thousand breaches (and post a thousand messages) at once.
 */
export const ALERTMANAGER_LIMITS = {
  bodyBytes: 1024 * 1024,
  /** Firing alerts in one request: each may open a breach and post a message. */
  firingAlerts: 100,
  /** All alerts in one request (resolved ones only close breaches, so they may be more). */
  alerts: 1000,
  labelsPerAlert: 64,
  annotationsPerAlert: 32,
  nameChars: 128,
  labelValueChars: 1024,
  annotationValueChars: 8192,
  urlChars: 2048,
} as const;

/** Go's time.Time in JSON (RFC 3339, with or without fractional seconds, Z or an offset). */
const rfc3339 = z.iso.datetime({ offset: true, error: 'not an RFC 3339 time (like 2026-11-28T14:00:00Z)' });

function boundedRecord(what: string, maxEntries: number, maxValueChars: number) {
  return z
    .record(
      z
        .string()
        .min(1, `a ${what} name is empty`)
        .max(ALERTMANAGER_LIMITS.nameChars, `a ${what} name is longer than ${ALERTMANAGER_LIMITS.nameChars} characters`),
      z.string({ error: `a ${what} value is not a string` }).max(maxValueChars, `a ${what} value is longer than ${maxValueChars} characters`),
      { error: `not an object of ${what}s` },
    )
    .refine((record) => Object.keys(record).length <= maxEntries, `more than ${maxEntries} ${what}s`);
}

const labels = boundedRecord('label', ALERTMANAGER_LIMITS.labelsPerAlert, ALERTMANAGER_LIMITS.labelValueChars);
const annotations = boundedRecord('annotation', ALERTMANAGER_LIMITS.annotationsPerAlert, ALERTMANAGER_LIMITS.annotationValueChars);
const status = z.enum(['firing', 'resolved'], { error: 'is neither "firing" nor "resolved"' });
const optionalText = (max: number) => z.string().max(max, `longer than ${max} characters`).optional();

/** Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
const alertSchema = z.object({
  status,
  labels: labels.refine((record) => typeof record.alertname === 'string' && record.alertname.trim() !== '', {
    message: 'has no alertname (a non-empty string)',
  }),
  annotations: annotations.default({}),
  startsAt: rfc3339,
  endsAt: rfc3339,
  generatorURL: optionalText(ALERTMANAGER_LIMITS.urlChars),
  fingerprint: z.string().min(1, 'is empty').max(ALERTMANAGER_LIMITS.nameChars, `longer than ${ALERTMANAGER_LIMITS.nameChars} characters`).optional(),
});
const payloadSchema = z
  .object(
    {
      version: z.literal('4', { error: 'is not "4" (the webhook payload version this receiver reads)' }),
      status,
      receiver: optionalText(ALERTMANAGER_LIMITS.nameChars * 2),
      groupKey: optionalText(ALERTMANAGER_LIMITS.labelValueChars * 8),
      truncatedAlerts: z.number().int().nonnegative().optional(),
      groupLabels: labels.optional(),
      commonLabels: labels.optional(),
      commonAnnotations: annotations.optional(),
      externalURL: optionalText(ALERTMANAGER_LIMITS.urlChars),
      alerts: z.array(alertSchema, { error: 'is not an array of alerts' }).min(1, 'holds no alert'),
    },
    { error: 'is not a JSON object' },
  )
  .superRefine((payload, context) => {
    // Alertmanager's group status is "firing" while any of its alerts fires.
    const firing = payload.alerts.findIndex((alert) => alert.status === 'firing');
    if (payload.status === 'resolved' && firing >= 0) {
      context.addIssue({ code: 'custom', path: ['status'], message: `is "resolved" but alerts[${firing}] is firing` });
    }
  });

export type { AlertmanagerAlert };

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

/** A body this receiver will not take; `status` is the HTTP answer (400 malformed, 413 too much). */
export class AlertmanagerPayloadError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 413 = 400,
  ) {
    super(message);
    this.name = 'AlertmanagerPayloadError';
  }
}

/** `alerts.3.labels` → `alerts[3].labels`: the alert's index and field, as a reader looks for them. */
function describePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `${out ? '.' : ''}${String(part)}`;
  return out || 'body';
}

const MAX_REASONS = 3;

function tooMany(count: number, limit: number, what: string): AlertmanagerPayloadError {
  return new AlertmanagerPayloadError(
    `${count} ${what} in one request; this receiver takes at most ${limit}, and opened nothing. ` +
      `Set max_alerts: ${ALERTMANAGER_LIMITS.firingAlerts} in Alertmanager's webhook_config for scalebot, or group alerts more finely.`,
    413,
  );
}

/**
 * Validates a webhook body and turns it into alerts keyed so that repeats of one alert update one breach.
 * All or nothing: a body that is malformed anywhere, or holds more than the limits, yields no alert.
 */
export function parseAlertmanagerPayload(body: unknown): AlertmanagerAlert[] {
  // Counted before validating, so that a huge array is not walked alert by alert only to be refused.
  const rawAlerts = (body as { alerts?: unknown } | null)?.alerts;
  if (Array.isArray(rawAlerts) && rawAlerts.length > ALERTMANAGER_LIMITS.alerts) throw tooMany(rawAlerts.length, ALERTMANAGER_LIMITS.alerts, 'alerts');
  const parsed = payloadSchema.safeParse(body);
  if (!parsed.success) {
    const reasons = parsed.error.issues.slice(0, MAX_REASONS).map((issue) => `${describePath(issue.path)}: ${issue.message}`);
    const more = parsed.error.issues.length > MAX_REASONS ? ` (and ${parsed.error.issues.length - MAX_REASONS} more)` : '';
    throw new AlertmanagerPayloadError(`not an Alertmanager webhook payload (version 4): ${reasons.join('; ')}${more}`);
  }
  const firing = parsed.data.alerts.filter((alert) => alert.status === 'firing').length;
  if (firing > ALERTMANAGER_LIMITS.firingAlerts) throw tooMany(firing, ALERTMANAGER_LIMITS.firingAlerts, 'firing alerts');
  return parsed.data.alerts.map((alert) => {
    const alertname = alert.labels.alertname!;
    const guide = Object.hasOwn(GUIDE_ALERTS, alertname) ? GUIDE_ALERTS[alertname] : undefined;
    const severityLabel = (alert.labels.severity ?? '').toLowerCase();
    const severity = (Object.hasOwn(SEVERITY_LABELS, severityLabel) ? SEVERITY_LABELS[severityLabel] : undefined) ?? guide?.severity ?? 'immediate';
    const identity = alert.fingerprint ?? stableLabels(alert.labels);
    // Alertmanager's "no end" is Go's zero time.
    const endsAt = alert.endsAt.startsWith('0001-') ? undefined : new Date(alert.endsAt);
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
