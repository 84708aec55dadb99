import { redactDeep, redactSecrets } from '../core/redact.ts';
import type { DecisionInput, MessagePayload } from '../core/storage/effects.ts';

// What both dialects do to a row before it is written: the secrets the bot knows, and credential shapes, are cut.

/**
 * Block Kit fields that are identifiers, never shown: a button's `value` like "5:rotate-secret:tick" reads
 * as a credential to the patterns, and cutting it would break the button. Everything else is scrubbed.
 */
const IDENTIFIER_KEYS = new Set(['type', 'action_id', 'block_id', 'value', 'style', 'callback_id']);

/**
 * Fields that are bytes, not text: a chart's PNG as base64 (`file.base64`) reads to the patterns as a run of
 * credential-shaped characters here and there (`AKIA` and 16 capitals, a registered secret's characters), and
 * cutting one would break the image. Its name, title and alt text are text, and are scrubbed.
 */
const BYTES_KEYS = new Set(['base64']);

const keptAsIs = (key: string | null) => key !== null && (IDENTIFIER_KEYS.has(key) || BYTES_KEYS.has(key));

function scrubValue(value: unknown, key: string | null): unknown {
  if (typeof value === 'string') return keptAsIs(key) ? value : redactSecrets(value);
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, null));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([name, inner]) => [name, scrubValue(inner, name)]));
}

/**
 * What is stored, and so what the outbox will post: the payload as JSON carries it (as the column writes
 * it), with every registered secret and credential-shaped text cut out. Everything the bot posts through
 * the outbox passes here, whoever built it.
 */
export function scrubbed(payload: MessagePayload): MessagePayload {
  return scrubValue(JSON.parse(JSON.stringify(payload)), null) as MessagePayload;
}

const redactOptional = (text: string | null | undefined): string | null => (text == null ? null : redactSecrets(text));

/**
 * A decision-log row as written: the log has no update or delete (the schema refuses both), so a secret
 * written there stays. Subject, outcome and detail are scrubbed first. The detail goes in as JSON carries it
 * (a Date becomes its text, as the column writes it; a BigInt fails the row, as it always did).
 */
export function decisionRow(input: DecisionInput) {
  return {
    at: input.at,
    kind: input.kind,
    actor: input.actor,
    channel: input.channel ?? null,
    subject: redactOptional(input.subject),
    outcome: redactOptional(input.outcome),
    detail: input.detail === undefined ? {} : redactDeep(JSON.parse(JSON.stringify(input.detail)) as Record<string, unknown>),
  };
}
