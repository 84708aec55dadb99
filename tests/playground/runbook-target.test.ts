import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { createSsh } from '../../integrations/ssh.ts';
import { buildPlaygroundConfig } from '../../playground/config.ts';
import { prepareRunbookTarget, runbookConfig, TOUR_RUNBOOK_ID, TOUR_STEPS, type RunbookTarget } from '../../playground/runbook-target.ts';

function loadWith(target: Exclude<RunbookTarget, { mode: 'unavailable' }>) {
  const dir = mkdtempSync(join(tmpdir(), 'scalebot-playground-runbooks-'));
  try {
    writeFileSync(join(dir, 'playground.yaml'), buildPlaygroundConfig({ demo: false, runbooks: runbookConfig(target.host) }));
    return loadConfig({ file: join(dir, 'playground.yaml') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('where the playground runs runbooks', () => {
  it('starts nothing when the bot has no runbooks', async () => {
    expect(await prepareRunbookTarget({ runbooksAvailable: false })).toMatchObject({ mode: 'unavailable' });
  });

  it('without an sshd, shows plans only: a host that validates but where nothing listens', async () => {
    const target = await prepareRunbookTarget({ runbooksAvailable: true, sshdBinary: '/nonexistent/sshd' });
    expect(target.mode).toBe('plan-only');
    expect(target.summary).toContain('install openssh-server');
    if (target.mode !== 'plan-only') return;
    const config = loadWith(target);
    expect(config.hosts.get('playground')).toMatchObject({ address: '127.0.0.1', port: target.host.port });
    const result = await createSsh({ readyTimeoutMs: 2000 }).run(target.host, TOUR_STEPS[0].run, { timeoutSeconds: 5 });
    expect(result.outcome).toBe('connect_failed');
  });
});

describe('the throwaway sshd', () => {
  let target: RunbookTarget;
  const ssh = createSsh();
  beforeAll(async () => {
    target = await prepareRunbookTarget({ runbooksAvailable: true });
  }, 30_000);
  afterAll(() => target?.stop());

  function host() {
    if (target.mode !== 'sshd') throw new Error(`no sshd: ${target.summary}`);
    return target.host;
  }

  it("runs the tour's commands on this machine for real, through the bot's own SSH module", async () => {
    expect(target.mode).toBe('sshd');
    const hello = await ssh.run(host(), TOUR_STEPS[0].run, { timeoutSeconds: 20 });
    expect(hello.outcome, hello.message).toBe('succeeded');
    expect(hello.stdoutTail).toMatch(/^hello from \S+ as \S+\n\S+ \S+ \S+/);
    const disk = await ssh.run(host(), TOUR_STEPS[1].run, { timeoutSeconds: 20 });
    expect(disk.stdoutTail).toMatch(/^Filesystem/);
  }, 30_000);

  it('runs nothing else: any other command, or a tour command with more attached, is printed as a dry run', async () => {
    const marker = join(tmpdir(), `scalebot-playground-dry-run-${process.pid}`);
    for (const command of [`touch ${marker}`, `${TOUR_STEPS[1].run}\ntouch ${marker}`]) {
      const result = await ssh.run(host(), command, { timeoutSeconds: 20 });
      expect(result.outcome, result.message).toBe('succeeded');
      expect(result.stdoutTail).toContain('dry run: the playground runs only its tour on this machine. This step would run:');
      expect(result.stdoutTail).toContain(`touch ${marker}`);
      expect(existsSync(marker)).toBe(false);
    }
  }, 30_000);

  it('goes into the bot\'s config as the host "playground" with the tour runbook, approved by @ops, never by its requester', () => {
    if (target.mode !== 'sshd') throw new Error(target.summary);
    const config = loadWith(target);
    expect(config.hosts.get('playground')).toEqual({ ...target.host, name: 'playground' });
    const tour = config.runbooks.find((runbook) => runbook.id === TOUR_RUNBOOK_ID)!;
    expect(tour.approval).toMatchObject({ approvers: ['S0PLAYOPS'], allowSelf: false, required: 1 });
    expect(tour.steps.map((step) => step.run)).toEqual(TOUR_STEPS.map((step) => step.run));
    // The guide's runbooks stay, to be walked as dry runs.
    expect(config.runbooks.map((runbook) => runbook.id)).toEqual(expect.arrayContaining(['backup', 'vertical-migration', 'emergency-quick-fixes']));
  });
});
