// The bot's flows with its state in PostgreSQL (SCALEBOT_DB=postgres://…), once each: /scale status, the watcher,
// a checklist, a runbook over SSH with four eyes, the advisor. The storage-level tests run every store on both
// dialects (tests/db); this file proves the wiring: the same bot, started the way users start it, on PostgreSQL.
import { chmodSync, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startExporter, startPrometheus, waitForValue, type Exporter, type PrometheusFixture } from '../../devkit/prometheus/index.ts';
import { startSshd, type SshdFixture } from '../../devkit/sshd/index.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { startPostgresCluster, type PostgresCluster } from '../helpers/postgres/index.ts';
import { buildBlockActionsPayload, sendInteraction, sendSlashCommand, startFakeSlack, type FakeSlack, type StoredMessage } from '../helpers/slack/index.ts';
import { WITHOUT_DEFAULT_TRIGGERS } from '../helpers/watch-config.ts';

const OPS = 'C0OPSPG001';
const ALERTS = 'C0ALERTSPG';
const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';

let cluster: PostgresCluster;
let exporter: Exporter;
let prometheus: PrometheusFixture;
let sshd: SshdFixture;
let fake: FakeSlack;
let harness: TestBot;
let databaseUrl: string;
const sshdHome = mkdtempSync(join(tmpdir(), 'scalebot-pg-flows-home-'));
chmodSync(sshdHome, 0o755);
const sql = (statement: string) => cluster.psql(statement, { database: 'scalebot_flows' });

function config(): string {
  const host = sshd.host;
  return `slack:
  alerts_channel: ${ALERTS}
charts:
  enabled: false
watch:
  enabled: true
  interval: 1s
  resolve_after: 2s
prometheus:
  lookback: 60s
  timeout: 3s
triggers:
${WITHOUT_DEFAULT_TRIGGERS}
  - id: load
    name: Load
    severity: immediate
    query: "max by (instance) (test_load)"
    op: ">"
    threshold: 0.7
    for: 2s
    unit: percent
hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
runbooks:
  - id: hello
    title: Say hello
    approval: { approvers: [${LEAD}], required: 1, allow_self: false, expires: 30m }
    params:
      - { name: target, type: host }
    steps:
      - { id: hello, title: Hello, host: "{{target}}", run: "echo hello-from-postgres", timeout: 30s }
`;
}

async function command(text: string, user: string, channel = OPS): Promise<string> {
  const responseUrl = fake.newResponseUrl({ channel, user });
  const answer = await sendSlashCommand(harness.url, harness.secret, { text, user_id: user, channel_id: channel, response_url: responseUrl });
  expect(answer.status).toBe(200);
  return responseUrl;
}

async function answerAt(url: string): Promise<string> {
  const response = await fake.waitFor((f) => f.responses.find((entry) => entry.url === url), { timeoutMs: 20_000 });
  return JSON.stringify(response.body);
}

async function click(user: string, message: StoredMessage, actionId: string, channel = OPS): Promise<string> {
  const responseUrl = fake.newResponseUrl({ channel, user, messageTs: message.ts });
  const payload = buildBlockActionsPayload({ user, channel, message, action: { action_id: actionId }, response_url: responseUrl });
  expect((await sendInteraction(harness.url, harness.secret, payload)).status).toBe(200);
  return responseUrl;
}

const topLevel = (channel: string) => fake.messages(channel).filter((message) => !message.thread_ts || message.thread_ts === message.ts);

beforeAll(async () => {
  [cluster, exporter, sshd] = await Promise.all([startPostgresCluster(), startExporter(), startSshd({ env: { HOME: sshdHome } })]);
  exporter.set('test_load', { instance: 'web-1' }, 0.2);
  prometheus = await startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 });
  await cluster.psql('CREATE DATABASE scalebot_flows');
  databaseUrl = `postgres://postgres@127.0.0.1:${cluster.port}/scalebot_flows`;
  fake = await startFakeSlack();
  harness = await startTestBot({
    prometheusUrl: prometheus.url,
    config: config(),
    fake,
    env: { SCALEBOT_DB: databaseUrl, SCALEBOT_LEASE_SECONDS: '3', LOG_LEVEL: process.env.FLOWS_LOG ? 'info' : 'silent' },
    ...(process.env.FLOWS_LOG ? { logDestination: createWriteStream(process.env.FLOWS_LOG) } : {}),
  });
}, 90_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await prometheus?.stop();
  await exporter?.stop();
  await sshd?.stop();
  await cluster?.destroy();
  rmSync(sshdHome, { recursive: true, force: true });
});

