import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The bot's own metrics, served at GET /metrics. One registry per process (tests build their own). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'scalebot_' });
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
  return { registry, commandsTotal, commandDuration, watcher: createWatcherMetrics(registry) };
}

export type Metrics = ReturnType<typeof createMetrics>;

export function createWatcherMetrics(registry: Registry) {
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

export type WatcherMetrics = ReturnType<typeof createWatcherMetrics>;
