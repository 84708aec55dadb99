/**
 * Secrets never leave the process: every text bound for Slack, the decision log or a log line passes through
 * `redactSecrets`. It cuts the exact values the process knows are secret (tokens, signing secret, passwords
 * in URLs; registered at start) and whatever looks like a credential by its shape, so that a secret the bot
 * was never told about (a token a runbook step prints) is cut too.
 */

const known = new Set<string>();

/** Exact secret values to cut wherever they appear; values shorter than 6 characters are ignored (too common). */
export function registerSecrets(values: Iterable<string | null | undefined>): void {
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const trimmed = value.trim();
    if (trimmed.length >= 6) known.add(trimmed);
    // A password written into a URL reaches texts percent-decoded as well as encoded.
    try {
      const decoded = decodeURIComponent(trimmed);
      if (decoded !== trimmed && decoded.length >= 6) known.add(decoded);
    } catch {
      // Not percent-encoded: nothing more to register.
    }
  }
}

/** The secrets registered so far, from the start of the process (tests). */
export function registeredSecrets(): readonly string[] {
  return [...known];
}

/** A name that says its value is a secret (db_password, API-KEY, client_secret, ...), as capture group 1. */
const SECRET_NAME = /\b([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)[A-Za-z0-9_.-]*)/;

/** Shapes of credentials, each replaced by the part that is not secret and "[redacted]". */
const PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // Private keys, whole blocks, also when cut off before their END line.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, '[redacted private key]'],
  // Slack tokens: bot, user, app-level, refresh, config.
  [/\b(xox[abposre]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]+/g, '$1-[redacted]'],
  // Userinfo in URLs: scheme://user:password@host → scheme://[redacted]@host.
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:<>|]*:[^\s/@<>|]*@/gi, '$1[redacted]@'],
  // HTTP authorization headers and the like.
  [/\b(authorization|proxy-authorization)(\s*[:=]\s*)(bearer|basic|token)?\s*[^\s"'`,;]+/gi, '$1$2$3 [redacted]'],
  [/\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [redacted]'],
  // key=value and key: value for names that say what they hold; not sudoers' NOPASSWD: tag, followed by a command, not a secret.
  [
    new RegExp(/(?!NOPASSWD:\s*(?:\/|ALL\b))/.source + SECRET_NAME.source + /(["']?\s*[:=]\s*["']?)(?!\[redacted)[^\s"'`,;&<>]+/.source, 'gi'),
    '$1$2[redacted]',
  ],
  // Well-known token formats.
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, '$1[redacted]'],
  [/\b(gh[pousr]_)[A-Za-z0-9]{20,}\b/g, '$1[redacted]'],
  [/\b(github_pat_)[A-Za-z0-9_]{20,}\b/g, '$1[redacted]'],
  [/\b(glpat-)[A-Za-z0-9_-]{16,}\b/g, '$1[redacted]'],
  [/\b(sk-(?:live|test|proj)?[-_]?)[A-Za-z0-9]{16,}\b/g, '$1[redacted]'],
  [/\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.)[A-Za-z0-9_-]+/g, 'eyJ[redacted JWT]'],
];

/** The text with every registered secret and every credential-shaped run cut out. */
export function redactSecrets(text: string, extra: readonly string[] = []): string {
  let out = text;
  for (const secret of [...known, ...extra]) {
    if (secret.length >= 6 && out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Every string inside a JSON-like value redacted (payloads, decision details). */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  // Deeper than anything the bot builds: kept as scrubbed text rather than passed through unread.
  if (depth > 12) return redactSecrets(safeJson(value)) as T;
  if (value instanceof Map) return new Map([...value].map(([key, inner]) => [key, redactDeep(inner, depth + 1)])) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1)) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) copy[key] = redactDeep(inner, depth + 1);
  return copy as T;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '[unserialisable]';
  }
}

/** A URL as people may see it: without user and password (and unchanged when it does not parse). */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return redactSecrets(url);
  }
}

/** The password (and user) in a URL, for `registerSecrets`. */
export function urlSecrets(url: string | null | undefined): string[] {
  if (!url) return [];
  try {
    const parsed = new URL(url);
    return [parsed.password, parsed.password ? decodeURIComponent(parsed.password) : ''].filter(Boolean);
  } catch {
    return [];
  }
}
