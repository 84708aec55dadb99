// Alertmanager webhooks (firing, repeated, resolved) while Slack pushes back: one message per alert, its
// repeats edited in, its resolution shown, nothing posted twice and nothing left behind in the outbox.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { startTestBot } from '../helpers/bot.ts';
import { startFakeSlack } from '../helpers/slack/index.ts';
import { duplicateKeys, LONG, loadSummary, lostOrStale, messagesByKey, outboxBacklog, PRODUCTION_CLIENT_ENV, pushyLoad } from '../helpers/slack-load.ts';
import { watcherTestConfig } from '../helpers/watch-config.ts';

const CHANNEL = 'C0ALERTS';
const TOKEN = 'am-webhook-token-load';

function alert(index: number, status: 'firing' | 'resolved', summary: string) {
  return {
    status,
    labels: { alertname: `QueueBacklog${index}`, instance: `worker-${index}:9100`, severity: 'critical' },
    annotations: { summary },
    startsAt: new Date(Date.now() - 600_000).toISOString(),
    endsAt: status === 'resolved' ? new Date().toISOString() : '0001-01-01T00:00:00Z',
    fingerprint: `f00d${index.toString(16).padStart(4, '0')}`,
  };
}

function webhook(status: 'firing' | 'resolved', alerts: unknown[]) {
  return {
    version: '4',
    groupKey: '{}:{alertname=~"QueueBacklog.*"}',
    status,
    receiver: 'scalebot',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example:9093',
    alerts,
  };
}

describe('Alertmanager alerts when Slack pushes back', () => {
  it(
    'posts one message per alert, edits repeats in, shows every resolution, and posts nothing twice',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          fc.integer({ min: 2, max: LONG ? 12 : 5 }),
          fc.integer({ min: 0, max: 2 }),
          async (seed, count, repeats) => {
            const fake = await startFakeSlack({ load: pushyLoad(seed, { members: [CHANNEL] }) });
            // An Alertmanager-only deployment: the watcher is off, so nothing but these webhooks calls for delivery.
            const tb = await startTestBot({
              fake,
              config: watcherTestConfig('  enabled: false'),
              env: { ...PRODUCTION_CLIENT_ENV, ALERTMANAGER_TOKEN: TOKEN },
            });
            try {
              const post = async (body: unknown) => {
                const response = await fetch(`${tb.url}/alertmanager`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
                  body: JSON.stringify(body),
                });
                expect(response.status).toBe(200);
              };
              const indices = Array.from({ length: count }, (_, i) => i + 1);
              await post(
                webhook(
                  'firing',
                  indices.map((i) => alert(i, 'firing', `backlog 100 (${i})`)),
                ),
              );
              for (let round = 1; round <= repeats; round += 1) {
                await post(
                  webhook(
                    'firing',
                    indices.map((i) => alert(i, 'firing', `backlog ${100 + round * 10} (${i})`)),
                  ),
                );
              }
              await post(
                webhook(
                  'resolved',
                  indices.map((i) => alert(i, 'resolved', 'back to normal')),
                ),
              );

              const backlog = () => outboxBacklog(tb.bot.database.sqlite);
              const summary = () =>
                `${loadSummary(fake)}\nbacklog ${JSON.stringify(backlog().map((r) => [r.dedupe_key, r.status, r.needs_update, r.last_error]))}`;
              await fake
                .waitFor(() => backlog().length === 0, { timeoutMs: LONG ? 120_000 : 40_000, intervalMs: 100 })
                .catch((error: Error) => {
                  throw new Error(`${error.message.split('\n')[0]}: the outbox never emptied\n${summary()}`);
                });

              const breaches = tb.bot.database.sqlite.prepare("SELECT id, status FROM breaches WHERE source = 'alertmanager' ORDER BY id").all() as Array<{
                id: number;
                status: string;
              }>;
              expect(breaches, summary()).toHaveLength(count);
              const byKey = messagesByKey(fake, CHANNEL);
              for (const breach of breaches) {
                expect(breach.status).toBe('resolved');
                expect(byKey.get(`breach:${breach.id}`), `breach ${breach.id}; ${summary()}`).toBe(1);
                const message = fake.messages(CHANNEL).find((m) => m.metadata?.event_payload?.key === `breach:${breach.id}`)!;
                expect(JSON.stringify(message.blocks), summary()).toContain('Resolved: QueueBacklog');
              }
              expect(duplicateKeys(fake), summary()).toEqual([]);
              expect(lostOrStale(tb.bot.database.sqlite, fake), summary()).toEqual([]);
              if (LONG) console.info(`slack-load alertmanager: ${count} alerts, ${repeats} repeats; ${loadSummary(fake)}`);
            } finally {
              await tb.stop();
              await fake.close();
            }
          },
        ),
        { numRuns: LONG ? 10 : 3, endOnFailure: true, ...(process.env.SCALEBOT_SEED ? { seed: Number(process.env.SCALEBOT_SEED) } : {}) },
      );
    },
    LONG ? 900_000 : 130_000,
  );
});
