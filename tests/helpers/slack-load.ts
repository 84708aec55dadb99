// Measuring the bot's promises against a fake Slack in load mode: what reached the channel, per outbox key,
// and how often one message was edited.
import type { FakeSlack, RecordedCall, SlackLoadOptions } from './slack/index.ts';

export const LONG = process.env.SCALEBOT_LONG === '1';

/**
 * The bot's production client settings, with the retries of the Bolt client capped: Slack's default policy
 * retries for about 30 minutes, which would let one 5xx stall a test. (The outbox's own client retries
 * nothing by design; its retry path is the outbox's.)
 */
export const PRODUCTION_CLIENT_ENV: Record<string, string> = { SLACK_API_RETRIES: '2' };

/** A pushy Slack: the published tiers made stricter so short tests reach 429s, and some 5xx and lost answers. */
export function pushyLoad(seed: number, overrides: SlackLoadOptions = {}): SlackLoadOptions {
  return { seed, rateLimits: true, rateScale: 0.5, errorRate: 0.08, dropRate: 0.08, timeoutRate: 0, ...overrides };
}

/** Messages (top level and replies) that reached the channel, grouped by the outbox key in their metadata. */
export function messagesByKey(fake: FakeSlack, channel?: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of fake.messages(channel)) {
    const key = message.metadata?.event_payload?.key;
    if (typeof key !== 'string') continue;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Keys that reached the channel more than once. */
export function duplicateKeys(fake: FakeSlack, channel?: string): string[] {
  return [...messagesByKey(fake, channel)].filter(([, n]) => n > 1).map(([key]) => key);
}

/** chat.update calls that Slack carried out, per message ts. */
export function appliedEdits(fake: FakeSlack): Map<string, RecordedCall[]> {
  const byTs = new Map<string, RecordedCall[]>();
  for (const call of fake.callsTo('chat.update')) {
    if (!call.applied) continue;
    const ts = String(call.args.ts);
    byTs.set(ts, [...(byTs.get(ts) ?? []), call]);
  }
  return byTs;
}

/** The most carried-out edits of one message within any window of `windowMs`. */
export function maxEditsInWindow(calls: readonly RecordedCall[], windowMs = 1000): number {
  const times = calls.map((call) => call.at.getTime()).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    while (times[end]! - times[start]! >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

/** A one-line account of what load mode did and what the bot sent, for failure messages and long runs. */
export function loadSummary(fake: FakeSlack): string {
  const counts = fake.loadCounts;
  const byMethod = new Map<string, number>();
  for (const call of fake.calls) byMethod.set(call.method, (byMethod.get(call.method) ?? 0) + 1);
  return `pushback ${JSON.stringify(counts)}; calls ${JSON.stringify(Object.fromEntries(byMethod))}`;
}

interface OutboxRowSeen {
  id: number;
  dedupe_key: string;
  channel: string;
  status: string;
  needs_update: number;
  ts: string | null;
  payload: string;
  last_error: string | null;
}

interface Sqlite {
  prepare(sql: string): { all(): unknown[] };
}

/** Outbox rows not yet shown in Slack as they stand: unsent, or sent with an edit still owed. */
export function outboxBacklog(sqlite: Sqlite): OutboxRowSeen[] {
  return (sqlite.prepare('SELECT * FROM slack_outbox ORDER BY id').all() as OutboxRowSeen[]).filter((row) => row.status !== 'sent' || row.needs_update);
}

/**
 * Nothing lost: every outbox row is sent and the channel shows its latest text at its ts. Returns the
 * differences (empty when all is well).
 */
export function lostOrStale(sqlite: Sqlite, fake: FakeSlack): string[] {
  const problems: string[] = [];
  for (const row of sqlite.prepare('SELECT * FROM slack_outbox ORDER BY id').all() as OutboxRowSeen[]) {
    if (row.status !== 'sent' || row.needs_update || !row.ts) {
      problems.push(`${row.dedupe_key}: ${row.status}${row.needs_update ? ' (edit owed)' : ''} ${row.last_error ?? ''}`);
      continue;
    }
    const shown = fake.message(row.channel, row.ts);
    const wanted = (JSON.parse(row.payload) as { text: string }).text;
    if (!shown) problems.push(`${row.dedupe_key}: not in the channel at ${row.ts}`);
    else if (shown.text !== wanted)
      problems.push(`${row.dedupe_key}: shows ${JSON.stringify(shown.text.slice(0, 60))}, not ${JSON.stringify(wanted.slice(0, 60))}`);
  }
  return problems;
}
