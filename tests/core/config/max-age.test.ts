import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../bot/config.ts';
import { ConfigError } from '../../../core/config/index.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function configWith(yaml: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'scalebot-max-age-')), 'scalebot.yaml');
  writeFileSync(file, yaml);
  return loadConfig({ file });
}

describe('prometheus.max_age', () => {
  it('is auto by default: the scrape interval Prometheus reports', () => {
    expect(loadConfig().prometheus.maxAge).toBe('auto');
  });

  it('takes a duration, or 0 to ask Prometheus every time', () => {
    expect(configWith('prometheus:\n  max_age: 10s\n').prometheus.maxAge).toBe(10);
    expect(configWith('prometheus:\n  max_age: 1m30s\n').prometheus.maxAge).toBe(90);
    expect(configWith('prometheus:\n  max_age: 0\n').prometheus.maxAge).toBe(0);
  });

  it('refuses anything else, saying what it may be', () => {
    for (const value of ['soon', '-5s', 'true']) {
      let problems: readonly string[] = [];
      try {
        configWith(`prometheus:\n  max_age: ${value}\n`);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems = error.problems;
      }
      expect(problems.join('\n')).toMatch(/prometheus\.max_age.*write auto .*0 .*duration like 15s/);
    }
  });
});
