// The bench's Prometheus data: a fleet of N instances behind the 12 default triggers, written as OpenMetrics
// files for promtool. Two files, because promtool re-reads its whole input once per 2 h block window: the
// fleet's per-instance series cover the last hour only (the bot looks back 30 min, plus a 5 min rate window),
// and only one API instance carries the 26 h of history that response_time_trend's `offset 1d` needs.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { buildOpenMetrics, scenario, step, type Scenario } from '../devkit/prometheus/index.ts';

export interface FleetOptions {
  /** Instances per trigger: each per-instance trigger answers this many series. */
  readonly instances: number;
  /** Unix seconds: the wall clock when the data is built. */
  readonly now: number;
  /**
   * Seconds of data past `now`: the bot asks about "now" while the bench runs, and Prometheus ignores a
   * sample older than 5 min, so the data must not end when the bench starts.
   */
  readonly aheadSeconds: number;
  /** Seconds of history before `now` for the fleet's series (default 50 min). */
  readonly historySeconds?: number;
  /** Seconds between samples (default 60). */
  readonly stepSeconds?: number;
}

export interface FleetFiles {
  readonly files: string[];
  /** Series and samples written, for the report. */
  readonly series: number;
  readonly samples: number;
  readonly bytes: number;
}

const BATCH = 25;

/**
 * A believable fleet: most instances well within every threshold, a few breached and a few pending, so the
 * status answer and the watcher have every state to render. Instance i is breached on a trigger when i falls
 * on that trigger's stride.
 */
function addInstance(s: Scenario, i: number, now: number): void {
  const host = `host-${String(i).padStart(4, '0')}`;
  const node = `${host}:9100`;
  const cpu = i % 20 === 0 ? step(now - 25 * 60, 0.35, 0.92) : i % 20 === 1 ? step(now - 8 * 60, 0.3, 0.8) : 0.3 + 0.35 * ((i % 7) / 7);
  s.cpu(node, cpu)
    .diskIowait(node, i % 33 === 0 ? 0.25 : 0.02 + 0.01 * (i % 5))
    .memory(node, i % 25 === 0 ? 0.9 : 0.4 + 0.3 * ((i % 11) / 11))
    .dbConnections(`${host}:9187`, i % 50 === 0 ? 0.85 : 0.2 + 0.005 * (i % 40))
    .dbSize(`${host}:9187`, i % 40 === 0 ? 23e9 : 2e9 + 1e8 * (i % 50))
    .redisMemory(`${host}:9121`, i % 30 === 0 ? 0.95 : 0.3 + 0.01 * (i % 40))
    .cacheHitRate(`${host}:9121`, i % 35 === 0 ? 0.55 : 0.9)
    .concurrentUsers(`${host}:8080`, 3 + (i % 4))
    .dailyActiveUsers(`${host}:8080`, 1500 + (i % 100))
    .requestRate(20, { instance: `${host}:8080` })
    .apiP99(i % 20 === 0 ? 0.7 : 0.2, { instance: `${host}:8080` })
    .errorRate(0.002, { instance: `${host}:8080` });
}

/** Writes the fleet's OpenMetrics files into `dir` (which must exist); returns their paths. */
export async function writeFleet(dir: string, options: FleetOptions): Promise<FleetFiles> {
  const { instances, now } = options;
  const end = now + options.aheadSeconds;
  const stepSeconds = options.stepSeconds ?? 60;
  const history = options.historySeconds ?? 50 * 60;
  let series = 0;
  let samples = 0;
  let bytes = 0;

  // The long history: one API instance, 26 h, enough for `rate(…[1h] offset 1d)` at any time of the run.
  const longFile = `${dir}/history.om`;
  {
    const s = scenario({ now: end, start: end - 26 * 3600 - 30 * 60, stepSeconds: 60 })
      .requestRate(50, { instance: 'api-main:8080' })
      .apiP99(0.3, { instance: 'api-main:8080' })
      .errorRate(0.002, { instance: 'api-main:8080' })
      .meanResponseTime(0.1, { instance: 'api-main:8080' });
    const specs = s.toSeries();
    series += specs.length;
    samples += specs.reduce((sum, spec) => sum + spec.samples.length, 0);
    const text = buildOpenMetrics(specs);
    bytes += text.length;
    const out = createWriteStream(longFile);
    out.write(text);
    out.end();
    await once(out, 'finish');
  }

  // The fleet, in batches so that a thousand instances never sit in memory at once. Families repeat from
  // batch to batch; promtool 2.42 accepts that (it only needs each series' samples in time order).
  const fleetFile = `${dir}/fleet.om`;
  const out = createWriteStream(fleetFile);
  for (let first = 0; first < instances; first += BATCH) {
    const s = scenario({ now: end, start: now - history, stepSeconds });
    for (let i = first; i < Math.min(instances, first + BATCH); i++) addInstance(s, i, now);
    const specs = s.toSeries();
    series += specs.length;
    samples += specs.reduce((sum, spec) => sum + spec.samples.length, 0);
    const lines = buildOpenMetrics(specs)
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
    const chunk = `${lines.join('\n')}\n`;
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.write('# EOF\n');
  out.end();
  await once(out, 'finish');
  return { files: [longFile, fleetFile], series, samples, bytes };
}
