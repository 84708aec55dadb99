// What forecasts cost the bot: judging one trigger over a 100-instance fleet with and without its forecast,
// against a real Prometheus holding eight days of 5-minute history (devkit/prometheus). Prints the bot's CPU
// (this process: the HTTP answers read, the points parsed, the series judged and fitted) and Prometheus' CPU per
// judgement, medians over alternating rounds, and the fit alone per series.
//
//   npx tsx bench/forecast.ts [--instances 100] [--rounds 10]
import { parseArgs } from 'node:util';
import { forecastQueryWindow, forecastSeries, type ForecastSettings } from '../core/forecast.ts';
import { judgeTriggers } from '../core/status.ts';
import type { Trigger } from '../core/triggers.ts';
import { scenario, startPrometheus } from '../devkit/prometheus/index.ts';
import { createPrometheus } from '../integrations/prometheus.ts';
import { cpuMsOf } from './measure-status.ts';
import { median } from './stats.ts';

const { values } = parseArgs({ options: { instances: { type: 'string', default: '100' }, rounds: { type: 'string', default: '10' } } });
const instances = Number(values.instances);
const rounds = Number(values.rounds);
const DAY = 86_400;
const settings: ForecastSettings = { windowSeconds: 7 * DAY, minHistorySeconds: DAY, warnWithinSeconds: 14 * DAY };
const now = Math.floor(Date.now() / 1000 / 300) * 300;
const at = new Date(now * 1000);

const history = scenario({ now, hours: 24 * 8, stepSeconds: 300 });
for (let index = 0; index < instances; index += 1) {
  const perDay = (index % 10) / 100;
  history.gauge(
    'bench_fleet_usage',
    { instance: `web-${index}:9100` },
    (t) => 0.3 + perDay * ((t - now) / DAY) * 0.1 + 0.1 * Math.sin((2 * Math.PI * t) / DAY + index),
  );
}
const startedAt = Date.now();
const prom = await startPrometheus({ openMetrics: history.toOpenMetrics(), readyTimeoutMs: 120_000 });
console.log(`Prometheus with ${instances} series × 8 days at 5 min, backfilled in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

const trigger: Trigger = {
  id: 'fleet',
  name: 'Fleet usage',
  severity: 'immediate',
  query: 'max by (instance) (bench_fleet_usage)',
  op: '>',
  threshold: 0.8,
  forSeconds: 900,
  unit: 'percent',
  forecast: true,
};
const client = createPrometheus({ url: prom.url, timeoutMs: 30_000 });

type Mode = 'plain' | 'forecast' | 'memo';

/** plain: no forecast; forecast: fitted afresh (the first status of a step); memo: the client's memo already has it. */
async function measure(mode: Mode | boolean): Promise<{ botMs: number; prometheusMs: number; wallMs: number }> {
  const kind: Mode = mode === true ? 'forecast' : mode === false ? 'plain' : mode;
  const withForecast = kind !== 'plain';
  if (kind === 'memo') await client.judgeTriggers([trigger], at, undefined, { forecast: settings });
  const botBefore = process.cpuUsage();
  const promBefore = cpuMsOf(prom.pid);
  const wallBefore = performance.now();
  const report =
    kind === 'memo'
      ? await client.judgeTriggers([trigger], at, undefined, { forecast: settings })
      : await judgeTriggers([trigger], client, at, undefined, withForecast ? { forecast: settings } : {});
  const wallMs = performance.now() - wallBefore;
  const bot = process.cpuUsage(botBefore);
  if (report.results.length !== instances) throw new Error(`expected ${instances} results, got ${report.results.length}`);
  if (withForecast && report.results.some((result) => !result.forecast)) throw new Error('a result has no forecast');
  return { botMs: (bot.user + bot.system) / 1000, prometheusMs: cpuMsOf(prom.pid) - promBefore, wallMs };
}

/**
 * The same slope computed in Prometheus: deriv() (least squares, as predict_linear) over the daily peaks of the
 * window, as one instant query. What it cannot say (the gaps, the history length, the robust check) is why the bot
 * fits; this row says what that costs against it.
 */
async function measureInPrometheus(): Promise<{ botMs: number; prometheusMs: number; wallMs: number }> {
  const query = `deriv((max_over_time((${trigger.query})[1d:5m]))[7d:1d])`;
  const botBefore = process.cpuUsage();
  const promBefore = cpuMsOf(prom.pid);
  const wallBefore = performance.now();
  const answer = await client.queryInstant(query, now);
  const wallMs = performance.now() - wallBefore;
  const bot = process.cpuUsage(botBefore);
  if (answer.length !== instances) throw new Error(`expected ${instances} slopes, got ${answer.length}`);
  return { botMs: (bot.user + bot.system) / 1000, prometheusMs: cpuMsOf(prom.pid) - promBefore, wallMs };
}

try {
  // Warm both paths (JIT, Prometheus' caches) before counting.
  await measure(false);
  await measure(true);
  const plain: Array<Awaited<ReturnType<typeof measure>>> = [];
  const forecast: Array<Awaited<ReturnType<typeof measure>>> = [];
  const memo: Array<Awaited<ReturnType<typeof measure>>> = [];
  const inPrometheus: Array<Awaited<ReturnType<typeof measure>>> = [];
  for (let round = 0; round < rounds; round += 1) {
    plain.push(await measure(false));
    forecast.push(await measure(true));
    memo.push(await measure('memo'));
    inPrometheus.push(await measureInPrometheus());
  }
  const row = (label: string, list: typeof plain) =>
    `${label.padEnd(18)} bot CPU ${median(list.map((m) => m.botMs))
      .toFixed(1)
      .padStart(6)} ms · Prometheus CPU ${median(list.map((m) => m.prometheusMs))
      .toFixed(0)
      .padStart(4)} ms · wall ${median(list.map((m) => m.wallMs))
      .toFixed(0)
      .padStart(4)} ms`;
  console.log(`\nOne trigger over ${instances} instances, medians of ${rounds} alternating rounds:`);
  console.log(row('without forecast', plain));
  console.log(row('with forecast', forecast));
  console.log(row('forecast memo warm', memo));
  console.log(row('slope in Prometheus', inPrometheus));
  console.log(
    '  (the last row: deriv() over daily peaks as a subquery, one instant query: cheaper than the range query and the\n' +
      "   bot's fit, but it cannot see gaps, the history's length or whether a robust slope agrees; the memo row is what\n" +
      '   every status pays within one step of the forecast query, so a fresh fit is paid once per step per trigger)',
  );

  // The fit alone, on the same answer: what the bot adds beyond fetching and parsing the history.
  const { startOffset, step } = forecastQueryWindow(settings);
  const series = await client.queryRange(trigger.query, now - startOffset, now, step);
  const fitRounds = 20;
  const fitBefore = process.cpuUsage();
  for (let round = 0; round < fitRounds; round += 1) for (const entry of series) forecastSeries(trigger, entry.points, now, settings);
  const fit = process.cpuUsage(fitBefore);
  const perJudgement = (fit.user + fit.system) / 1000 / fitRounds;
  const points = series.reduce((sum, entry) => sum + entry.points.length, 0);
  const perSeriesMicros = ((perJudgement / series.length) * 1000).toFixed(0);
  console.log(`fit alone          ${perJudgement.toFixed(1).padStart(6)} ms for ${series.length} series (${points} points), ${perSeriesMicros} µs a series`);
} finally {
  await prom.stop();
}
