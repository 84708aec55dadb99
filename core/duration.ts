/** Durations as the config writes them: "90s", "15m", "4h", "1d", "1h30m", or a bare number of seconds. */
const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART_PATTERN = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new Error(`a duration cannot be ${input}`);
    return input;
  }
  const text = input.trim();
  if (text === '0') return 0;
  if (!DURATION_PATTERN.test(text)) {
    throw new Error(`"${input}" is not a duration: write it like 90s, 15m, 4h, 1d or 1h30m`);
  }
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(PART_PATTERN)) seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  return seconds;
}

/** "47 min", "2 h 5 min", "3 d 4 h", "40 s": short and readable, for Slack and the CLI. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.round(totalSeconds));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const restMinutes = minutes % 60;
  if (hours < 24) return restMinutes ? `${hours} h ${restMinutes} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  const restHours = hours % 24;
  return restHours ? `${days} d ${restHours} h` : `${days} d`;
}
