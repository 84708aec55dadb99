// What a chart costs: CPU per chart at 100 series × 240 points, drawn the way the bot draws it (in the chart
// worker), p50/p99 over 50 drawings after a warm-up; the digest's small multiples of 12 triggers; and building
// the model on the main thread. Target (issue 16): ≤ 150 ms of CPU a chart.
//
//   node --import tsx bench/charts.ts [--rounds 50] [--out /tmp]     (--out saves the pictures to look at)
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createChartRenderer } from '../charts/off-thread.ts';
import { buildChartModel, chartWindowSeconds } from '../core/chart.ts';
import { AT, CPU_TRIGGER, cpuChart, fleetSeries, weekOfTriggers } from '../devkit/chart-samples.ts';
import { percentile } from './stats.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '50' }, out: { type: 'string' } } });
const rounds = Number(values.rounds);
const TARGET_CPU_MS = 150;

const cpuOfDrawing: number[] = [];
const wallOfDrawing: number[] = [];
const renderer = createChartRenderer({
  onRendered: ({ cpuMs, wallMs }) => {
    cpuOfDrawing.push(cpuMs);
    wallOfDrawing.push(wallMs);
  },
});

const round1 = (value: number) => value.toFixed(1);
const figures = (name: string, cpu: readonly number[], wall: readonly number[]) =>
  `${name.padEnd(44)} CPU p50 ${round1(percentile(cpu, 50)).padStart(6)} ms  p99 ${round1(percentile(cpu, 99)).padStart(6)} ms   ` +
  `wall p50 ${round1(percentile(wall, 50)).padStart(6)} ms  p99 ${round1(percentile(wall, 99)).padStart(6)} ms`;

try {
  // The model: 100 series of 240 points, ranked and cut to five, on the main thread.
  const windowSeconds = chartWindowSeconds(CPU_TRIGGER);
  const series = fleetSeries(100, 240, windowSeconds);
  const buildCpu: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const before = process.cpuUsage();
    buildChartModel({ trigger: CPU_TRIGGER, series, at: AT, windowSeconds, theme: 'light' });
    const used = process.cpuUsage(before);
    buildCpu.push((used.user + used.system) / 1000);
  }

  const fleet = { light: cpuChart('light', { series: 100, points: 240 }), dark: cpuChart('dark', { series: 100, points: 240 }) };
  // Warm-up: the worker's start, its bundle and the JIT are paid once per process, not per chart.
  const firstStart = performance.now();
  await renderer.render(fleet.light);
  const firstChartMs = performance.now() - firstStart;
  for (let round = 0; round < 5; round += 1) await renderer.render(fleet.dark);
  cpuOfDrawing.length = 0;
  wallOfDrawing.length = 0;

  for (let round = 0; round < rounds; round += 1) await renderer.render(round % 2 ? fleet.dark : fleet.light);
  const chartCpu = [...cpuOfDrawing];
  const chartWall = [...wallOfDrawing];

  cpuOfDrawing.length = 0;
  wallOfDrawing.length = 0;
  const week = weekOfTriggers('light');
  const multiplesRounds = Math.max(5, Math.round(rounds / 5));
  let multiples = await renderer.renderSmallMultiples(week, { title: 'Capacity this week', columns: 3 });
  cpuOfDrawing.length = 0;
  wallOfDrawing.length = 0;
  for (let round = 0; round < multiplesRounds; round += 1) multiples = await renderer.renderSmallMultiples(week, { title: 'Capacity this week', columns: 3 });

  console.log(`Charts (${rounds} drawings after a warm-up; CPU is the process' while the worker draws)`);
  const buildFigures = `CPU p50 ${round1(percentile(buildCpu, 50)).padStart(6)} ms  p99 ${round1(percentile(buildCpu, 99)).padStart(6)} ms`;
  console.log(`${'model: 100 series × 240 points → 5 lines'.padEnd(44)} ${buildFigures}`);
  console.log(figures('chart 800 × 400, 100 series × 240 points', chartCpu, chartWall));
  console.log(figures(`small multiples, 12 triggers (${multiples.width} × ${multiples.height})`, cpuOfDrawing, wallOfDrawing));
  console.log(`first chart of a process (bundle, worker start, JIT): ${Math.round(firstChartMs)} ms wall`);
  const p99 = percentile(chartCpu, 99);
  console.log(`target ≤ ${TARGET_CPU_MS} ms CPU a chart: ${p99 <= TARGET_CPU_MS ? 'met' : 'MISSED'} at p99 (${round1(p99)} ms)`);

  if (values.out) {
    for (const theme of ['light', 'dark'] as const) {
      const chart = await renderer.render(cpuChart(theme, { series: 8, forecast: null }));
      writeFileSync(join(values.out, `chart-${theme}.png`), chart.png);
    }
    writeFileSync(join(values.out, 'chart-multiples.png'), multiples.png);
    console.log(`pictures: ${['chart-light.png', 'chart-dark.png', 'chart-multiples.png'].map((name) => join(values.out!, name)).join(', ')}`);
  }
} finally {
  await renderer.close();
}
