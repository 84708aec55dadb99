import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../../db/client.ts';
import { listDecisions } from '../../../db/decision-log.ts';
import { getLock, getRun, listRuns, listSteps } from '../../../db/runbooks.ts';
import { refusingLoopbackUrl } from '../../../devkit/ports.ts';
import { buildBlockActionsPayload, sendInteraction, sendSlashCommand, startFakeSlack, type FakeSlack } from '../../helpers/slack/index.ts';
import { killMatching, processesMatching, startSshd, waitProcessesGone, type SshdFixture } from '../../../devkit/sshd/index.ts';

// Issue 5: "A bot killed mid-step loses nothing: on restart the run shows 'interrupted during step N, outcome
// unknown', the step is never re-run automatically, and the thread offers Retry / Roll back / Abandon."
// The bot here is the real process (`node bin/scalebot.js serve`), killed with SIGKILL, not stopped.

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CHANNEL = 'C0CRASH';
const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';
const SECRET = 'crash-test-signing-secret-51d0';
const TOKEN = 'xoxb-crash-test-0000-token';
// `sleep 60.<pid>`: about a minute, and a command line no other test's process has.
const SLEEP = `sleep 60.${process.pid}`;
const MARK = `crash-${process.pid}-${Date.now()}`;

interface BotProcess {
  child: ChildProcess;
  url: string;
  logs(): string;
  exited: Promise<void>;
}

let dir: string;
let marker: string;
let databaseFile: string;
let configFile: string;
let sshd: SshdFixture;
let fake: FakeSlack;
let database: DatabaseHandle | undefined;
const bots: BotProcess[] = [];

