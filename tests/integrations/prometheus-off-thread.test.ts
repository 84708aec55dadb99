// The bot's Prometheus client judges triggers in a worker thread. What comes back must be what judging on
// the main thread gives, with the config's own trigger objects; a dying worker must cost no answer.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../bot/config.ts';
import { judgeTriggers } from '../../core/status.ts';
import { createOffThreadPrometheus } from '../../integrations/prometheus-off-thread.ts';
import { createPrometheus, isLoopback } from '../../integrations/prometheus.ts';
import { scenario, startPrometheus, step, type PrometheusFixture } from '../../devkit/prometheus/index.ts';

const run = promisify(execFile);
const { triggers } = loadConfig();
const now = Math.floor(Date.now() / 1000);
const at = new Date(now * 1000);

describe('createOffThreadPrometheus', () => {
  let prom: PrometheusFixture;

  beforeAll(async () => {
    const fleet = scenario({ now })
      .cpu('web-1:9100', step(now - 20 * 60, 0.3, 0.95))
      .cpu('web-2:9100', 0.2)
      .memory('web-1:9100', 0.5)
      .memory('web-2:9100', 0.93)
      .apiP99(0.2);
    prom = await startPrometheus({ openMetrics: fleet.toOpenMetrics() });
  }, 60_000);
  afterAll(async () => {
    await prom?.stop();
  });

  const withoutTriggers = (results: ReadonlyArray<{ trigger: { id: string } }>) => results.map(({ trigger, ...rest }) => ({ id: trigger.id, ...rest }));

  it('judges in its worker what the main thread would, with the config’s own trigger objects', async () => {
    const deaths: Array<Error | number> = [];
    const offThread = createOffThreadPrometheus({ url: prom.url, timeoutMs: 5000 }, { onWorkerDied: (reason) => deaths.push(reason) });
    try {
      const there = await offThread.judgeTriggers(triggers, at);
      expect(deaths).toEqual([]);
      expect(offThread.workersStarted()).toBe(1);
      const here = await judgeTriggers(triggers, createPrometheus({ url: prom.url, timeoutMs: 5000 }), at);
      expect(there.verdict).toBe('scale_now');
      expect(there.evaluatedAt).toEqual(at);
      expect(withoutTriggers(there.results)).toEqual(withoutTriggers(here.results));
      const cpu = there.results.find((result) => result.trigger.id === 'cpu' && result.labels.instance === 'web-1:9100')!;
      expect(cpu.state).toBe('breached');
      expect(cpu.value).toBeCloseTo(0.95, 2);
      for (const result of there.results) expect(triggers).toContain(result.trigger);
    } finally {
      await offThread.close();
    }
  });

  it('says when every query failed, as the main thread does', async () => {
    const offThread = createOffThreadPrometheus({ url: 'http://127.0.0.1:9', timeoutMs: 2000 });
    try {
      const report = await offThread.judgeTriggers(triggers, at);
      expect(report.failure).toMatch(/cannot be reached/);
      expect(report.results.every((result) => result.state === 'no_data')).toBe(true);
    } finally {
      await offThread.close();
    }
  });

  it('judges on this thread what a dying worker was judging, starts a new worker for the next call, and pauses after two deaths', async () => {
    const deaths: Array<Error | number> = [];
    const offThread = createOffThreadPrometheus(
      { url: prom.url, timeoutMs: 5000 },
      { threadEntry: new URL('./fixtures/dying-prometheus-thread.mjs', import.meta.url), onWorkerDied: (reason) => deaths.push(reason) },
    );
    try {
      const first = await offThread.judgeTriggers(triggers, at);
      const second = await offThread.judgeTriggers(triggers, at);
      expect(first.verdict).toBe('scale_now');
      expect(withoutTriggers(second.results)).toEqual(withoutTriggers(first.results));
      expect(offThread.workersStarted()).toBe(2);
      expect(deaths).toEqual([3, 3]);
      // Two deaths in a row without an answer: no third worker for a while, the judging stays here.
      const third = await offThread.judgeTriggers(triggers, at);
      expect(third.verdict).toBe('scale_now');
      expect(offThread.workersStarted()).toBe(2);
    } finally {
      await offThread.close();
    }
  });

  it('still answers after close, on this thread', async () => {
    const offThread = createOffThreadPrometheus({ url: prom.url, timeoutMs: 5000 });
    await offThread.judgeTriggers(triggers, at);
    await offThread.close();
    const report = await offThread.judgeTriggers(triggers, at);
    expect(report.verdict).toBe('scale_now');
    expect(offThread.workersStarted()).toBe(1);
  });

  it.runIf(process.platform === 'linux')('lowers its worker thread’s priority, not the process’s: acks go first when the CPUs are busy', async () => {
    // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value.
    const niceOf = (tid: string) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const niceByThread = () => new Map(readdirSync('/proc/self/task').map((tid) => [tid, niceOf(tid)]));
    const mainThread = String(process.pid);
    const before = niceByThread();
    const offThread = createOffThreadPrometheus({ url: prom.url, timeoutMs: 5000 });
    try {
      await offThread.judgeTriggers(triggers, at);
      const after = niceByThread();
      expect(after.get(mainThread)).toBe(before.get(mainThread));
      const lowered = [...after].filter(([tid, nice]) => !before.has(tid) && nice === Math.min(19, before.get(mainThread)! + 10));
      expect(lowered).toHaveLength(1);
    } finally {
      await offThread.close();
    }
  });

  it('leaves no esbuild service process behind once its worker is bundled', async () => {
    // The service holds about 54 MB after a bundle: nothing the bot needs once its worker runs.
    const services = () =>
      readdirSync('/proc')
        .filter((entry) => /^\d+$/.test(entry))
        .filter((pid) => {
          try {
            const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
            const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            return parent === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('esbuild');
          } catch {
            return false;
          }
        }).length;
    const before = services();
    const offThread = createOffThreadPrometheus(
      { url: prom.url, timeoutMs: 5000 },
      // An entry of its own: the default one is already bundled in this process.
      { threadEntry: new URL('./fixtures/plain-prometheus-thread.ts', import.meta.url) },
    );
    try {
      await offThread.judgeTriggers(triggers, at);
      expect(offThread.workersStarted()).toBe(1);
      await vi.waitFor(() => expect(services()).toBeLessThanOrEqual(before), { timeout: 5000 });
    } finally {
      await offThread.close();
    }
  });

  it('does not keep a process alive once it is idle', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', new URL('./fixtures/judge-and-forget.ts', import.meta.url).pathname], {
      env: { ...process.env, PROMETHEUS_URL: prom.url, AT_MS: String(at.getTime()) },
      timeout: 30_000,
    });
    expect(stdout).toMatch(/^scale_now \d+\n$/);
  }, 40_000);
});

describe('compression', () => {
  let server: Server;
  let seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('asks a Prometheus on this machine not to gzip', async () => {
    seen = [];
    const { port } = server.address() as AddressInfo;
    for (const host of ['127.0.0.1', 'localhost']) await createPrometheus({ url: `http://${host}:${port}`, timeoutMs: 2000 }).queryInstant('up', now);
    expect(seen.map((headers) => headers['accept-encoding'])).toEqual(['identity', 'identity']);
  });

  it.each([
    ['http://127.0.0.1:9090', true],
    ['http://127.3.4.5:9090/prometheus', true],
    ['http://localhost:9090', true],
    ['http://[::1]:9090', true],
    ['http://10.0.0.5:9090', false],
    ['https://prometheus.example.com', false],
    ['http://127.0.0.1.example.com', false],
    ['not a url', false],
  ])('%s is loopback: %s', (url, expected) => {
    expect(isLoopback(url)).toBe(expected);
  });
});
