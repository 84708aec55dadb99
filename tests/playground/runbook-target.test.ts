import { describe, expect, it } from 'vitest';
import { SUBCOMMANDS } from '../../commands/registry.ts';
import { createSsh } from '../../integrations/ssh.ts';
import { prepareRunbookTarget, runbookHostsConfig } from '../../playground/runbook-target.ts';

describe('where the playground runs runbooks', () => {
  it('starts nothing while the bot has no runbooks', async () => {
    const target = await prepareRunbookTarget({ runbooksAvailable: false });
    expect(target).toMatchObject({ mode: 'unavailable' });
    // Once the runbooks issue lands, start-playground.ts asks for a target because the registry has `run`.
    expect(SUBCOMMANDS.some((sub) => sub.name === 'run')).toBe(target.mode !== 'unavailable');
  });

  it('falls back to a dry run when there is no sshd', async () => {
    const target = await prepareRunbookTarget({ runbooksAvailable: true, sshdBinary: '/nonexistent/sshd' });
    expect(target.mode).toBe('dry-run');
    expect(target.summary).toContain('show their plan and what would run');
  });

  it('runs commands on this machine through a throwaway sshd, with a pinned host key', async () => {
    const target = await prepareRunbookTarget({ runbooksAvailable: true });
    try {
      expect(target.mode).toBe('sshd');
      if (target.mode !== 'sshd') return;
      expect(target.host).toMatchObject({ name: 'playground', address: '127.0.0.1' });
      const result = await createSsh().run(target.host, 'echo "runbook step on $(hostname)"', { timeoutSeconds: 20 });
      expect(result.outcome, result.message).toBe('succeeded');
      expect(result.stdoutTail).toMatch(/^runbook step on \S+/);
      expect(runbookHostsConfig(target.host)).toEqual({
        playground: {
          address: '127.0.0.1',
          port: target.host.port,
          user: target.host.user,
          private_key_file: target.host.privateKeyFile,
          host_key: target.host.hostKey,
        },
      });
    } finally {
      await target.stop();
    }
  }, 30_000);
});
