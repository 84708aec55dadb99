import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listDecisions } from '../../db/decision-log.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { scenario, startPrometheus, startSlowProxy, step, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { checkBlockKitLimits, sendSlashCommand } from '../helpers/slack/index.ts';

const NOW = Math.floor(Date.now() / 1000);
const MIN = 60;

/** A day in the life of a server at its limit: what each default trigger should show at NOW. */
function busyServer() {
  return (
    scenario({ now: NOW })
      // breached: over 70 % since well before the 15 minutes (the rate window adds 5 min of ramp)
      .cpu('web-1:9100', step(NOW - 40 * MIN, 0.3, 0.92))
      // ok, and a second series of the same trigger
      .cpu('web-2:9100', 0.35)
      // pending: over 85 % for about 6 of the 10 minutes (a gauge: exact)
      .memory('web-1:9100', step(NOW - 6 * MIN - 30, 0.5, 0.9))
      .memory('web-2:9100', 0.4)
      .apiP99(step(NOW - 30 * MIN, 0.3, 1.7))
      .dbConnections('db-1:9187', 0.5)
      .redisMemory('redis-1:9121', 0.6)
      .errorRate(0.002)
      .concurrentUsers('web-1:9100', 650)
      .dailyActiveUsers('web-1:9100', 1500)
      .dbSize('db-1:9187', 21.4e9)
      .cacheHitRate('redis-1:9121', 0.93)
      .responseTimeTrend(1.0)
  );
}

let prometheus: PrometheusFixture;
let harness: TestBot;

beforeAll(async () => {
  prometheus = await startPrometheus({ openMetrics: busyServer().toOpenMetrics() });
  harness = await startTestBot({
    prometheusUrl: prometheus.url,
    config: 'grafana:\n  dashboard_url: https://grafana.example.com/d/scaling\n',
    clock: () => new Date(NOW * 1000),
  });
});

afterAll(async () => {
  await harness?.stop();
  await prometheus?.stop();
});

async function askStatus(text = 'status', user = 'U0PARKER') {
  const responseUrl = harness.fake.newResponseUrl({ channel: 'C0OPS', user });
  const answer = await sendSlashCommand(harness.url, harness.secret, { text, user_id: user, channel_id: 'C0OPS', response_url: responseUrl });
  return { answer, responseUrl };
}

async function responseTo(url: string) {
  const response = await harness.fake.waitFor((fake) => fake.responses.find((entry) => entry.url === url), { timeoutMs: 10_000 });
  return response.body as { text: string; blocks: Array<Record<string, any>>; response_type: string };
}

function sectionTexts(blocks: Array<Record<string, any>>): string {
  return blocks.map((block) => block.text?.text ?? block.elements?.map((element: any) => element.text).join(' ') ?? '').join('\n');
}

