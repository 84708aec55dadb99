// A `when_present` trigger (replica lag) whose series go away, as they do once the replica is removed: its open
// breach clears after resolve_after like any condition that ended, where it used to stay open as "no data"
// forever. A real Prometheus scraping an exporter, the bot's own watcher, the fake Slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDecisions } from '../../db/decision-log.ts';
import { startExporter, startPrometheus, waitForValue, type Exporter, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import { WITHOUT_DEFAULT_TRIGGERS } from '../helpers/watch-config.ts';

const CHANNEL = 'C0ALERTS';
const CONFIG = `prometheus:
  lookback: 60s
  timeout: 3s
  max_age: 0s
slack:
  alerts_channel: ${CHANNEL}
charts:
  enabled: false
watch:
  enabled: false
  resolve_after: 2s
triggers:
${WITHOUT_DEFAULT_TRIGGERS}
  - { id: lag, name: Replica lag, severity: immediate, query: "max by (instance) (test_lag)", op: ">", threshold: 10, unit: seconds, when_present: true }
`;

let exporter: Exporter;
let prometheus: PrometheusFixture;
let fake: FakeSlack;
let harness: TestBot;

beforeAll(async () => {
  exporter = await startExporter();
  exporter.set('test_lag', { instance: 'replica-1' }, 45);
  prometheus = await startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 });
  fake = await startFakeSlack();
  harness = await startTestBot({ prometheusUrl: prometheus.url, config: CONFIG, fake });
  await waitForValue(prometheus, 'test_lag', (value) => value === 45, 20_000);
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await prometheus?.stop();
  await exporter?.stop();
});

describe('a when_present trigger whose series are gone', () => {
  it('resolves the breach it had opened, after resolve_after, in its message and its thread', async () => {
    expect(await harness.bot.watcher.runCycle()).toMatchObject({ blind: false, opened: 1 });
    const [message] = fake.messages(CHANNEL);
    expect(message?.text).toContain('Replica lag');

    exporter.remove('test_lag', { instance: 'replica-1' });
    await waitForValue(prometheus, 'test_lag', (_value, vector) => vector.length === 0, 20_000);
    expect(await harness.bot.watcher.runCycle()).toMatchObject({ blind: false, resolved: 0, open: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect(await harness.bot.watcher.runCycle()).toMatchObject({ blind: false, resolved: 1, open: 0 });

    const resolved = listDecisions(harness.bot.database.db, { kinds: ['breach_resolved'] });
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({ subject: 'lag', outcome: 'resolved' });
    await fake.waitFor((f) => f.messages(CHANNEL).find((reply) => reply.thread_ts === message!.ts && reply.ts !== message!.ts));
  }, 60_000);
});
