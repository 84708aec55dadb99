import { describe, expect, it } from 'vitest';
import { startTestBot } from '../helpers/bot.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

describe('the watcher scheduler', () => {
  it('evaluates every watch.interval on its own, and a blind Prometheus makes one message, not one per cycle', async () => {
    const harness = await startTestBot({ prometheusUrl: 'http://127.0.0.1:9', config: watcherTestConfig('  interval: 1s') });
    try {
      await harness.fake.waitFor((fake) => fake.messages('C0ALERTS').find((message) => message.text.includes('Monitoring is blind')), { timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const metrics = await (await fetch(`${harness.url}/metrics`)).text();
      const cycles = Number(/scalebot_watcher_evaluations_total\{outcome="blind"\} (\d+)/.exec(metrics)?.[1]);
      expect(cycles).toBeGreaterThanOrEqual(3);
      expect(harness.fake.messages('C0ALERTS')).toHaveLength(1);
    } finally {
      await harness.stop();
    }
  });

  it('stays off without an alerts channel', async () => {
    const harness = await startTestBot({ prometheusUrl: 'http://127.0.0.1:9', config: 'watch:\n  interval: 1s\n' });
    try {
      expect(harness.bot.config.watch.enabled).toBe(false);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(harness.fake.callsTo('chat.postMessage')).toHaveLength(0);
    } finally {
      await harness.stop();
    }
  });
});
