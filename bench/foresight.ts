// `npm run bench:foresight`: what charts and forecasts cost, written to bench/RESULTS.md as its own section
// (kept by `npm run bench`, like the failover section). Runs bench/charts.ts (CPU per chart in the chart worker)
// and bench/forecast.ts (a status with and without forecasts against a real Prometheus) one after the other, so
// that neither measures the other's load, and records the machine's load before and after.
//
//   npm run bench:foresight [-- --out FILE]      (default bench/RESULTS.md; --out - prints only)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: join(REPO_ROOT, 'bench', 'RESULTS.md') } } });

function run(script: string, args: readonly string[]): string {
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', script), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60_000,
  });
  if (child.status !== 0) throw new Error(`${script} failed (exit ${child.status ?? child.signal}):\n${child.stdout}`);
  process.stderr.write(`[bench:foresight] ${script} took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return child.stdout.trimEnd();
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
const loadBefore = load();
const charts = run('charts.ts', ['--rounds', '50']);
const forecast = run('forecast.ts', ['--instances', '100', '--rounds', '10']);
const section = [
  '<!-- foresight:begin (written by bench/foresight.ts) -->',
  '## Charts and forecasts: what a picture and a trend cost',
  '',
  `Written by \`bench/foresight.ts\` on ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; ${cpus().length} CPUs, ` +
    `load average before ${loadBefore}, after ${load()}. Target (issue 16): one chart ≤ 150 ms of CPU at 100 series × 240 points.`,
  '',
  '```',
  charts,
  '```',
  '',
  '```',
  forecast,
  '```',
  '<!-- foresight:end -->',
].join('\n');
process.stdout.write(`${section}\n`);
if (values.out !== '-') {
  const before = existsSync(values.out) ? readFileSync(values.out, 'utf8') : '';
  const marked = /<!-- foresight:begin[\s\S]*?<!-- foresight:end -->/;
  writeFileSync(values.out, marked.test(before) ? before.replace(marked, section) : `${before.trimEnd()}\n\n${section}\n`);
  process.stderr.write(`[bench:foresight] written to ${values.out}\n`);
}
