// The bench's config files for the bot (SCALEBOT_CONFIG). The evaluation cache's `prometheus.max_age` is set
// per phase: long (60 s) where status is to be answered from a fresh evaluation, as short as the bot accepts
// where every status must evaluate anew. A bot without the setting (before the cache) refuses the key; the bench
// then runs it without, and says so, so that the same harness measures the code before and after.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../bot/config.ts';

export interface BotConfig {
  /** The YAML file to give the bot. */
  readonly file: string;
  /** The `prometheus.max_age` it sets, or null when this bot has no such setting. */
  readonly maxAge: string | null;
}

function accepted(file: string): boolean {
  try {
    loadConfig({ file, env: { PROMETHEUS_URL: 'http://127.0.0.1:9' } });
    return true;
  } catch {
    return false;
  }
}

/**
 * A config file with `sections` (YAML lines, unindented) and, when the bot knows it, the first of `maxAges` it
 * accepts as `prometheus.max_age`.
 */
export function writeBotConfig(dir: string, name: string, options: { maxAges: readonly string[]; sections?: readonly string[] }): BotConfig {
  const file = join(dir, `${name}.yaml`);
  const rest = (options.sections ?? []).join('\n');
  for (const maxAge of options.maxAges) {
    writeFileSync(file, `prometheus:\n  max_age: ${maxAge}\n${rest}\n`);
    if (accepted(file)) return { file, maxAge };
  }
  writeFileSync(file, `${rest}\n`);
  if (!accepted(file)) throw new Error(`the bench's config ${file} is refused by the bot's config loader`);
  return { file, maxAge: null };
}
