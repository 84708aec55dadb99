import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogLevel, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { buildPlaygroundConfig } from '../../playground/config.ts';
import { startPageServer } from '../../playground/page-server.ts';
import { PlaygroundEmulator, type ViewMessage } from '../../playground/person-side.ts';
import type { RunningPlayground } from '../../playground/start-playground.ts';
import { ALERTS_CHANNEL, OPS_GROUP } from '../../playground/workspace.ts';
import { startFakeSlack } from '../helpers/slack/index.ts';
import { fireAlert, startTestPlayground } from './helpers.ts';

const ANA = 'U0PLAYANA';
const BEN = 'U0PLAYBEN';
const CAS = 'U0PLAYCAS';
const OPS = ALERTS_CHANNEL.id;
const GENERAL = 'C0PLAYGEN';

function messagesOf(playground: RunningPlayground | PlaygroundEmulator, user: string, channel: string): ViewMessage[] {
  const emulator = playground instanceof PlaygroundEmulator ? playground : playground.emulator;
  return emulator.view(user).channels.find((c) => c.id === channel)!.messages;
}

async function waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the emulator lets a response_url change the ephemeral message a click came from, as Slack does', () => {
  it('replaces and deletes that ephemeral, and only that one', async () => {
    const fake = await startFakeSlack();
    try {
      const web = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
      const first = await web.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'pick one' });
      await web.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'another' });
      const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const url = fake.newResponseUrl({ channel: 'C1', user: 'U1', messageTs: first.message_ts!, ephemeral: true });
      expect((await post(url, { replace_original: true, text: 'picked' })).status).toBe(200);
      expect(fake.ephemeral(first.message_ts!)?.text).toBe('picked');
      expect(fake.ephemerals('C1').map((m) => m.text)).toEqual(['picked', 'another']);
      expect((await post(url, { delete_original: true })).status).toBe(200);
      expect(fake.ephemerals('C1').map((m) => m.text)).toEqual(['another']);
    } finally {
      await fake.close();
    }
  });
});

describe('files the bot shares, on the page', () => {
  it("lists an uploaded chart on its message and serves its bytes through the page's own server, and nothing else", async () => {
    const botToken = 'xoxb-playground-files-test';
    const emulator = await PlaygroundEmulator.start({ botToken });
    const page = await startPageServer({ emulator, status: () => ({ alertsChannel: OPS }), commandHints: [] });
    try {
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really the rest of a png')]);
      const web = new WebClient(botToken, { slackApiUrl: emulator.apiUrl, logLevel: LogLevel.ERROR });
      const ticket = (await web.files.getUploadURLExternal({ filename: 'cpu.png', length: png.length, alt_text: 'CPU at 86 %' })) as {
        upload_url: string;
        file_id: string;
      };
      expect((await fetch(ticket.upload_url, { method: 'POST', body: png })).status).toBe(200);
      await web.files.completeUploadExternal({ files: [{ id: ticket.file_id, title: 'CPU usage' }], channel_id: OPS, initial_comment: 'the chart' });

      const shared = await waitFor(() => messagesOf(emulator, ANA, OPS).find((m) => m.files?.length));
      expect(shared.files).toEqual([
        { id: ticket.file_id, name: 'cpu.png', title: 'CPU usage', mimetype: 'image/png', altText: 'CPU at 86 %', url: `/api/files/${ticket.file_id}` },
      ]);
      const served = await fetch(new URL(shared.files![0]!.url, page.url));
      expect(served.status).toBe(200);
      expect(served.headers.get('content-type')).toBe('image/png');
      expect(served.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await served.arrayBuffer()).equals(png)).toBe(true);
      // Only files a message shares, by a Slack file id: not a path, not a guess.
      expect((await fetch(new URL('/api/files/F0NOSUCHFILE', page.url))).status).toBe(404);
      expect((await fetch(new URL('/api/files/..%2F..%2Fetc%2Fpasswd', page.url))).status).toBe(404);
    } finally {
      await page.close();
      await emulator.close();
    }
  });
});

