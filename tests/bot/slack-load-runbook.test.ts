// A runbook whose step streams output over the loopback sshd while Slack pushes back: the step message is
// edited at most once a second (counted from the edits Slack carried out), its last output is shown, every
// message is posted once, and nothing is left behind in the outbox.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getRun, listRuns } from '../../db/runbooks.ts';
import { startTestBot, type TestBot } from '../helpers/bot.ts';
import { buildBlockActionsPayload, sendInteraction, sendSlashCommand, startFakeSlack, type FakeSlack } from '../helpers/slack/index.ts';
import {
  appliedEdits,
  duplicateKeys,
  LONG,
  loadSummary,
  lostOrStale,
  maxEditsInWindow,
  outboxBacklog,
  PRODUCTION_CLIENT_ENV,
  pushyLoad,
} from '../helpers/slack-load.ts';
import { startSshd, type SshdFixture } from '../../devkit/sshd/index.ts';

const CHANNEL = 'C0OPS';
const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';
const RUNS = LONG ? 6 : 2;
const LINES = LONG ? 80 : 40;
const SEED = Number(process.env.SCALEBOT_SEED ?? 11);

let sshd: SshdFixture;
let fake: FakeSlack;
let harness: TestBot;

function config(): string {
  const host = sshd.host;
  const chatter = `for i in $(seq 1 ${LINES}); do echo line-$i; sleep 0.1; done; echo chatter-done`;
  return `hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
runbooks:
  - id: stream
    title: Streaming step
    approval: { approvers: [${LEAD}] }
    params:
      - { name: target, type: host }
    steps:
      - { id: chatter, title: Chatter, host: "{{target}}", run: "${chatter}", timeout: 60s }
      - { id: after, title: After, host: "{{target}}", run: "echo after-done", timeout: 30s }
`;
}

beforeAll(async () => {
  sshd = await startSshd();
  fake = await startFakeSlack({ load: pushyLoad(SEED, { members: [CHANNEL] }) });
  harness = await startTestBot({ config: config(), fake, env: PRODUCTION_CLIENT_ENV });
}, 60_000);

afterAll(async () => {
  await harness?.stop();
  await fake?.close();
  await sshd?.stop();
});

describe('a runbook streaming output when Slack pushes back', () => {
  it(
    `edits each message at most once a second, shows the last output, posts once, loses nothing (${RUNS} runs)`,
    async () => {
      const summary = () => {
        const backlog = outboxBacklog(harness.bot.database.sqlite).map((r) => [r.dedupe_key, r.status, r.needs_update, r.last_error]);
        return `${loadSummary(fake)}\nbacklog ${JSON.stringify(backlog)}`;
      };
      for (let n = 1; n <= RUNS; n += 1) {
        const responseUrl = fake.newResponseUrl({ channel: CHANNEL, user: REQUESTER });
        expect(
          (
            await sendSlashCommand(harness.url, harness.secret, {
              text: 'run stream target=local',
              user_id: REQUESTER,
              channel_id: CHANNEL,
              response_url: responseUrl,
            })
          ).status,
        ).toBe(200);
        await vi.waitFor(() => expect(listRuns(harness.bot.database.db, { limit: 10 })).toHaveLength(n), { timeout: 15_000 });
        const runId = listRuns(harness.bot.database.db, { limit: 1 })[0]!.id;
        const plan = await fake
          .waitFor((f) => f.messages(CHANNEL).find((m) => m.metadata?.event_payload?.key === `run:${runId}`), { timeoutMs: 30_000, intervalMs: 50 })
          .catch((error: Error) => {
            throw new Error(
              `${error.message.split('\n')[0]}\nkeys ${JSON.stringify([...fake.messages(CHANNEL)].map((m) => m.metadata?.event_payload?.key))}\n${summary()}`,
            );
          });
        const click = fake.newResponseUrl({ channel: CHANNEL, user: LEAD, messageTs: plan.ts });
        const payload = buildBlockActionsPayload({ user: LEAD, channel: CHANNEL, message: plan, action: { action_id: 'run_approve' }, response_url: click });
        expect((await sendInteraction(harness.url, harness.secret, payload)).status).toBe(200);
        await vi.waitFor(() => expect(getRun(harness.bot.database.db, runId)?.status, summary()).toBe('succeeded'), { timeout: 60_000, interval: 100 });
      }
      await harness.bot.runbooks.idle();
      await fake
        .waitFor(() => outboxBacklog(harness.bot.database.sqlite).length === 0, { timeoutMs: LONG ? 120_000 : 40_000, intervalMs: 100 })
        .catch((error: Error) => {
          throw new Error(`${error.message.split('\n')[0]}: the outbox never emptied\n${summary()}`);
        });

      const shown = JSON.stringify(fake.messages(CHANNEL));
      for (const marker of ['chatter-done', 'after-done']) expect(shown.split(marker).length - 1, summary()).toBeGreaterThanOrEqual(RUNS);
      // Output edits: the edits of a step's message while it runs. The last one is the step's end (a change of
      // state, which may follow an output edit at once) and is not throttled, nor are the plan's state edits.
      const stepMessages = new Map(
        fake
          .messages(CHANNEL)
          .filter((m) => /^run:\d+:step:\d+$/.test(String(m.metadata?.event_payload?.key)))
          .map((m) => [m.ts, String(m.metadata!.event_payload.key)]),
      );
      const edits = appliedEdits(fake);
      const outputEdits = [...stepMessages.keys()].map((ts) => (edits.get(ts) ?? []).slice(0, -1));
      // The runner spaces its edits by its own clock; they reach Slack a few ms apart from that (a long run saw
      // 996 ms): 950 ms keeps that jitter out and still catches any edit sent sooner than a second.
      const worst = Math.max(0, ...outputEdits.map((calls) => maxEditsInWindow(calls, 950)));
      const total = outputEdits.reduce((sum, calls) => sum + calls.length, 0);
      const timeline = [...stepMessages]
        .map(([ts, key]) => `${key}: ${(edits.get(ts) ?? []).map((c) => c.at.toISOString().slice(17, 23)).join(' ')}`)
        .join('\n');
      expect(stepMessages.size, summary()).toBe(RUNS * 2);
      expect(worst, `${total} output edits over ${stepMessages.size} step messages; ${summary()}\n${timeline}`).toBeLessThanOrEqual(1);
      expect(duplicateKeys(fake), summary()).toEqual([]);
      expect(lostOrStale(harness.bot.database.sqlite, fake), summary()).toEqual([]);
      if (LONG)
        console.info(
          `slack-load runbook: ${RUNS} runs, ${total} output edits over ${stepMessages.size} step messages, at most ${worst} a second; ${summary()}`,
        );
    },
    LONG ? 900_000 : 120_000,
  );
});
