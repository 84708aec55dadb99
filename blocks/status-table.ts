import { formatDuration } from '../core/duration.ts';
import { describeForecast, forecastWarns } from '../core/forecast.ts';
import type { StatusReport } from '../core/status.ts';
import { formatValue } from '../core/units.ts';
import { describeLabels, describeThreshold, describeWithin, VERDICT_TITLES } from './status.ts';

const STATE_WORDS = { ok: 'ok', pending: 'PENDING', breached: 'BREACHED', no_data: 'NO DATA' } as const;

/** The `scalebot status` table for a terminal: one row per trigger and series; a FORECAST column when forecasts were asked for. */
export function formatStatusTable(report: StatusReport): string {
  const settings = report.forecastSettings;
  const rows = report.results.map((result) => {
    const labels = describeLabels(result.labels);
    let state: string = STATE_WORDS[result.state];
    if (result.state === 'pending') state += ` ${Math.floor(result.heldSeconds / 60)}/${formatDuration(result.trigger.forSeconds)}`;
    if (result.state === 'breached' && result.heldSeconds > 0) {
      state += ` ${result.heldWholeWindow ? '≥' : ''}${formatDuration(result.heldSeconds)}`;
    }
    // An ok series forecast to cross within forecast.warn_within says so in its state, as /scale status does.
    if (settings && result.state === 'ok' && forecastWarns(result.forecast, settings))
      state += `, crosses within ${describeWithin(settings.warnWithinSeconds)}`;
    const row = [
      result.trigger.severity === 'immediate' ? 'now' : 'soon',
      result.trigger.id,
      labels || '-',
      formatValue(result.value, result.trigger.unit),
      describeThreshold(result.trigger),
      state,
    ];
    if (settings) row.push(result.forecast ? describeForecast(result.forecast, result.trigger, report.evaluatedAt) : '-');
    return row;
  });
  const header = ['SCALE', 'TRIGGER', 'SERIES', 'VALUE', 'THRESHOLD', 'STATE', ...(settings ? ['FORECAST'] : [])];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  const title = report.failure ? 'CANNOT TELL: no metrics' : VERDICT_TITLES[report.verdict].toUpperCase();
  const out = [`${title}  (evaluated ${report.evaluatedAt.toISOString()})`, '', line(header), ...rows.map(line)];
  const reasons = report.results.filter((result) => result.state === 'no_data' && result.reason);
  const distinctReasons = new Set(reasons.map((result) => result.reason));
  if (reasons.length > 1 && distinctReasons.size === 1 && reasons.length === report.results.length) {
    out.push('', `No data for any trigger: ${reasons[0]!.reason}`);
  } else if (reasons.length > 0) {
    out.push('', 'No data:');
    for (const result of reasons) out.push(`  ${result.trigger.id}: ${result.reason}`);
  }
  return `${out.join('\n')}\n`;
}
