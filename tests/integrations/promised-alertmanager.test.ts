import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAlertmanagerPayload } from '../../integrations/alertmanager.ts';

// README: `severity: critical|page|high` labels become "scale now", `warning|info` "scale soon"; without the
// label the guide's alert names decide.
const GUIDE_ALERTS = {
  HighCPUUsage: 'immediate',
  HighMemoryUsage: 'immediate',
  DatabaseConnectionsHigh: 'immediate',
  HighAPILatency: 'immediate',
  HighConcurrentUsers: 'soon',
} as const;
const LABELS = { critical: 'immediate', page: 'immediate', high: 'immediate', warning: 'soon', info: 'soon' } as const;

function severityOf(labels: Record<string, string>): string {
  const [alert] = parseAlertmanagerPayload({
    version: '4',
    groupKey: '{}:{}',
    status: 'firing',
    receiver: 'scalebot',
    alerts: [
      {
        status: 'firing',
        labels,
        annotations: {},
        startsAt: '2026-12-04T10:00:00Z',
        endsAt: '0001-01-01T00:00:00Z',
      },
    ],
  });
  return alert!.severity;
}

describe('Alertmanager severities', () => {
  it('page, high and critical mean scale now; warning and info scale soon, whatever the case and the alert name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(LABELS) as (keyof typeof LABELS)[])),
        fc.constantFrom(...Object.keys(GUIDE_ALERTS), 'SomethingElse'),
        fc.constantFrom('lower', 'upper', 'title'),
        (label, alertname, casing) => {
          const written = casing === 'upper' ? label.toUpperCase() : casing === 'title' ? label[0]!.toUpperCase() + label.slice(1) : label;
          expect(severityOf({ alertname, severity: written })).toBe(LABELS[label]);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("without a severity label, the guide's alert names decide: HighConcurrentUsers is soon, the other four now", () => {
    for (const [alertname, severity] of Object.entries(GUIDE_ALERTS)) {
      expect(severityOf({ alertname, instance: 'db-1:9187' }), alertname).toBe(severity);
    }
  });

  it("a label the bot does not know falls back to the guide's alert name too", () => {
    expect(severityOf({ alertname: 'HighConcurrentUsers', severity: 'whenever' })).toBe('soon');
    expect(severityOf({ alertname: 'HighCPUUsage', severity: 'whenever' })).toBe('immediate');
  });
});
