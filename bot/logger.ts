import pino, { type DestinationStream, type Logger } from 'pino';

// Slack tokens have fixed prefixes; anything that looks like one is cut out of every log line.
const TOKEN_PATTERN = /\b(xox[abposre]|xapp)-[A-Za-z0-9-]+/g;

export interface LoggerOptions {
  level: string;
  /** Exact secret values (signing secret, …) to cut out wherever they appear. */
  secrets?: readonly string[];
  destination?: DestinationStream;
}

export function scrubSecrets(text: string, secrets: readonly string[] = []): string {
  let scrubbed = text.replace(TOKEN_PATTERN, '$1-[redacted]');
  for (const secret of secrets) if (secret.length >= 6) scrubbed = scrubbed.split(secret).join('[redacted]');
  return scrubbed;
}

function scrubValue(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (typeof value === 'string') return scrubSecrets(value, secrets);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
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
