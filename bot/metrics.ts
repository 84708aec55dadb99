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
  return { registry, commandsTotal, commandDuration };
}

export type Metrics = ReturnType<typeof createMetrics>;
