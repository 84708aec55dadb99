// The raw series the demo's servers expose, as real exporters label them: node_exporter's CPU and memory, the
// app's request counter, latency histogram and user gauges, postgres_exporter's and redis_exporter's. One
// description serves both the live exporter (exporter.ts, prom-client) and the backfilled week before it
// (history.ts, OpenMetrics for promtool), so the two write the very same series and the counters run on.
import { latencyFractionAtOrBelow, type DemoValues } from './scenario.ts';

export type Labels = Readonly<Record<string, string>>;

/** Where series values go: counters grow by `delta`, gauges take `value`. */
export interface SeriesSink {
  counter(name: string, labels: Labels, delta: number): void;
  gauge(name: string, labels: Labels, value: number): void;
}

/** Each exporter's instance and job, as a scrape of the real ones would label them. */
export const NODE = { instance: 'app-1:9100', job: 'node' } as const;
export const APP = { instance: 'app-1:3000', job: 'app' } as const;
export const POSTGRES = { instance: 'db-1:9187', job: 'postgres' } as const;
export const REDIS = { instance: 'redis-1:9121', job: 'redis' } as const;
const CPUS = 4;
const MEMORY_TOTAL_BYTES = 16 * 1024 ** 3;
const REDIS_MAX_BYTES = 2 * 1024 ** 3;
const MAX_CONNECTIONS = 200;
/** prom-client's default buckets, as an app instrumented with it exposes them. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every metric, its help and labels: what the exporter registers. */
export const DEMO_METRICS = {
  counters: {
    node_cpu_seconds_total: { help: 'Seconds the CPUs spent in each mode.', labelNames: ['instance', 'job', 'cpu', 'mode'] },
    http_requests_total: { help: 'HTTP requests.', labelNames: ['instance', 'job', 'status'] },
    http_request_duration_seconds_bucket: { help: 'HTTP request duration histogram buckets.', labelNames: ['instance', 'job', 'le'] },
    http_request_duration_seconds_sum: { help: 'HTTP request duration sum.', labelNames: ['instance', 'job'] },
    http_request_duration_seconds_count: { help: 'HTTP request duration count.', labelNames: ['instance', 'job'] },
    redis_keyspace_hits_total: { help: 'Keyspace hits.', labelNames: ['instance', 'job'] },
    redis_keyspace_misses_total: { help: 'Keyspace misses.', labelNames: ['instance', 'job'] },
  },
  gauges: {
    node_memory_MemTotal_bytes: { help: 'Memory information field MemTotal_bytes.', labelNames: ['instance', 'job'] },
    node_memory_MemAvailable_bytes: { help: 'Memory information field MemAvailable_bytes.', labelNames: ['instance', 'job'] },
    app_concurrent_users: { help: 'Users with an open session.', labelNames: ['instance', 'job'] },
    app_daily_active_users: { help: 'Distinct users over the last 24 h.', labelNames: ['instance', 'job'] },
    pg_stat_activity_count: { help: 'Connections by database and state.', labelNames: ['instance', 'job', 'datname', 'state'] },
    pg_settings_max_connections: { help: 'max_connections.', labelNames: ['instance', 'job'] },
    pg_database_size_bytes: { help: 'Database size.', labelNames: ['instance', 'job', 'datname'] },
    redis_memory_used_bytes: { help: 'Redis used memory.', labelNames: ['instance', 'job'] },
    redis_memory_max_bytes: { help: 'Redis maxmemory.', labelNames: ['instance', 'job'] },
  },
} as const;

/** Counters grow at the values' rates for `seconds`. */
export function growCounters(sink: SeriesSink, v: DemoValues, seconds: number): void {
  const busy = Math.min(1, Math.max(0, v.cpu));
  for (let cpu = 0; cpu < CPUS; cpu++) {
    const labels = { ...NODE, cpu: String(cpu) };
    sink.counter('node_cpu_seconds_total', { ...labels, mode: 'idle' }, (1 - busy) * seconds);
    sink.counter('node_cpu_seconds_total', { ...labels, mode: 'iowait' }, v.iowait * seconds);
    sink.counter('node_cpu_seconds_total', { ...labels, mode: 'user' }, 0.8 * (busy - v.iowait) * seconds);
    sink.counter('node_cpu_seconds_total', { ...labels, mode: 'system' }, 0.2 * (busy - v.iowait) * seconds);
  }
  const total = v.requestsPerSecond * seconds;
  sink.counter('http_requests_total', { ...APP, status: '200' }, total * (1 - v.errorRatio));
  sink.counter('http_requests_total', { ...APP, status: '500' }, total * v.errorRatio);
  for (const le of BUCKETS) {
    sink.counter(
      'http_request_duration_seconds_bucket',
      { ...APP, le: String(le) },
      total * latencyFractionAtOrBelow(le, v.meanLatencySeconds, v.p99LatencySeconds),
    );
  }
  sink.counter('http_request_duration_seconds_bucket', { ...APP, le: '+Inf' }, total);
  sink.counter('http_request_duration_seconds_sum', { ...APP }, total * v.meanLatencySeconds);
  sink.counter('http_request_duration_seconds_count', { ...APP }, total);
  const lookups = v.requestsPerSecond * 3 * seconds;
  sink.counter('redis_keyspace_hits_total', { ...REDIS }, lookups * v.cacheHitRate);
  sink.counter('redis_keyspace_misses_total', { ...REDIS }, lookups * (1 - v.cacheHitRate));
}

/** Gauges show the values. */
export function setGauges(sink: SeriesSink, v: DemoValues): void {
  sink.gauge('node_memory_MemTotal_bytes', { ...NODE }, MEMORY_TOTAL_BYTES);
  sink.gauge('node_memory_MemAvailable_bytes', { ...NODE }, Math.round(MEMORY_TOTAL_BYTES * (1 - v.memory)));
  sink.gauge('app_concurrent_users', { ...APP }, v.concurrentUsers);
  sink.gauge('app_daily_active_users', { ...APP }, v.dailyActiveUsers);
  const connections = Math.round(v.dbConnections * MAX_CONNECTIONS);
  sink.gauge('pg_stat_activity_count', { ...POSTGRES, datname: 'app', state: 'active' }, Math.round(connections * 0.4));
  sink.gauge('pg_stat_activity_count', { ...POSTGRES, datname: 'app', state: 'idle' }, connections - Math.round(connections * 0.4));
  sink.gauge('pg_settings_max_connections', { ...POSTGRES }, MAX_CONNECTIONS);
  sink.gauge('pg_database_size_bytes', { ...POSTGRES, datname: 'app' }, Math.round(v.dbSizeBytes));
  sink.gauge('redis_memory_used_bytes', { ...REDIS }, Math.round(v.redisMemory * REDIS_MAX_BYTES));
  sink.gauge('redis_memory_max_bytes', { ...REDIS }, REDIS_MAX_BYTES);
}

/** A counter series' running total: what the live exporter starts from after the backfilled week. */
export interface CounterTotal {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}
