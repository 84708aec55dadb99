import { setTimeout as sleep } from 'node:timers/promises';

export interface UntilOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Appended to the timeout error: logs, what the fake saw, the database's state. */
  detail?: () => string;
}

/**
 * Polls `probe` until it gives something truthy, and resolves with it; a probe that throws counts as "not
 * yet" (a database being written by the bot, an `expect` inside). On the deadline, rejects naming `what`,
 * with the probe's last error and `detail()`. The one way these tests wait: a condition with a deadline,
 * never a sleep standing in for one.
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs, intervalMs = 25, detail }: UntilOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}${detail ? `\n${detail()}` : ''}`);
    }
    await sleep(intervalMs);
  }
}
