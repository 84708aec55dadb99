// Timings of the Prometheus fixtures on this machine: `npx tsx devkit/prometheus/bench.ts`.
// Not a test; the figures are quoted in README.md.
import { scenario, startExporter, startPrometheus, step, waitForValue, type Scenario } from './index.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${Math.round(x)} ms`;

function allTriggers(s: Scenario, instance = 'a'): Scenario {
  const now = s.now;
  return s
    .cpu(`${instance}:9100`, step(now - 1200, 0.3, 0.9))
    .diskIowait(`${instance}:9100`, 0.1)
    .memory(`${instance}:9100`, 0.9)
    .dbConnections(`${instance}:9187`, 0.85)
    .dbSize(`${instance}:9187`, 23e9)
    .redisMemory(`${instance}:9121`, 0.93)
    .cacheHitRate(`${instance}:9121`, 0.62)
    .concurrentUsers(instance, 300)
    .dailyActiveUsers(instance, 2400);
}

async function measure(label: string, build: () => Scenario, runs = 3): Promise<void> {
  const builds: number[] = [];
  const backfills: number[] = [];
  const starts: number[] = [];
  let size = '';
  for (let i = 0; i < runs; i++) {
    const began = performance.now();
    const s = build();
    const text = s.toOpenMetrics();
    builds.push(performance.now() - began);
    const series = s.toSeries().length;
    size = `${series} series, ${s.timestamps.length} samples each, ${(text.length / 1e6).toFixed(1)} MB`;
    const prom = await startPrometheus({ openMetrics: text });
    backfills.push(prom.timings.backfillMs);
    starts.push(prom.timings.startMs);
    await prom.stop();
  }
  console.log(`${label} (${size}): build ${ms(median(builds))}, backfill ${ms(median(backfills))}, start ${ms(median(starts))} (median of ${runs})`);
}

const now = Math.floor(Date.now() / 1000);

const empty: number[] = [];
for (let i = 0; i < 5; i++) {
  const prom = await startPrometheus();
  empty.push(prom.timings.startMs);
  await prom.stop();
}
console.log(`empty server: start ${ms(median(empty))} (median of 5; ${empty.map(ms).join(', ')})`);

await measure('all 12 default triggers, 26 h at 1 min', () =>
  allTriggers(scenario({ now }))
    .apiP99(step(now - 600, 0.3, 1.7))
    .errorRate(0.03)
    .responseTimeTrend(1.5),
);
await measure('100 instances x cpu+iowait+memory, 1 h at 1 min', () => {
  const s = scenario({ now, start: now - 3600 });
  for (let i = 0; i < 100; i++) s.cpu(`web-${i}:9100`, 0.5).diskIowait(`web-${i}:9100`, 0.1).memory(`web-${i}:9100`, 0.6);
  return s;
});
await measure('100 instances x every per-instance trigger, 1 h at 1 min', () => {
  const s = scenario({ now, start: now - 3600 });
  for (let i = 0; i < 100; i++) allTriggers(s, `i${i}`);
  return s;
});

{
  const began = performance.now();
  const text = allTriggers(scenario({ now })).apiP99(1.7).errorRate(0.03).responseTimeTrend(1.5).toOpenMetrics();
  const [a, b] = await Promise.all([startPrometheus({ openMetrics: text }), startPrometheus({ openMetrics: text })]);
  console.log(`two 26 h servers started at once: ${ms(performance.now() - began)} wall (backfill ${ms(a.timings.backfillMs)} / ${ms(b.timings.backfillMs)})`);
  await Promise.all([a.stop(), b.stop()]);
}

{
  const exporter = await startExporter();
  exporter.set('bench_value', { instance: 'x' }, 1);
  const began = performance.now();
  const prom = await startPrometheus({ scrapeTargets: [exporter.target], scrapeIntervalSeconds: 1 });
  await waitForValue(prom, 'bench_value', (v) => v === 1, 20_000, 50);
  const first = performance.now() - began;
  const changes: number[] = [];
  for (let v = 2; v <= 6; v++) {
    const t = performance.now();
    exporter.set('bench_value', { instance: 'x' }, v);
    await waitForValue(prom, 'bench_value', (x) => x === v, 10_000, 50);
    changes.push(performance.now() - t);
  }
  console.log(`exporter, 1 s scrape: first sample ${ms(first)} after start; changes visible after ${changes.map(ms).join(', ')}`);
  await prom.stop();
  await exporter.stop();
}
