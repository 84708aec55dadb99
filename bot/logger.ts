import pino, { type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from '../core/redact.ts';

export interface LoggerOptions {
  level: string;
  /** Exact secret values (signing secret, …) to cut out wherever they appear. */
  secrets?: readonly string[];
  destination?: DestinationStream;
}

/** core/redact.ts's one scrubber (registered secrets, credential shapes), plus this logger's own secrets. */
export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  return redactSecrets(text, secrets);
}

function scrubValue(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  // Deeper than this, the value is logged as scrubbed JSON text rather than walked further (never raw).
  if (depth > 6) return scrubSecrets(safeJson(value), secrets);
  if (value instanceof Error) {
    return { type: value.name, message: scrubSecrets(value.message, secrets), stack: value.stack && scrubSecrets(value.stack, secrets) };
  }
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, secrets, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = /token|secret|password|authorization|private_?key/i.test(key) ? '[redacted]' : scrubValue(inner, secrets, depth + 1);
  }
  return copy;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '[unserializable]';
  }
}

/** Structured JSON logs; no token, signing secret or key reaches a line, whatever a caller passes in. */
export function createLogger({ level, secrets = [], destination }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { app: 'scalebot' },
      hooks: {
        logMethod(args, method) {
          const cleaned = args.map((arg) => scrubValue(arg, secrets)) as Parameters<typeof method>;
          return method.apply(this, cleaned);
        },
      },
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
