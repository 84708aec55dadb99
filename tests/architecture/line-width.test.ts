// Biome formats code to the width in biome.json but leaves long strings and comments as they are: this holds
// them to the same width, so that the whole tree reads at one width.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LINE_WIDTH = (JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as { formatter: { lineWidth: number } }).formatter.lineWidth;

function trackedSources(): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.mts', '*.js', '*.mjs'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return listed.split('\n').filter((file) => file && !file.startsWith('tests/fixtures/') && !file.startsWith('db/migrations/'));
}

describe('line width', () => {
  it(`keeps every line of code, string and comment within ${LINE_WIDTH} characters`, () => {
    const files = trackedSources();
    expect(files.length).toBeGreaterThan(200);
    const tooLong = files.flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .flatMap((line, index) => ([...line].length > LINE_WIDTH ? [`${file}:${index + 1} (${[...line].length})`] : [])),
    );
    expect(tooLong).toEqual([]);
  });
});
