// A small exporter on 127.0.0.1 that plays the demo's story (scenario.ts) as the series real exporters give:
// node_exporter's CPU and memory, the app's request counter, latency histogram and user gauges,
// postgres_exporter's and redis_exporter's. The bot's default trigger queries read them unchanged (the demo
// config only shortens their windows), so the demo shows the real triggers at work.
import { Counter, Gauge, Registry } from 'prom-client';
import { serveMetrics } from '../../devkit/prometheus/index.ts';
import { demoMoment, latencyFractionAtOrBelow, type DemoMoment, type DemoTimeline, type DemoValues } from './scenario.ts';

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

/** Each exporter's instance and job, as a scrape of the real ones would label them. */
const NODE = { instance: 'app-1:9100', job: 'node' } as const;
const APP = { instance: 'app-1:3000', job: 'app' } as const;
const POSTGRES = { instance: 'db-1:9187', job: 'postgres' } as const;
const REDIS = { instance: 'redis-1:9121', job: 'redis' } as const;
const CPUS = 4;
const MEMORY_TOTAL_BYTES = 16 * 1024 ** 3;
const REDIS_MAX_BYTES = 2 * 1024 ** 3;
const MAX_CONNECTIONS = 200;
/** prom-client's default buckets, as an app instrumented with it exposes them. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export async function startDemoExporter({ now = () => Date.now() }: { now?: () => number } = {}): Promise<DemoExporter> {
  const registry = new Registry();
  const counter = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers: [registry] });
  const gauge = (name: string, help: string, labelNames: string[]) => new Gauge({ name, help, labelNames, registers: [registry] });

  const cpuSeconds = counter('node_cpu_seconds_total', 'Seconds the CPUs spent in each mode.', ['instance', 'job', 'cpu', 'mode']);
  const memTotal = gauge('node_memory_MemTotal_bytes', 'Memory information field MemTotal_bytes.', ['instance', 'job']);
  const memAvailable = gauge('node_memory_MemAvailable_bytes', 'Memory information field MemAvailable_bytes.', ['instance', 'job']);
  const requests = counter('http_requests_total', 'HTTP requests.', ['instance', 'job', 'status']);
  const durationBucket = counter('http_request_duration_seconds_bucket', 'HTTP request duration histogram buckets.', ['instance', 'job', 'le']);
  const durationSum = counter('http_request_duration_seconds_sum', 'HTTP request duration sum.', ['instance', 'job']);
  const durationCount = counter('http_request_duration_seconds_count', 'HTTP request duration count.', ['instance', 'job']);
  const concurrentUsers = gauge('app_concurrent_users', 'Users with an open session.', ['instance', 'job']);
  const dailyActiveUsers = gauge('app_daily_active_users', 'Distinct users over the last 24 h.', ['instance', 'job']);
  const pgActivity = gauge('pg_stat_activity_count', 'Connections by database and state.', ['instance', 'job', 'datname', 'state']);
  const pgMaxConnections = gauge('pg_settings_max_connections', 'max_connections.', ['instance', 'job']);
  const pgSize = gauge('pg_database_size_bytes', 'Database size.', ['instance', 'job', 'datname']);
  const redisUsed = gauge('redis_memory_used_bytes', 'Redis used memory.', ['instance', 'job']);
  const redisMax = gauge('redis_memory_max_bytes', 'Redis maxmemory.', ['instance', 'job']);
  const redisHits = counter('redis_keyspace_hits_total', 'Keyspace hits.', ['instance', 'job']);
  const redisMisses = counter('redis_keyspace_misses_total', 'Keyspace misses.', ['instance', 'job']);

  let startedAt: number | undefined;
  let calmDownAt: number | undefined;
  let lastAdvance = now();
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
    if (seconds > 0) growCounters(middle, seconds);
    setGauges(demoMoment(timeline(at)).values);
  };

  const growCounters = (v: DemoValues, seconds: number) => {
    const busy = Math.min(1, Math.max(0, v.cpu));
    for (let cpu = 0; cpu < CPUS; cpu++) {
      const labels = { ...NODE, cpu: String(cpu) };
      cpuSeconds.inc({ ...labels, mode: 'idle' }, (1 - busy) * seconds);
      cpuSeconds.inc({ ...labels, mode: 'iowait' }, v.iowait * seconds);
      cpuSeconds.inc({ ...labels, mode: 'user' }, 0.8 * (busy - v.iowait) * seconds);
      cpuSeconds.inc({ ...labels, mode: 'system' }, 0.2 * (busy - v.iowait) * seconds);
    }
    const total = v.requestsPerSecond * seconds;
    requests.inc({ ...APP, status: '200' }, total * (1 - v.errorRatio));
    requests.inc({ ...APP, status: '500' }, total * v.errorRatio);
    for (const le of BUCKETS) {
      durationBucket.inc({ ...APP, le: String(le) }, total * latencyFractionAtOrBelow(le, v.meanLatencySeconds, v.p99LatencySeconds));
    }
    durationBucket.inc({ ...APP, le: '+Inf' }, total);
    durationSum.inc({ ...APP }, total * v.meanLatencySeconds);
    durationCount.inc({ ...APP }, total);
    const lookups = v.requestsPerSecond * 3 * seconds;
    redisHits.inc({ ...REDIS }, lookups * v.cacheHitRate);
    redisMisses.inc({ ...REDIS }, lookups * (1 - v.cacheHitRate));
  };

  const setGauges = (v: DemoValues) => {
    memTotal.set({ ...NODE }, MEMORY_TOTAL_BYTES);
    memAvailable.set({ ...NODE }, Math.round(MEMORY_TOTAL_BYTES * (1 - v.memory)));
    concurrentUsers.set({ ...APP }, v.concurrentUsers);
    dailyActiveUsers.set({ ...APP }, v.dailyActiveUsers);
    const connections = Math.round(v.dbConnections * MAX_CONNECTIONS);
    pgActivity.set({ ...POSTGRES, datname: 'app', state: 'active' }, Math.round(connections * 0.4));
    pgActivity.set({ ...POSTGRES, datname: 'app', state: 'idle' }, connections - Math.round(connections * 0.4));
    pgMaxConnections.set({ ...POSTGRES }, MAX_CONNECTIONS);
    pgSize.set({ ...POSTGRES, datname: 'app' }, Math.round(v.dbSizeBytes));
    redisUsed.set({ ...REDIS }, Math.round(v.redisMemory * REDIS_MAX_BYTES));
    redisMax.set({ ...REDIS }, REDIS_MAX_BYTES);
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
