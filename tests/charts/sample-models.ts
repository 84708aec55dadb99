// Charts the render tests, the bench and a person looking at the pictures share.
import { buildChartModel, type ChartTheme } from '../../core/chart.ts';
import type { Forecast } from '../../core/forecast.ts';
import type { Series, Trigger } from '../../core/triggers.ts';

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
