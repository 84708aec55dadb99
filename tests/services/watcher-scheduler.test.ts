import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { startTestBot } from '../helpers/bot.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

async function blindCycles(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(/scalebot_watcher_evaluations_total\{outcome="blind"\} (\d+)/.exec(metrics)?.[1] ?? 0);
}

describe('the watcher scheduler', () => {
  it('evaluates every watch.interval on its own, and a blind Prometheus makes one message, not one per cycle', async () => {
    const harness = await startTestBot({ config: watcherTestConfig('  interval: 1s') });
    try {
      await harness.fake.waitFor((fake) => fake.messages('C0ALERTS').find((message) => message.text.includes('Monitoring is blind')), { timeoutMs: 10_000 });
      // Nobody calls runCycle here: three blind cycles counted means the scheduler ran them on its own.
      await vi.waitFor(async () => expect(await blindCycles(harness.url)).toBeGreaterThanOrEqual(3), { timeout: 15_000, interval: 200 });
      expect(harness.fake.messages('C0ALERTS')).toHaveLength(1);
    } finally {
      await harness.stop();
    }
  });

  it('stays off without an alerts channel', async () => {
    const lines: string[] = [];
    const logDestination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const harness = await startTestBot({ config: 'watch:\n  interval: 1s\n', env: { LOG_LEVEL: 'info' }, logDestination });
    try {
      expect(harness.bot.config.watch.enabled).toBe(false);
      // Said at start instead of starting the scheduler: the bot is past the point where a cycle would begin.
      await vi.waitFor(() => expect(lines.join('')).toContain('the watcher is off'));
      expect(await blindCycles(harness.url)).toBe(0);
      expect(harness.fake.callsTo('chat.postMessage')).toHaveLength(0);
    } finally {
      await harness.stop();
    }
  });
});