describe('the emulator shows what Slack would refuse, where it would have appeared', () => {
  let emulator: PlaygroundEmulator;
  let web: WebClient;
  beforeAll(async () => {
    emulator = await PlaygroundEmulator.start({ botToken: 'xoxb-playground-test' });
    // The client logs Slack's refusals itself; here they are the point, so keep them out of the test output.
    const quiet = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => LogLevel.ERROR, setName() {} };
    web = new WebClient('xoxb-playground-test', { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 }, logger: quiet });
  });
  afterAll(() => emulator?.close());

  it("refuses blocks over Slack's limits, an unknown ts on chat.update, a missing channel and any other token", async () => {
    const blocks = Array.from({ length: 51 }, (_, i) => ({ type: 'section' as const, text: { type: 'mrkdwn' as const, text: `line ${i}` } }));
    await expect(web.chat.postMessage({ channel: OPS, text: 'too many', blocks })).rejects.toThrow(/invalid_blocks/);
    await expect(web.chat.update({ channel: OPS, ts: '1700000000.000100', text: 'edit' })).rejects.toThrow(/message_not_found/);
    await expect(web.chat.postMessage({ text: 'where?' } as never)).rejects.toThrow(/channel_not_found/);
    const stranger = new WebClient('xoxb-a-real-looking-token', { slackApiUrl: emulator.apiUrl, retryConfig: { retries: 0 } });
    await expect(stranger.auth.test()).rejects.toThrow(/invalid_auth/);

    const notices = messagesOf(emulator, CAS, OPS)
      .filter((m) => m.kind === 'notice')
      .map((m) => m.text);
    expect(notices).toHaveLength(4);
    expect(notices[0]).toMatch(/^Slack would refuse this too: the bot's `chat.postMessage` call was answered `invalid_blocks`: .*50/);
    expect(notices[1]).toContain('`chat.update` call was answered `message_not_found`');
    expect(notices[2]).toContain('`chat.postMessage` call was answered `channel_not_found`');
    expect(notices[3]).toContain('`auth.test` call was answered `invalid_auth`');
    expect(emulator.view(CAS).activity.filter((entry) => !entry.ok)).toHaveLength(4);
  });
});

