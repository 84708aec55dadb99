import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { scenario, startPrometheus, startSlowProxy } from '../../devkit/prometheus/index.ts';
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

describe('the watcher scheduler on the step grid', () => {
  it('evaluates on the interval’s boundaries after its first cycle, one query per trigger', async () => {
    const prometheus = await startPrometheus({
      openMetrics: scenario({ hours: 1 })
        .gauge('test_load', { instance: 'web-1' }, () => 0.2)
        .toOpenMetrics(),
    });
    const proxy = await startSlowProxy(prometheus.url, 0);
    const harness = await startTestBot({ prometheusUrl: proxy.url, config: watcherTestConfig('  interval: 2s') });
    const rangeEnds = () =>
      proxy.paths.filter((path) => path.startsWith('/api/v1/query_range')).map((path) => Number(new URL(path, 'http://x').searchParams.get('end')));
    try {
      // The first cycle runs at start; three more come on their own.
      await vi.waitFor(() => expect(new Set(rangeEnds()).size).toBeGreaterThanOrEqual(5), { timeout: 20_000, interval: 200 });
      const ends = rangeEnds();
      // The first cycle (at start, off the grid) reads each trigger's window and then the value at its `at`.
      const laterCycles = [...new Set(ends.filter((end) => end >= ends[0]! + 1))].slice(0, 3);
      expect(laterCycles).toHaveLength(3);
      for (const end of laterCycles) {
        expect(end % 2).toBe(0);
        // Two triggers (load, users), each read once: on the grid, no query of its own for the value at `at`.
        expect(ends.filter((candidate) => candidate === end)).toHaveLength(2);
      }
    } finally {
      await harness.stop();
      await proxy.stop();
      await prometheus.stop();
    }
  });
});