describe('the bot on PostgreSQL', () => {
  it('keeps its state in PostgreSQL, not in a file named after the URL', async () => {
    expect(await cluster.psql("SELECT count(*) FROM information_schema.tables WHERE table_name = 'decision_log'", { database: 'scalebot_flows' })).toBe('1');
    // Ready at once; the leader once it has taken the lease (it is the only replica).
    await vi.waitFor(
      async () => {
        const ready = await fetch(`${harness.url}/health/ready`);
        expect(ready.status).toBe(200);
        expect(await ready.json()).toMatchObject({ role: 'leader' });
      },
      { timeout: 20_000, interval: 100 },
    );
  });

  it('/scale status answers from live Prometheus and logs the command in PostgreSQL', async () => {
    const text = await answerAt(await command('status', REQUESTER));
    expect(text).toContain('Load');
    await vi.waitFor(
      async () =>
        expect(
          Number(await cluster.psql("SELECT count(*) FROM decision_log WHERE kind = 'command' AND subject = 'status'", { database: 'scalebot_flows' })),
        ).toBe(1),
      { timeout: 10_000 },
    );
  });

  it('the watcher posts a breach once, and resolves it in its thread', { timeout: 90_000 }, async () => {
    exporter.set('test_load', { instance: 'web-1' }, 0.95);
    const breach = await fake.waitFor(() => topLevel(ALERTS).find((message) => JSON.stringify(message.blocks).includes('Load')), { timeoutMs: 30_000 });
    exporter.set('test_load', { instance: 'web-1' }, 0.2);
    await waitForValue(prometheus, 'max(test_load)', (value) => value !== undefined && value < 0.5, 20_000);
    await fake.waitFor(() => fake.messages(ALERTS).find((message) => message.thread_ts === breach.ts && message.ts !== breach.ts), { timeoutMs: 30_000 });
    expect(topLevel(ALERTS)).toHaveLength(1);
    const rows = await cluster.psql("SELECT status FROM breaches WHERE trigger_id = 'load'", { database: 'scalebot_flows' });
    expect(rows).toBe('resolved');
  });

  it('walks a checklist: a tick is stored, shown and logged', async () => {
    await command('checklist before', REQUESTER);
    const message = await fake.waitFor(() => fake.messages(OPS).find((m) => m.metadata?.event_payload.key === 'checklist:1'), { timeoutMs: 20_000 });
    const toggle = JSON.stringify(message.blocks).match(/"action_id":"(checklist_toggle_[^"]+)"/)![1]!;
    await click(LEAD, message, toggle);
    await fake.waitFor(() => JSON.stringify(fake.messages(OPS).find((m) => m.ts === message.ts)?.blocks).includes('1 of 8 done'), { timeoutMs: 20_000 });
    expect(await cluster.psql('SELECT actor, action FROM checklist_events WHERE run_id = 1', { database: 'scalebot_flows' })).toBe(`${LEAD}|tick`);
  });

  /** `/scale run hello` as the requester, approved by the lead once its message is posted; returns the run's id. */
  async function requestAndApprove(runId: number): Promise<void> {
    await command('run hello target=local', REQUESTER);
    const plan = await fake.waitFor(() => fake.messages(OPS).find((m) => m.metadata?.event_payload.key === `run:${runId}`), { timeoutMs: 20_000 });
    // A person clicks once the message is there; the bot knows its ts a moment after Slack answered the post.
    await vi.waitFor(async () => expect(await sql(`SELECT status FROM slack_outbox WHERE dedupe_key = 'run:${runId}'`)).toBe('sent'), { timeout: 10_000 });
    await click(LEAD, plan, 'run_approve');
  }

  const runStatus = (runId: number) => sql(`SELECT status FROM runbook_runs WHERE id = ${runId}`);
  const stepPosts = (runId: number) => fake.callsTo('chat.postMessage').filter((call) => JSON.stringify(call).includes(`run:${runId}:step:`)).length;

  it('runs a runbook over SSH after a second person approves it, every decision in the log', { timeout: 60_000 }, async () => {
    await requestAndApprove(1);
    await vi.waitFor(async () => expect(await runStatus(1)).toBe('succeeded'), { timeout: 30_000, interval: 200 });
    expect(await sql('SELECT output FROM run_steps WHERE run_id = 1')).toContain('hello-from-postgres');
    const kinds = (await sql('SELECT kind FROM decision_log ORDER BY id')).split('\n');
    expect(kinds).toEqual(expect.arrayContaining(['run_requested', 'approval', 'run_succeeded']));
  });

  it('a host that has seen a newer token of this deployment starts nothing: the step is recorded fenced, the run fails once, no retry loop', {
    timeout: 60_000,
  }, async () => {
    const deployment = await harness.bot.storage.leases.deployment();
    const fenceFile = join(
      sshdHome,
      '.cache/scalebot/locks',
      `${readFileSync('/proc/sys/kernel/hostname', 'utf8')
        .trim()
        .replace(/[^A-Za-z0-9_.-]/g, '')}-fence-${deployment}.token`,
    );
    expect(existsSync(fenceFile), 'the first run recorded its token under this deployment').toBe(true);
    writeFileSync(fenceFile, '999999\n');
    await requestAndApprove(2);
    await vi.waitFor(async () => expect(await runStatus(2)).toBe('failed'), { timeout: 30_000, interval: 200 });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await sql('SELECT status FROM run_steps WHERE run_id = 2')).toBe('fenced');
    expect(await runStatus(2)).toBe('failed');
    expect(stepPosts(2)).toBe(1);
    rmSync(fenceFile);
  });

  it('the advisor walks the decision tree on live metrics', async () => {
    const text = await answerAt(await command('advise', REQUESTER));
    expect(text).toMatch(/advise|scale/i);
    await vi.waitFor(
      async () =>
        expect(
          Number(await cluster.psql("SELECT count(*) FROM decision_log WHERE kind = 'command' AND subject = 'advise'", { database: 'scalebot_flows' })),
        ).toBe(1),
      { timeout: 10_000 },
    );
  });
});