describe('the playground in front of the real bot', () => {
  let playground: RunningPlayground;
  beforeAll(async () => {
    playground = await startTestPlayground();
  });
  afterAll(() => playground?.stop());

  it('sends /scale to the bot as a signed slash command and shows the ephemeral answer to the one who typed it', async () => {
    expect(await playground.emulator.submit({ user: ANA, channel: GENERAL, text: '/scale help' })).toEqual({ ok: true });
    const answer = await waitFor(() => messagesOf(playground, ANA, GENERAL).find((m) => m.kind === 'ephemeral'));
    expect(answer.text).toContain('What `/scale` can do');
    expect(answer.via).toBe('response_url');
    expect(messagesOf(playground, ANA, GENERAL).map((m) => m.kind)).toEqual(['command', 'ephemeral']);
    expect(messagesOf(playground, BEN, GENERAL)).toEqual([]);
  });

  it('answers "no data" honestly when no Prometheus answers', async () => {
    await playground.emulator.submit({ user: BEN, channel: GENERAL, text: '/scale status' });
    const answer = await waitFor(() => messagesOf(playground, BEN, GENERAL).find((m) => m.kind === 'ephemeral'));
    expect(answer.text).toMatch(/^Cannot tell: no metrics: 13 no data/); // replica_lag too: with no answer, no one knows whether a replica exists
    expect(playground.status().prometheus).toMatchObject({ mode: 'external', answers: false });
  });

  it("refuses other slash commands as Slack does, and posts anything else as the person's message", async () => {
    expect((await playground.emulator.submit({ user: CAS, channel: GENERAL, text: '/deploy now' })).ok).toBe(false);
    expect(messagesOf(playground, CAS, GENERAL).at(-1)).toMatchObject({ kind: 'notice', level: 'error' });
    expect(messagesOf(playground, CAS, GENERAL).at(-1)?.text).toContain('`/deploy` is not a valid command');
    await playground.emulator.submit({ user: CAS, channel: GENERAL, text: 'hello <b>ops</b> & co' });
    expect(
      messagesOf(playground, ANA, GENERAL)
        .filter((m) => m.kind === 'message')
        .at(-1),
    ).toMatchObject({ user: CAS, isBot: false, text: 'hello &lt;b&gt;ops&lt;/b&gt; &amp; co' });
  });

  it('clicks as the chosen person: a refusal is theirs alone, an acknowledgement edits the message in place', async () => {
    await fireAlert(playground);
    const breach = await waitFor(() => messagesOf(playground, ANA, OPS).find((m) => m.kind === 'message' && m.text.startsWith('Scale now: HighCPUUsage')));
    expect(JSON.stringify(breach.blocks)).toContain('alert_ack');

    expect(await playground.emulator.act({ user: CAS, channel: OPS, ts: breach.ts, actionId: 'alert_ack' })).toEqual({ ok: true });
    const refusal = await waitFor(() => messagesOf(playground, CAS, OPS).find((m) => m.kind === 'ephemeral'));
    expect(refusal.text).toBe(`:no_entry: Only <!subteam^${OPS_GROUP.id}> may acknowledge or snooze alerts (\`watch.responders\`). Nothing was changed.`);
    expect(messagesOf(playground, BEN, OPS).some((m) => m.kind === 'ephemeral')).toBe(false);

    await playground.emulator.act({ user: BEN, channel: OPS, ts: breach.ts, actionId: 'alert_ack' });
    const edited = await waitFor(() =>
      messagesOf(playground, ANA, OPS).find((m) => m.ts === breach.ts && JSON.stringify(m.blocks).includes(`acknowledged by <@${BEN}>`)),
    );
    expect(edited.edits).toBe(1);
    expect(JSON.stringify(edited.blocks)).not.toContain('alert_ack');
  });

  it('sends nothing for an element the message does not show, or an option the element does not have', async () => {
    const breach = messagesOf(playground, ANA, OPS).find((m) => m.kind === 'message' && m.text.startsWith('Scale now: HighCPUUsage'))!;
    const before = playground.emulator.view(ANA).activity.length;
    expect(await playground.emulator.act({ user: ANA, channel: OPS, ts: breach.ts, actionId: 'alert_ack' })).toMatchObject({
      ok: false,
      message: expect.stringContaining('no longer shows'),
    });
    const select = playground.emulator.slack.addMessage(OPS, {
      user: ANA,
      text: 'pick',
      blocks: [
        {
          type: 'actions',
          elements: [{ type: 'static_select', action_id: 'tier', options: [{ text: { type: 'plain_text', text: 'CPX51' }, value: 'cpx51' }] }],
        },
      ],
    });
    expect(await playground.emulator.act({ user: ANA, channel: OPS, ts: select.ts, actionId: 'tier', selectedValue: 'cpx99' })).toMatchObject({ ok: false });
    expect(playground.emulator.view(ANA).activity.length).toBe(before);
  });

  it('serves the page on 127.0.0.1 only, refuses other host names, and takes posts only from its own page', async () => {
    const url = new URL(playground.url);
    expect(url.hostname).toBe('127.0.0.1');
    const page = await fetch(playground.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    expect((await fetch(new URL('/app.js', url))).headers.get('content-type')).toContain('text/javascript');
    const state = (await (await fetch(new URL(`/api/state?as=${CAS}`, url))).json()) as { me: string; commandHints: string[] };
    expect(state.me).toBe(CAS);
    expect(state.commandHints).toEqual(expect.arrayContaining(['status', 'alerts', 'help']));

    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: url.port, path: '/', headers: { host: `evil.example:${url.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(rebound).toBe(421);
    const submit = new URL('/api/submit', url);
    const body = JSON.stringify({ user: ANA, channel: GENERAL, text: 'from elsewhere' });
    expect((await fetch(submit, { method: 'POST', headers: { 'content-type': 'text/plain' }, body })).status).toBe(403);
    expect((await fetch(submit, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body })).status).toBe(403);
    expect((await fetch(submit, { method: 'POST', headers: { 'content-type': 'application/json', origin: url.origin }, body })).status).toBe(200);
  });
});

describe('the config the playground gives the bot', () => {
  function load(text: string) {
    const dir = mkdtempSync(join(tmpdir(), 'scalebot-playground-config-'));
    try {
      writeFileSync(join(dir, 'playground.yaml'), text);
      return loadConfig({ file: join(dir, 'playground.yaml') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('points the watcher at #ops and lets @ops respond', () => {
    const config = load(buildPlaygroundConfig({ demo: false }));
    expect(config.slack.alertsChannel).toBe(OPS);
    expect(config.watch).toMatchObject({ enabled: true, responders: [OPS_GROUP.id], intervalSeconds: 20 });
  });

  it("with --demo keeps the guide's thresholds but judges in seconds, on top of a person's own file", () => {
    const userConfig = 'watch:\n  responders: [U0SOMEONE]\ntriggers:\n  - { id: db_size, enabled: false }\n  - { id: cpu, threshold: 0.75 }\n';
    const config = load(buildPlaygroundConfig({ demo: true, userConfig }));
    const cpu = config.triggers.find((trigger) => trigger.id === 'cpu')!;
    expect(cpu).toMatchObject({ threshold: 0.75, forSeconds: 30, op: '>' });
    expect(cpu.query).toContain('irate(node_cpu_seconds_total{mode="idle"}[10m])');
    expect(config.triggers.find((trigger) => trigger.id === 'db_size')).toBeUndefined();
    expect(config.watch).toMatchObject({ intervalSeconds: 5, resolveAfterSeconds: 30, responders: ['U0SOMEONE'] });
    expect(config.prometheus.lookbackSeconds).toBe(120);
  });
});
