import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WatcherMetrics } from '../services/watcher.ts';

/** What /metrics reads of the Prometheus worker thread (integrations/prometheus-off-thread.ts). */
export interface PrometheusWorkerStats {
  workerHeapUsed(): Promise<number | null>;
  workersStarted(): number;
}

/** The bot's own metrics, served at GET /metrics. One registry per process (tests build their own). */
export function createMetrics(prometheusWorker?: PrometheusWorkerStats, evaluations?: { readonly evaluationMaxAgeSeconds: () => number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'scalebot_' });
  if (prometheusWorker) {
    // The default metrics see the main thread's heap only; the worker reading Prometheus' answers has its own.
    new Gauge({
      name: 'scalebot_prometheus_worker_heap_used_bytes',
      help: "Heap in use in the worker thread that reads Prometheus' answers (0 while none runs: it starts on first use)",
      registers: [registry],
      async collect() {
        this.set((await prometheusWorker.workerHeapUsed()) ?? 0);
      },
    });
    new Gauge({
      name: 'scalebot_prometheus_workers_started',
      help: 'Prometheus worker threads started since the bot started: more than 1 means one died (the log says why)',
      registers: [registry],
      collect() {
        this.set(prometheusWorker.workersStarted());
      },
    });
  }
  const commandsTotal = new Counter({
    name: 'scalebot_commands_total',
    help: '/scale commands handled, by subcommand and outcome',
    labelNames: ['subcommand', 'outcome'] as const,
    registers: [registry],
  });
  const commandDuration = new Histogram({
    name: 'scalebot_command_duration_seconds',
    help: 'Time from receiving a /scale command to its answer being sent, by subcommand and outcome',
    labelNames: ['subcommand', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
    registers: [registry],
  });
  // core/evaluation-cache.ts: how often an evaluation was shared instead of asked of Prometheus again.
  const evaluationCache = new Counter({
    name: 'scalebot_evaluation_cache_requests_total',
    help: 'Trigger evaluations asked for, by outcome: hit (kept, younger than prometheus.max_age), shared (in flight), miss, bypass (off, or a past moment)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  if (evaluations) {
    new Gauge({
      name: 'scalebot_evaluation_max_age_seconds',
      help: 'How long an evaluation serves everyone who asks (prometheus.max_age; with auto, the scrape interval read from Prometheus)',
      registers: [registry],
      collect() {
        this.set(evaluations.evaluationMaxAgeSeconds());
      },
    });
  }
  return {
    registry,
    commandsTotal,
    commandDuration,
    evaluationCache,
    watcher: createWatcherMetrics(registry),
    leadership: createLeadershipMetrics(registry),
  };
}

/** Whether this replica leads, and how often that changed (services/leadership.ts reports each change). */
export function createLeadershipMetrics(registry: Registry) {
  const leader = new Gauge({
    name: 'scalebot_leader',
    help: 'Whether this replica is the leader (1), the one that runs the watcher, the outbox sender and runbook steps, or a follower (0)',
    registers: [registry],
  });
  leader.set(0);
  const changes = new Counter({
    name: 'scalebot_leader_changes_total',
    help: 'Times this replica became the leader or stopped being it, by the role it took (the log says why)',
    labelNames: ['role'] as const,
    registers: [registry],
  });
  return {
    leader,
    changes,
    /** The leadership's onChange. */
    record(change: { readonly role: 'leader' | 'follower' }) {
      leader.set(change.role === 'leader' ? 1 : 0);
      changes.inc({ role: change.role });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The watcher's counters (services/watcher.ts WatcherMetrics), and the outbox's Slack errors beside them. */
export function createWatcherMetrics(registry: Registry): WatcherMetrics & { readonly slackErrors: Counter<'method' | 'error'> } {
  return {
    evaluations: new Counter({
      name: 'scalebot_watcher_evaluations_total',
      help: 'Watcher cycles, by outcome (ok, blind: Prometheus unreachable, error)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    breachesOpened: new Counter({
      name: 'scalebot_breaches_opened_total',
      help: 'Breaches opened, by severity',
      labelNames: ['severity'] as const,
      registers: [registry],
    }),
    breachesResolved: new Counter({
      name: 'scalebot_breaches_resolved_total',
      help: 'Breaches resolved, by severity',
      labelNames: ['severity'] as const,
      registers: [registry],
    }),
    slackErrors: new Counter({
      name: 'scalebot_slack_errors_total',
      help: 'Failed Slack Web API calls of the watcher, by method and error',
      labelNames: ['method', 'error'] as const,
      registers: [registry],
    }),
  };
}
