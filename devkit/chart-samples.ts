// Charts with known data, for the render tests, the bench and people looking at the pictures (bench/charts.ts --out).
import { buildChartModel, type ChartTheme } from '../core/chart.ts';
import type { Forecast } from '../core/forecast.ts';
import type { Series, Trigger } from '../core/triggers.ts';

export const CPU_TRIGGER: Trigger = {
  id: 'cpu',
  name: 'CPU usage',
  severity: 'immediate',
  query: 'cpu',
  op: '>',
  threshold: 0.7,
  forSeconds: 15 * 60,
  unit: 'percent',
  forecast: true,
};

export const AT = new Date('2026-12-04T15:00:00Z');

/** `count` series of `points` points each over the trigger's chart window, the first climbing past the threshold. */
export function fleetSeries(count: number, points: number, windowSeconds: number, at = AT): Series[] {
  const end = Math.floor(at.getTime() / 1000);
  const step = windowSeconds / (points - 1);
  return Array.from({ length: count }, (_, index) => ({
    labels: { instance: `web-${index + 1}:9100`, job: 'node' },
    points: Array.from({ length: points }, (_, point) => {
      const time = Math.round(end - windowSeconds + point * step);
      const progress = point / (points - 1);
      const base = index === 0 ? 0.45 + 0.38 * progress ** 2 : 0.25 + (0.3 * ((index * 37) % 100)) / 100;
      return [time, base + 0.03 * Math.sin(point / 3 + index)] as [number, number];
    }),
  }));
}

export function cpuChart(theme: ChartTheme, options: { series?: number; points?: number; forecast?: Forecast | null } = {}) {
  const windowSeconds = 90 * 60;
  return buildChartModel({
    trigger: CPU_TRIGGER,
    series: fleetSeries(options.series ?? 8, options.points ?? 240, windowSeconds),
    at: AT,
    windowSeconds,
    forecast: options.forecast ?? null,
    theme,
  });
}

const WEEK = 7 * 86400;

/** Twelve triggers of every unit and direction over a week, as the digest draws them (small multiples). */
export function weekOfTriggers(theme: ChartTheme, pointsPerSeries = 168): ReturnType<typeof buildChartModel>[] {
  const end = Math.floor(AT.getTime() / 1000);
  const kinds: Array<Pick<Trigger, 'name' | 'op' | 'threshold' | 'unit'> & { from: number; to: number }> = [
    { name: 'CPU usage', op: '>', threshold: 0.7, unit: 'percent', from: 0.35, to: 0.62 },
    { name: 'Memory usage', op: '>', threshold: 0.85, unit: 'percent', from: 0.6, to: 0.88 },
    { name: 'API P99', op: '>', threshold: 1, unit: 'seconds', from: 0.3, to: 0.55 },
    { name: 'DB connections', op: '>', threshold: 0.8, unit: 'percent', from: 0.4, to: 0.5 },
    { name: 'Error rate', op: '>', threshold: 0.01, unit: 'percent', from: 0.002, to: 0.004 },
    { name: 'Disk free', op: '<', threshold: 0.2, unit: 'percent', from: 0.45, to: 0.3 },
    { name: 'Redis memory', op: '>', threshold: 0.8, unit: 'percent', from: 0.5, to: 0.7 },
    { name: 'Queue depth', op: '>', threshold: 1000, unit: 'count', from: 120, to: 300 },
    { name: 'Concurrent users', op: '>', threshold: 500, unit: 'count', from: 310, to: 430 },
    { name: 'Daily active users', op: '>', threshold: 5000, unit: 'count', from: 3900, to: 4600 },
    { name: 'Database size', op: '>', threshold: 20e9, unit: 'bytes', from: 11e9, to: 14.5e9 },
    { name: 'Cache hit ratio', op: '<', threshold: 0.8, unit: 'percent', from: 0.93, to: 0.9 },
  ];
  return kinds.map(({ from, to, ...kind }, index) => {
    const trigger: Trigger = { id: `t${index}`, severity: 'soon', query: 'q', forSeconds: 0, ...kind };
    const points = Array.from({ length: pointsPerSeries }, (_, point) => {
      const progress = point / (pointsPerSeries - 1);
      const daily = Math.sin((point / pointsPerSeries) * 7 * 2 * Math.PI) * (to - from) * 0.15;
      return [Math.round(end - WEEK + progress * WEEK), from + (to - from) * progress + daily] as [number, number];
    });
    return buildChartModel({ trigger, series: [{ labels: {}, points }], at: AT, windowSeconds: WEEK, theme });
  });
}
