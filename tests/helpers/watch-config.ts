import { loadConfig } from '../../bot/config.ts';

// The guide's triggers as config/triggers.yaml has them (tests/bot/config.test.ts pins that list).
const DEFAULT_TRIGGER_IDS = loadConfig().triggers.map((trigger) => trigger.id);

/** YAML switching off the guide's triggers, for tests that bring their own few. */
export const WITHOUT_DEFAULT_TRIGGERS = DEFAULT_TRIGGER_IDS.map((id) => `  - { id: ${id}, enabled: false }`).join('\n');

/** Two quick triggers over test gauges (`test_load`, `test_users`), the watcher's settings made short, no charts. */
export function watcherTestConfig(watch: string): string {
  const loadQuery = 'max by (instance) (test_load)';
  return `prometheus:
  lookback: 60s
  timeout: 3s
  # These tests change the data and run a cycle at once: no evaluation is served again, however young.
  max_age: 0s
slack:
  alerts_channel: C0ALERTS
# These tests count the messages of a breach's life; its charts are tested in tests/services/charts.test.ts.
charts:
  enabled: false
watch:
${watch}
triggers:
${WITHOUT_DEFAULT_TRIGGERS}
  - { id: load, name: Load, severity: immediate, query: "${loadQuery}", op: ">", threshold: 0.7, for: 2s, unit: percent, advice: "Consider vertical scaling." }
  - { id: users, name: Users online, severity: soon, query: "sum(test_users)", op: ">", threshold: 500, unit: count }
`;
}
