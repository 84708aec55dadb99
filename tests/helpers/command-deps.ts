import pino from 'pino';
import { WebClient } from '@slack/web-api';
import type { CommandDeps } from '../../commands/types.ts';
import { toBoltLogger } from '../../bot/app.ts';
import { loadConfig } from '../../bot/config.ts';
import type { Config } from '../../core/config/index.ts';
import type { Clock } from '../../core/ports.ts';
import { openSqliteStorage, type SqliteStorage } from '../../db/storage.ts';
import { createPrometheus } from '../../integrations/prometheus.ts';
import { createSsh } from '../../integrations/ssh.ts';
import { createOutboxDeliverer } from '../../services/outbox.ts';
import { createRunbooksAndChecklists } from '../../services/wiring.ts';
import { refusingLoopbackUrl } from '../../devkit/ports.ts';
import { slackSender } from '../../integrations/slack-upload.ts';

export interface TestCommandDepsOptions {
  readonly config?: Config;
  /** Prometheus for the commands; default: a loopback port where nothing listens. */
  readonly prometheusUrl?: string;
  /** The fake Slack's Web API the outbox posts to (helpers/slack); default: a loopback port where nothing listens. */
  readonly slackApiUrl?: string;
  /** Default: a fixed moment, 2026-03-14T02:00:00Z. */
  readonly clock?: Clock;
  /** Who may approve, tick or respond; default: everyone. */
  readonly isAllowed?: (user: string, allowed: readonly string[]) => Promise<boolean>;
}

export interface TestCommandDeps {
  readonly deps: CommandDeps;
  /** The in-memory storage under `deps`, for reading rows back. */
  readonly storage: SqliteStorage;
  /** Stops the services and closes the storage. */
  close(): Promise<void>;
}

/**
 * CommandDeps as bot/main.ts builds them, minus Slack's listeners: the real runbook runner and checklist runs,
 * wired to each other, over an in-memory SQLite storage, posting through the real outbox, a real Prometheus
 * client, a silent logger.
 */
export async function createTestCommandDeps(options: TestCommandDepsOptions = {}): Promise<TestCommandDeps> {
  const config = options.config ?? loadConfig();
  const clock = options.clock ?? (() => new Date('2026-03-14T02:00:00Z'));
  const isAllowed = options.isAllowed ?? (async () => true);
  const logger = pino({ level: 'silent' });
  const storage = openSqliteStorage(':memory:');
  const prometheus = createPrometheus({ url: options.prometheusUrl ?? (await refusingLoopbackUrl()), timeoutMs: 2000 });
  const slack = new WebClient('xoxb-test', {
    slackApiUrl: options.slackApiUrl ?? `${await refusingLoopbackUrl()}/api/`,
    retryConfig: { retries: 0 },
    // Its warnings (a refused post when no Slack is given) go to the silent logger, not the test's output.
    logger: toBoltLogger(logger, 'outbox-client'),
  });
  const deliver = createOutboxDeliverer(storage, slackSender(slack, { timeoutMs: 10_000 }), clock, logger);
  const { runbooks, checklists, checklistCompletedAt } = createRunbooksAndChecklists({
    storage,
    config,
    prometheus,
    ssh: createSsh(),
    deliver,
    clock,
    logger,
    isAllowed,
  });
  const deps: CommandDeps = {
    config,
    prometheus,
    storage,
    logger,
    clock,
    runbooks,
    checklists,
    checklistCompletedAt,
  };
  return {
    deps,
    storage,
    async close() {
      await runbooks.shutdown();
      deliver.stop();
      await storage.close();
    },
  };
}