describe('/scale status against a real Prometheus', () => {
  it('acks at once, then answers with every trigger, its value, threshold, state and the verdict', async () => {
    const { answer, responseUrl } = await askStatus();
    expect(answer.status).toBe(200);
    const body = await responseTo(responseUrl);
    expect(body.response_type).toBe('ephemeral');
    expect(checkBlockKitLimits(body.blocks)).toEqual([]);
    expect(body.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Scale now' } });
    const text = sectionTexts(body.blocks);
    expect(text).toContain('grafana.example.com/d/scaling');
    // the breached series, per instance, and only the series that are not ok
    // mrkdwn escapes < and > as Slack asks; Slack shows them as < and >
    expect(text).toMatch(/CPU usage\* {2}\(&gt; 70 % for 15 min\)\n• `instance=web-1:9100`: 92 % · breached, held ≥ 30 min\n• 1 series ok \(35 %\)/);
    // Held within one step of 6 min: the step grid is aligned to the epoch (core/incremental-evaluation.ts).
    expect(text).toMatch(/Memory usage\* {2}\(&gt; 85 % for 10 min\)\n• `instance=web-1:9100, job=node`: 90 % · pending, held [56] min of 10 min/);
    expect(text).toMatch(/API response time P99 \(share of requests over 1 s\)\* {2}\(&gt; 1 % for 5 min\)\n1.5 % · breached, held 2[5-9] min\n/);
    expect(text).toMatch(/Database size\* {2}\(&gt; 20 GB\)\n21.4 GB · breached, held ≥ 30 min {2}`instance=db-1:9187/);
    expect(text).toMatch(/Concurrent users\* {2}\(&gt; 500\)\n650 · breached/);
    expect(text).toMatch(/Daily active users\* {2}\(&gt; 2,000\)\n1,500 · ok/);
    expect(text).toMatch(/Cache hit rate\* {2}\(&lt; 70 %\)\n93 % · ok {2}`instance=redis-1:9121/);
    expect(text).toMatch(/Error rate \(5xx\)\* {2}\(&gt; 1 % for 5 min\)\n0.2 % · ok/);
    expect(text).toMatch(/Average response time vs. same hour yesterday \(our rule, not the guide's\)\* {2}\(&gt; 1.2× for 30 min\)\n1× · ok/);
    expect(
      body.blocks.filter((block) => block.type === 'section' && /^:(red_circle|large_orange_circle|white_check_mark|grey_question):/.test(block.text.text)),
    ).toHaveLength(12);
  });

  it('records the invocation in the decision log and counts it in /metrics', async () => {
    const { responseUrl } = await askStatus('status', 'U0RECORDED');
    await responseTo(responseUrl);
    // A command is counted once its decision-log row is committed, which may be a few ms after its answer.
    await vi.waitFor(() => expect(listDecisions(harness.bot.database.db, { kinds: ['command'] }).some((row) => row.actor === 'U0RECORDED')).toBe(true));
    const metrics = await vi.waitFor(async () => {
      const text = await (await fetch(`${harness.url}/metrics`)).text();
      expect(text).toMatch(/scalebot_commands_total\{subcommand="status",outcome="scale_now"\} [1-9]/);
      return text;
    });
    // The status was judged in the Prometheus worker thread, which /metrics shows with its own heap.
    expect(metrics).toMatch(/^scalebot_prometheus_workers_started 1$/m);
    const heap = Number(/^scalebot_prometheus_worker_heap_used_bytes (\d+)$/m.exec(metrics)?.[1]);
    expect(heap).toBeGreaterThan(1024 * 1024);
    expect(metrics).toMatch(/scalebot_command_duration_seconds_count\{subcommand="status",outcome="scale_now"\} [1-9]/);
    const rows = listDecisions(harness.bot.database.db, { kinds: ['command'] }).filter((row) => row.actor === 'U0RECORDED');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: 'U0RECORDED',
      channel: 'C0OPS',
      subject: 'status',
      outcome: 'scale_now',
      detail: expect.objectContaining({ text: 'status', args: [] }),
    });
  });

  it('answers junk with help, ephemerally, and records it', async () => {
    for (const text of ['frobnicate now', 'status please', 'checklist "unclosed', '']) {
      const { answer, responseUrl } = await askStatus(text);
      expect(answer.status).toBe(200);
      const body = await responseTo(responseUrl);
      expect(body.response_type).toBe('ephemeral');
      expect(body.text).toContain('/scale status');
      expect(body.text).toContain('/scale help');
      if (text) expect(body.text).toMatch(/:warning:/);
    }
    // the row is written once the answer is sent: wait for it rather than race it
    await vi.waitFor(() => expect(listDecisions(harness.bot.database.db, { kinds: ['command'], limit: 1 })[0]?.subject).toBe('help'));
    const outcomes = listDecisions(harness.bot.database.db, { kinds: ['command'], limit: 4 }).map((row) => [row.subject, row.outcome]);
    expect(outcomes).toEqual([
      ['help', 'ok'],
      ['invalid', 'usage_error'],
      ['status', 'usage_error'],
      ['unknown', 'usage_error'],
    ]);
  });

  it('refuses a bad signature, an old timestamp and one from the future with 401, running nothing', async () => {
    // Its own user and response_url: what it counts is only what these requests caused.
    const user = 'U0MALLORY';
    const responseUrl = harness.fake.newResponseUrl();
    const command = { text: 'status', user_id: user, channel_id: 'C0OPS', response_url: responseUrl };
    const now = Math.floor(Date.now() / 1000);
    expect((await sendSlashCommand(harness.url, harness.secret, command, { signature: 'v0=deadbeef' })).status).toBe(401);
    expect((await sendSlashCommand(harness.url, 'the-wrong-secret', command)).status).toBe(401);
    expect((await sendSlashCommand(harness.url, harness.secret, command, { timestamp: now - 6 * 60 })).status).toBe(401);
    expect((await sendSlashCommand(harness.url, harness.secret, command, { timestamp: now + 6 * 60 })).status).toBe(401);
    // within the five minutes either way: accepted. Sent last, its answer and its row in the decision log come
    // after anything the refused ones could have started.
    expect((await sendSlashCommand(harness.url, harness.secret, { ...command, text: 'help' }, { timestamp: now + 60 })).status).toBe(200);
    await vi.waitFor(() => expect(listDecisions(harness.bot.database.db).filter((row) => row.actor === user)).toHaveLength(1));
    expect(
      listDecisions(harness.bot.database.db)
        .filter((row) => row.actor === user)
        .map((row) => row.subject),
    ).toEqual(['help']);
    await harness.fake.waitFor((fake) => fake.responses.some((entry) => entry.url === responseUrl));
    expect(harness.fake.responses.filter((entry) => entry.url === responseUrl)).toHaveLength(1);
  });

  it('serves health, readiness and metrics on the same port', async () => {
    expect(await (await fetch(`${harness.url}/health`)).json()).toEqual({ status: 'alive', role: 'leader' });
    const ready = await fetch(`${harness.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect((await fetch(`${harness.url}/metrics`)).headers.get('content-type')).toContain('text/plain');
    expect((await fetch(`${harness.url}/nothing-here`)).status).toBe(404);
  });
});

describe('/scale status when Prometheus fails', () => {
  it('shows every trigger as no data, never ok, when Prometheus is down', async () => {
    const down = await startTestBot();
    try {
      const url = down.fake.newResponseUrl({ channel: 'C0OPS', user: 'U1' });
      await sendSlashCommand(down.url, down.secret, { text: 'status', user_id: 'U1', channel_id: 'C0OPS', response_url: url });
      const response = await down.fake.waitFor((fake) => fake.responses.find((entry) => entry.url === url), { timeoutMs: 10_000 });
      const body = response.body as { blocks: Array<Record<string, any>> };
      expect(body.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Cannot tell: no metrics' } });
      const text = sectionTexts(body.blocks);
      expect(text).toContain('cannot be reached');
      expect(text.match(/no data/g)?.length).toBeGreaterThanOrEqual(12);
      expect(text).not.toMatch(/· ok/);
    } finally {
      await down.stop();
    }
  });

  it("acks within Slack's three seconds even when Prometheus is slower than the timeout, then says no data", async () => {
    const slow = await startSlowProxy(prometheus.url, 3000);
    const bot = await startTestBot({ prometheusUrl: slow.url, config: 'prometheus:\n  timeout: 1s\n', clock: () => new Date(NOW * 1000) });
    try {
      const url = bot.fake.newResponseUrl({ channel: 'C0OPS', user: 'U1' });
      const started = Date.now();
      const answer = await sendSlashCommand(bot.url, bot.secret, { text: 'status', user_id: 'U1', channel_id: 'C0OPS', response_url: url });
      expect(answer.status).toBe(200);
      // Slack's three seconds: waiting for this Prometheus (3 s a query) before acking would miss them.
      expect(Date.now() - started).toBeLessThan(3000);
      const response = await bot.fake.waitFor((fake) => fake.responses.find((entry) => entry.url === url), { timeoutMs: 10_000 });
      // all twelve queries ran at once: the answer took about one timeout (1 s), not twelve (bound: half of that)
      expect(Date.now() - started).toBeLessThan(6000);
      const text = sectionTexts((response.body as any).blocks);
      expect(text).toContain('did not answer within 1 s');
    } finally {
      await bot.stop();
      await slow.stop();
    }
  });
});

describe('/scale status typed by the whole team at once', () => {
  it('answers everyone who asks during one evaluation from that evaluation: 33 queries, not 33 each', async () => {
    // Each query held 300 ms: the five requests all arrive while the first evaluation runs.
    const slow = await startSlowProxy(prometheus.url, 300);
    // A max_age of its own: `auto` would read Prometheus's config through the proxy too.
    const bot = await startTestBot({ prometheusUrl: slow.url, config: 'prometheus:\n  max_age: 15s\n', clock: () => new Date(NOW * 1000) });
    try {
      const ask = async (user: string) => {
        const url = bot.fake.newResponseUrl({ channel: 'C0OPS', user });
        const answer = await sendSlashCommand(bot.url, bot.secret, { text: 'status', user_id: user, channel_id: 'C0OPS', response_url: url });
        expect(answer.status).toBe(200);
        return url;
      };
      const urls = await Promise.all(['U1', 'U2', 'U3', 'U4', 'U5'].map(ask));
      const bodies = await Promise.all(
        urls.map(async (url) => (await bot.fake.waitFor((fake) => fake.responses.find((entry) => entry.url === url), { timeoutMs: 10_000 })).body as any),
      );
      // 13 window reads (replica_lag's too, hidden while it finds no replica), 13 reads of the value at `at` (off the
      // epoch-aligned step grid: core/incremental-evaluation.ts) and 7 forecast queries.
      expect(slow.requests).toBe(33);
      for (const body of bodies) {
        expect(body.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Scale now' } });
        expect(sectionTexts(body.blocks)).not.toContain('no data');
      }
      // A question after it has finished, within max_age, is answered from it too (core/evaluation-cache.ts).
      const later = await ask('U6');
      await bot.fake.waitFor((fake) => fake.responses.find((entry) => entry.url === later), { timeoutMs: 10_000 });
      expect(slow.requests).toBe(33);
      await vi.waitFor(() => expect(listDecisions(bot.bot.database.db, { kinds: ['command'] }).filter((row) => row.subject === 'status')).toHaveLength(6));
    } finally {
      await bot.stop();
      await slow.stop();
    }
  });
});

describe('Socket Mode', () => {
  it('answers /scale status from an envelope over the WebSocket and acks it', async () => {
    const bot = await startTestBot({ prometheusUrl: prometheus.url, socketMode: true, clock: () => new Date(NOW * 1000) });
    try {
      const url = bot.fake.newResponseUrl({ channel: 'C0OPS', user: 'U2' });
      // rejects unless the bot acks this envelope within Slack's window
      await bot.fake.socket.sendSlashCommand({ text: 'status', user_id: 'U2', channel_id: 'C0OPS', response_url: url });
      const response = await bot.fake.waitFor((fake) => fake.responses.find((entry) => entry.url === url), { timeoutMs: 10_000 });
      expect((response.body as any).blocks[0]).toMatchObject({ type: 'header', text: { text: 'Scale now' } });
      expect((await fetch(`${bot.url}/health`)).status).toBe(200);
    } finally {
      await bot.stop();
    }
  });
});

describe('starting without what the bot needs', () => {
  it('names every missing setting and how to create the app', async () => {
    await expect(startTestBot({ env: { SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '' } })).rejects.toThrow(
      /SLACK_BOT_TOKEN is not set[\s\S]*SLACK_SIGNING_SECRET is not set[\s\S]*manifest\.yml/,
    );
  });

  it('keeps the database usable by another process while the bot runs (WAL)', () => {
    // a plain connection that sets no pragma: the journal mode it sees is the one the bot left in the file
    const other = new Database(harness.databaseFile, { readonly: true, fileMustExist: true });
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(other.prepare('select count(*) as n from decision_log').get()).toMatchObject({ n: expect.any(Number) });
    } finally {
      other.close();
    }
  });
});
