import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig, parseSettings, type Config, type ConfigSource, type Settings } from '../core/config/index.ts';

/** The loading of the config and the settings: reading the files and the environment. The parsing is core's. */

export const DEFAULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'config');

export interface LoadConfigOptions {
  /** The user's file; absent: the built-in defaults alone. */
  file?: string;
  /** Environment overrides (PROMETHEUS_URL) and the variables hosts name for their key files. */
  env?: Readonly<Record<string, string | undefined>>;
  defaultsDir?: string;
}

/** Reads the defaults and the user's file, validates both, and returns one typed, frozen config. */
export function loadConfig({ file, env = {}, defaultsDir = DEFAULTS_DIR }: LoadConfigOptions = {}): Config {
  const defaults = readdirSync(defaultsDir)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .map((name) => readSource(join(defaultsDir, name)));
  return parseConfig({ defaults, ...(file ? { user: readUserFile(resolve(file)) } : {}), env });
}

function readUserFile(path: string): ConfigSource {
  if (!existsSync(path)) return { file: path, unreadable: 'no such file (give --config or SCALEBOT_CONFIG the path of your YAML config)' };
  return readSource(path);
}

function readSource(file: string): ConfigSource {
  try {
    return { file, text: readFileSync(file, 'utf8') };
  } catch (error) {
    return { file, unreadable: `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
  }
}

/** The process settings from an environment record (process.env, with .env loaded into it by the CLI). */
export function loadSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  return parseSettings(env);
}
