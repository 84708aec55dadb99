import { startPlayground, type RunningPlayground } from '../../playground/start-playground.ts';
import { unusedLoopbackUrl } from '../../devkit/prometheus/index.ts';

export const ALERTMANAGER_TOKEN = 'playground-test-alertmanager-token';

/**
 * The playground as `npm run playground` starts it, without --demo, with a Prometheus URL where nothing
 * listens (the honest "no data") and a known Alertmanager token, so a test can open a breach at once.
 */
export async function startTestPlayground(): Promise<RunningPlayground> {
  return startPlayground({
    port: 0,
    env: { PROMETHEUS_URL: await unusedLoopbackUrl(), LOG_LEVEL: 'silent', ALERTMANAGER_TOKEN, PATH: process.env.PATH },
  });
}

/** One firing alert through the bot's real Alertmanager webhook: a breach message with its buttons, posted at once. */
export async function fireAlert(playground: RunningPlayground, name = 'HighCPUUsage'): Promise<void> {
  const alert = {
    version: '4',
    groupKey: `{}:{alertname="${name}"}`,
    status: 'firing',
    receiver: 'scalebot',
    groupLabels: { alertname: name },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: name, instance: 'app-1:9100', severity: 'critical' },
        annotations: { summary: 'CPU at 86 % for 15 minutes' },
        startsAt: new Date(Date.now() - 900_000).toISOString(),
        endsAt: '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus.example:9090/graph',
        fingerprint: `fp-${name}`,
      },
    ],
  };
  const response = await fetch(`${playground.bot.url}/alertmanager`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ALERTMANAGER_TOKEN}` },
    body: JSON.stringify(alert),
  });
  if (!response.ok) throw new Error(`the bot refused the alert: ${response.status} ${await response.text()}`);
}
