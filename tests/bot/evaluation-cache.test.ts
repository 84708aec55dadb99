// The bot's evaluation cache against a real Prometheus: /scale status within prometheus.max_age sends no
// query, says how old its figures are, and max_age auto follows the scrape interval Prometheus reports.
// The queries are counted by Prometheus itself (prometheus_http_requests_total of /api/v1/query_range).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../bot/cli.ts';
import { scenario, startPrometheus, step, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { readScrapeInterval, scrapeIntervalOf } from '../../integrations/prometheus-config.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { sendSlashCommand } from '../helpers/slack/index.ts';

const NOW = Math.floor(Date.now() / 1000);
/** Not Prometheus's default nor our fallback (15 s): only a reading of its config gives it. */
const SCRAPE_INTERVAL_SECONDS = 7;

let prometheus: PrometheusFixture;
let harness: TestBot;
let nowMs = NOW * 1000;

beforeAll(async () => {
  const history = scenario({ now: NOW, hours: 2 })
    .cpu('web-1:9100', step(NOW - 40 * 60, 0.3, 0.92))
    .memory('web-1:9100', 0.4);
  prometheus = await startPrometheus({ openMetrics: history.toOpenMetrics(), scrapeIntervalSeconds: SCRAPE_INTERVAL_SECONDS });
  harness = await startTestBot({ prometheusUrl: prometheus.url, clock: () => new Date(nowMs) });
});

afterAll(async () => {
  await harness?.stop();
  await prometheus?.stop();
});

/** Range queries Prometheus has answered so far. */
async function rangeQueriesSent(): Promise<number> {
  const text = await (await fetch(`${prometheus.url}/metrics`)).text();
  return [...text.matchAll(/^prometheus_http_requests_total\{[^}]*handler="\/api\/v1\/query_range"[^}]*\} (\d+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

async function askStatus(user: string): Promise<string> {
  const responseUrl = harness.fake.newResponseUrl({ channel: 'C0OPS', user });
  const answer = await sendSlashCommand(harness.url, harness.secret, { text: 'status', user_id: user, channel_id: 'C0OPS', response_url: responseUrl });
  expect(answer.status).toBe(200);
  const response = await harness.fake.waitFor((fake) => fake.responses.find((entry) => entry.url === responseUrl), { timeoutMs: 10_000 });
  const body = response.body as { blocks: Array<{ type: string; elements?: Array<{ text: string }> }> };
  return body.blocks.find((block) => block.type === 'context')?.elements?.[0]?.text ?? '';
}

describe('the evaluation cache in the bot, against a real Prometheus', () => {
  it('max_age auto reads the scrape interval Prometheus reports', async () => {
    expect(await readScrapeInterval({ url: prometheus.url, timeoutMs: 2000 })).toBe(SCRAPE_INTERVAL_SECONDS);
    await vi.waitFor(async () => {
      const metrics = await (await fetch(`${harness.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`^scalebot_evaluation_max_age_seconds ${SCRAPE_INTERVAL_SECONDS}$`, 'm'));
    });
  });

  it('answers two /scale status within max_age from one evaluation, saying how old it is; one past it asks again', async () => {
    const before = await rangeQueriesSent();
    expect(await askStatus('U0FIRST')).toMatch(/Evaluated just now \(<!date\^/);
    const afterFirst = await rangeQueriesSent();
    expect(afterFirst).toBeGreaterThan(before);

    nowMs += 6_000;
    expect(await askStatus('U0SECOND')).toMatch(/Evaluated 6 s ago \(<!date\^/);
    expect(await rangeQueriesSent()).toBe(afterFirst);

    nowMs += SCRAPE_INTERVAL_SECONDS * 1000;
    expect(await askStatus('U0THIRD')).toMatch(/Evaluated just now/);
    expect(await rangeQueriesSent()).toBeGreaterThan(afterFirst);
    const metrics = await (await fetch(`${harness.url}/metrics`)).text();
    expect(metrics).toMatch(/^scalebot_evaluation_cache_requests_total\{outcome="hit"\} [1-9]/m);
    expect(metrics).toMatch(/^scalebot_evaluation_cache_requests_total\{outcome="miss"\} [2-9]/m);
  });

  it('leaves `scalebot status` out: the CLI asks Prometheus every time', async () => {
    const io = { stdout: () => {}, stderr: () => {}, env: { PROMETHEUS_URL: prometheus.url } };
    const at = new Date(NOW * 1000).toISOString();
    await runCli(['status', '--at', at], io);
    const between = await rangeQueriesSent();
    await runCli(['status', '--at', at], io);
    expect(await rangeQueriesSent()).toBeGreaterThan(between);
  });
});

describe('scrapeIntervalOf', () => {
  it('takes the shortest of the global interval and every job’s', () => {
    const yaml = 'global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: a\n    scrape_interval: 1m\n  - job_name: b\n    scrape_interval: 5s\n';
    expect(scrapeIntervalOf(yaml)).toBe(5);
    expect(scrapeIntervalOf('global:\n  scrape_interval: 1m30s\n')).toBe(90);
    expect(scrapeIntervalOf('global: {}\n')).toBeNull();
  });
});
