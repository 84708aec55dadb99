// Two bots with databases of their own (a staging bot beside production, two test workers) both number their
// first run 1. Their steps on the same host must not share a slot there: each would refuse the other's step as
// "already running". The slot's name carries a random part stored with the plan (core/runbooks.ts hostSlotKey).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../bot/config.ts';
import { hostSlotKey } from '../../../core/runbooks.ts';
import { startSshd, type SshdFixture } from '../../../devkit/sshd/index.ts';
import { createTestCommandDeps, type TestCommandDeps } from '../../helpers/command-deps.ts';

const REQUESTER = 'U0REQ';
const LEAD = 'U0LEAD';
/** integrations/ssh.ts refuses any other lockKey. */
const LOCK_KEY = /^[A-Za-z0-9_.-]{1,100}$/;

describe('hostSlotKey', () => {
  it('names one slot per run, phase and step: the same for every attempt, another for any other run', () => {
    const slot = fc.stringMatching(/^[0-9a-f]{12}$/);
    const phase = fc.constantFrom('steps', 'rollback');
    const id = fc.integer({ min: 1, max: 999_999_999_999 });
    const index = fc.integer({ min: 0, max: 9999 });
    fc.assert(
      fc.property(id, slot, slot, phase, index, (runId, mine, theirs, which, step) => {
        const key = hostSlotKey(runId, { slot: mine }, which, step);
        expect(key).toMatch(LOCK_KEY);
        expect(hostSlotKey(runId, { slot: mine }, which, step)).toBe(key);
        if (theirs !== mine) expect(hostSlotKey(runId, { slot: theirs }, which, step)).not.toBe(key);
        expect(hostSlotKey(runId, { slot: mine }, which === 'steps' ? 'rollback' : 'steps', step)).not.toBe(key);
        expect(hostSlotKey(runId, { slot: mine }, which, step + 1)).not.toBe(key);
      }),
    );
  });

  it('keeps the slot a plan stored before slots had a random part already holds', () => {
    expect(hostSlotKey(12, {}, 'steps', 3)).toBe('run-12-steps-3');
  });
});

describe('two bots, one host', () => {
  let sshd: SshdFixture;
  const bots: TestCommandDeps[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    for (const bot of bots.splice(0)) await bot.close();
    await sshd?.stop();
  });

  it("runs each bot's run #1 at the same time on the same host, neither refused as already running", async () => {
    const { host } = sshd;
    const dir = mkdtempSync(join(tmpdir(), 'scalebot-slots-'));
    const file = join(dir, 'scalebot.yaml');
    writeFileSync(
      file,
      `hosts:
  local: { address: 127.0.0.1, port: ${host.port}, user: ${host.user}, private_key_file: "${host.privateKeyFile}", host_key: "${host.hostKey}" }
runbooks:
  - id: overlap
    title: Overlapping step
    approval: { approvers: [${LEAD}] }
    steps:
      - { id: wait, title: Wait, host: local, run: "echo slot-test; sleep 2", timeout: 30s }
`,
    );
    const config = loadConfig({ file, env: {} });
    for (let i = 0; i < 2; i += 1) bots.push(await createTestCommandDeps({ config, clock: () => new Date() }));
    const requested = await Promise.all(bots.map(({ deps }) => deps.runbooks.request('overlap', {}, REQUESTER, 'C0OPS')));
    expect(requested.map((answer) => answer.ok)).toEqual([true, true]);
    const runs = await Promise.all(bots.map(({ storage }) => storage.runbooks.listRuns({ limit: 1 })));
    expect(runs.map(([run]) => run!.id)).toEqual([1, 1]);
    await Promise.all(bots.map(({ deps }) => deps.runbooks.approve(1, LEAD)));
    await Promise.all(bots.map(({ deps }) => deps.runbooks.idle()));
    const finished = await Promise.all(bots.map(({ storage }) => storage.runbooks.getRun(1)));
    const steps = await Promise.all(bots.map(({ storage }) => storage.runbooks.listSteps(1)));
    expect(finished.map((run) => run!.status)).toEqual(['succeeded', 'succeeded']);
    expect(steps.map((list) => list.map((step) => step.status))).toEqual([['succeeded'], ['succeeded']]);
  });
});