const flat = (value: unknown) => JSON.stringify(value);
const db = () => (database ??= openDatabase(databaseFile)).db;
const markerLines = () => (existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(Boolean).length : 0);
const isAlive = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs: number, extra: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let value: T | undefined | null | false;
    try {
      value = probe();
    } catch {
      value = undefined;
    }
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${extra()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const LISTENING = /health and metrics at (http:\/\/\S+)/;

/**
 * `node bin/scalebot.js serve` in HTTP mode on the shared database and config; waits for /health/ready. PORT=0:
 * the bot binds a port the OS picks and says where (a port probed free beforehand could be taken meanwhile).
 */
async function startBotProcess(): Promise<BotProcess> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SLACK_BOT_TOKEN: TOKEN,
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: fake.apiUrl,
    SLACK_API_RETRIES: '0',
    HOST: '127.0.0.1',
    PORT: '0',
    SCALEBOT_DB: databaseFile,
    SCALEBOT_CONFIG: configFile,
    PROMETHEUS_URL: await refusingLoopbackUrl(),
    LOG_LEVEL: 'warn',
  };
  const child = spawn(process.execPath, ['bin/scalebot.js', 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      append(Buffer.from(`spawn error: ${error.message}\n`));
      resolve();
    });
  });
  const bot: BotProcess = { child, url: '', logs: () => log, exited };
  bots.push(bot);
  // Should the test process die without afterAll, the bot must not outlive it.
  process.once('exit', () => {
    if (isAlive(child)) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!isAlive(child)) throw new Error(`the bot exited before it was ready (${child.exitCode ?? child.signalCode}):\n${log}`);
    bot.url ||= LISTENING.exec(log)?.[1] ?? '';
    const ready =
      bot.url !== '' &&
      (await fetch(`${bot.url}/health/ready`, { signal: AbortSignal.timeout(1000) }).then(
        (response) => response.status === 200,
        () => false,
      ));
    if (ready) return bot;
    if (Date.now() > deadline) throw new Error(`the bot was not ready within 30 s:\n${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function killBot(bot: BotProcess): Promise<void> {
  if (isAlive(bot.child)) bot.child.kill('SIGKILL');
  await bot.exited;
}

async function click(bot: BotProcess, user: string, ts: string, actionId: string) {
  const message = fake.message(CHANNEL, ts)!;
  const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user, messageTs: ts });
  const payload = buildBlockActionsPayload({ user, channel: CHANNEL, message, action: { action_id: actionId }, response_url: responseUrl });
  expect((await sendInteraction(bot.url, SECRET, payload, { timeoutMs: 10_000 })).status).toBe(200);
  return responseUrl;
}

const threadOf = (ts: string) => fake.messages(CHANNEL).filter((message) => message.thread_ts === ts && message.ts !== ts);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'scalebot-crash-'));
  marker = join(dir, 'marker');
  databaseFile = join(dir, 'scalebot.db');
  configFile = join(dir, 'scalebot.yaml');
  [sshd, fake] = await Promise.all([startSshd(), startFakeSlack()]);
  const host = sshd.host;
  writeFileSync(
    configFile,
    `hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
runbooks:
  - id: crashy
    title: Append and sleep
    approval: { approvers: [${LEAD}] }
    params:
      - { name: target, type: host }
    steps:
      - { id: append-and-sleep, title: Append and sleep, host: "{{target}}", run: "echo attempt >> ${marker}; echo started-${MARK}; ${SLEEP}", timeout: 5m }
      - { id: after, title: After, host: "{{target}}", run: "echo after >> ${marker}", timeout: 1m }
    rollback:
      - { id: undo, title: Undo, host: "{{target}}", run: "echo undone", timeout: 1m }
`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(bots.map((bot) => killBot(bot)));
  killMatching(SLEEP);
  database?.close();
  await fake?.close();
  await sshd?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a bot process killed during a step and started again', () => {
  let planTs: string;
  let runId: number;

  it('runs the approved step until the bot is killed with SIGKILL; the remote command dies with the connection', async () => {
    const bot = await startBotProcess();
    const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user: REQUESTER });
    const answer = await sendSlashCommand(
      bot.url,
      SECRET,
      { text: 'run crashy target=local', user_id: REQUESTER, channel_id: CHANNEL, response_url: responseUrl },
      { timeoutMs: 10_000 },
    );
    expect(answer.status).toBe(200);
    const plan = await fake.waitFor((f) => f.messages(CHANNEL).find((message) => flat(message.blocks).includes('run_approve')), { timeoutMs: 15_000 });
    planTs = plan.ts;
    runId = listRuns(db(), { limit: 1 })[0]!.id;

    await click(bot, LEAD, planTs, 'run_approve');
    // The step is running: its line is in the marker file and its thread message shows its output.
    await until('the step to start on the host', () => markerLines() === 1 && processesMatching(SLEEP).length > 0, 20_000, bot.logs);
    await fake.waitFor(() => threadOf(planTs).find((message) => message.text.includes(`started-${MARK}`)), { timeoutMs: 15_000 });
    expect(getRun(db(), runId)?.status).toBe('running');

    const killedAt = Date.now();
    await killBot(bot);
    expect(bot.child.signalCode).toBe('SIGKILL');
    // onDisconnect 'kill' (the default): the host's sshd sees the connection gone, the watchdog ends the command.
    expect(await waitProcessesGone(SLEEP, 15_000)).toEqual([]);
    console.info(`remote "${SLEEP}" gone ${Date.now() - killedAt} ms after the bot was killed`);
    // Nothing in the database noticed: the run is still "running" until a bot starts again.
    expect(getRun(db(), runId)?.status).toBe('running');
  }, 60_000);

  it('marks the run interrupted on the next start, says so in Slack, and runs nothing again', async () => {
    const bot = await startBotProcess();
    await until('the run to be marked interrupted', () => getRun(db(), runId)?.status === 'interrupted', 15_000, bot.logs);

    const steps = listSteps(db(), runId);
    expect(steps.map((step) => [step.stepId, step.status])).toEqual([['append-and-sleep', 'interrupted']]);
    expect(steps[0]!.message).toMatch(/outcome is unknown/);

    const plan = await fake.waitFor(
      (f) => {
        const message = f.message(CHANNEL, planTs);
        return message && flat(message.blocks).includes('Interrupted') ? message : undefined;
      },
      { timeoutMs: 15_000 },
    );
    const blocks = flat(plan.blocks);
    expect(blocks).toMatch(/Interrupted\* at step 1/);
    expect(blocks).toContain('interrupted during step 1 (Append and sleep), outcome unknown');
    for (const action of ['run_retry', 'run_rollback', 'run_abandon']) expect(blocks).toContain(action);
    expect(blocks).not.toContain('run_stop');
    const reply = await fake.waitFor(() => threadOf(planTs).find((message) => /interrupted during step 1\b.*outcome unknown/.test(message.text)), {
      timeoutMs: 15_000,
    });
    expect(reply.text).toMatch(/will not run again by itself/);
    // The restarted bot edited the same plan message: still one top-level message in the channel.
    expect(
      fake
        .messages(CHANNEL)
        .filter((message) => !message.thread_ts || message.thread_ts === message.ts)
        .map((message) => message.ts),
    ).toEqual([planTs]);

    const interrupted = listDecisions(db(), { kinds: ['run_interrupted'] });
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]).toMatchObject({
      actor: 'scalebot',
      outcome: 'interrupted',
      subject: 'crashy',
      detail: expect.objectContaining({ run_id: runId, step: 'append-and-sleep', phase: 'steps' }),
    });

    // Not re-run: no second line, no new process, no second step_started, once the restarted bot says its
    // recovery is over (logged after recoverInterrupted returns, the only place a re-run could start from).
    const restarted = bots.at(-1)!;
    await until(
      'the recovery to be logged',
      () => /runbook runs were interrupted by the last stop; marked, not re-run/.test(restarted.logs()),
      15_000,
      restarted.logs,
    );
    expect(markerLines()).toBe(1);
    expect(processesMatching(SLEEP)).toEqual([]);
    expect(listDecisions(db(), { kinds: ['step_started'] })).toHaveLength(1);
    expect(getRun(db(), runId)?.status).toBe('interrupted');
    expect(getLock(db(), 'local')?.runId).toBe(runId);
  }, 60_000);

  it('is abandoned by the requester, which releases the lock', async () => {
    const bot = bots.at(-1)!;
    await click(bot, REQUESTER, planTs, 'run_abandon');
    await until('the run to be abandoned', () => getRun(db(), runId)?.status === 'abandoned', 15_000, bot.logs);
    expect(getLock(db(), 'local')).toBeUndefined();
    const kinds = listDecisions(db(), { limit: 100 })
      .filter((row) => (row.detail as { run_id?: number }).run_id === runId)
      .map((row) => row.kind)
      .reverse();
    expect(kinds).toEqual(['run_requested', 'lock', 'approval', 'run_started', 'step_started', 'run_interrupted', 'run_abandoned', 'unlock']);
    await fake.waitFor((f) => flat(f.message(CHANNEL, planTs)?.blocks).includes('Abandoned'), { timeoutMs: 15_000 });
    expect(markerLines()).toBe(1);
    expect(isAlive(bot.child)).toBe(true);
    // Both processes' logs (LOG_LEVEL=warn) keep the token and the signing secret out.
    for (const each of bots) expect(each.logs()).not.toMatch(new RegExp(`${TOKEN}|${SECRET}`));
  }, 30_000);
});
