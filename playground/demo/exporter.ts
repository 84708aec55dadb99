// A small exporter on 127.0.0.1 that plays the demo's story (scenario.ts) as the series real exporters give
// (series.ts): node_exporter's CPU and memory, the app's request counter, latency histogram and user gauges,
// postgres_exporter's and redis_exporter's. The bot's default trigger queries read them (the demo config
// shortens their `for` and reads rates with irate), so the demo shows the real triggers at work. After a
// backfilled week (history.ts) its counters go on from the week's totals.
import { Counter, Gauge, Registry } from 'prom-client';
import { serveMetrics } from '../../devkit/prometheus/index.ts';
import { demoMoment, type DemoMoment, type DemoTimeline } from './scenario.ts';
import { DEMO_METRICS, growCounters, setGauges, type CounterTotal, type Labels, type SeriesSink } from './series.ts';

export interface DemoExporter {
  /** `127.0.0.1:PORT` for Prometheus' scrape config. */
  readonly target: string;
  /** Where the story is now (`elapsedSeconds` 0 while warming up). */
  moment(): DemoMoment & { readonly elapsedSeconds: number };
  /** How many times /metrics has been served. */
  readonly scrapes: number;
  /** Starts the story (default: from calm; a later point skips ahead). Until then the server idles calmly. */
  startStory(atSeconds?: number): void;
  /** Starts the story again from calm. */
  replay(): void;
  /** Brings the load back down (the breach then resolves). */
  calmDown(): void;
  stop(): Promise<void>;
}

export interface DemoExporterOptions {
  readonly now?: () => number;
  /**
   * Where a backfilled history ended (history.ts): the counters go on from its totals, and grow from its end
   * (Unix seconds) to the first scrape at the calm start's rates, so no rate jumps where history meets live data.
   */
  readonly continueFrom?: { readonly counters: readonly CounterTotal[]; readonly end: number };
}

export async function startDemoExporter({ now = () => Date.now(), continueFrom }: DemoExporterOptions = {}): Promise<DemoExporter> {
  const registry = new Registry();
  const counters = new Map<string, Counter>();
  const gauges = new Map<string, Gauge>();
  for (const [name, { help, labelNames }] of Object.entries(DEMO_METRICS.counters)) {
    counters.set(name, new Counter({ name, help, labelNames: [...labelNames], registers: [registry] }));
  }
  for (const [name, { help, labelNames }] of Object.entries(DEMO_METRICS.gauges)) {
    gauges.set(name, new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] }));
  }
  const sink: SeriesSink = {
    counter: (name: string, labels: Labels, delta: number) => counters.get(name)!.inc({ ...labels }, delta),
    gauge: (name: string, labels: Labels, value: number) => gauges.get(name)!.set({ ...labels }, value),
  };
  for (const { name, labels, value } of continueFrom?.counters ?? []) sink.counter(name, labels, value);

  let startedAt: number | undefined;
  let calmDownAt: number | undefined;
  let lastAdvance = continueFrom ? Math.min(now(), continueFrom.end * 1000) : now();
  const timeline = (at: number): DemoTimeline =>
    startedAt === undefined
      ? {}
      : {
          elapsedSeconds: (at - startedAt) / 1000,
          ...(calmDownAt !== undefined ? { calmDownAtSeconds: (calmDownAt - startedAt) / 1000 } : {}),
        };

  /** Counters grow at the story's rates since the last scrape; gauges show the story's values now. */
  const advance = () => {
    const at = now();
    const seconds = Math.max(0, (at - lastAdvance) / 1000);
    const middle = demoMoment(timeline((at + lastAdvance) / 2)).values;
    lastAdvance = at;
    if (seconds > 0) growCounters(sink, middle, seconds);
    setGauges(sink, demoMoment(timeline(at)).values);
  };

  advance();

  const endpoint = await serveMetrics(registry, advance);

  return {
    target: endpoint.target,
    get scrapes() {
      return endpoint.scrapes;
    },
    moment() {
      const at = timeline(now());
      return { ...demoMoment(at), elapsedSeconds: at.elapsedSeconds ?? 0 };
    },
    startStory(atSeconds = 0) {
      advance();
      startedAt = now() - atSeconds * 1000;
      calmDownAt = undefined;
    },
    replay() {
      // Counters keep growing (a restart of the story is not a restart of the exporters); only the story rewinds.
      advance();
      if (startedAt === undefined) return;
      startedAt = now();
      calmDownAt = undefined;
    },
    calmDown() {
      advance();
      if (startedAt !== undefined && calmDownAt === undefined) calmDownAt = now();
    },
    stop: () => endpoint.stop(),
  };
}
