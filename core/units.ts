export const UNITS = ['percent', 'ratio', 'seconds', 'bytes', 'count'] as const;
export type Unit = (typeof UNITS)[number];

function trimNumber(value: number, digits: number): string {
  return Number(value.toFixed(digits)).toString();
}

/** A value in its unit, the way a person reads it: 74 %, 1.3 s, 21.4 GB, 1.35×, 1,234. */
export function formatValue(value: number | null, unit: Unit): string {
  if (value === null || Number.isNaN(value)) return 'no data';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  switch (unit) {
    case 'percent': {
      const percent = value * 100;
      return `${trimNumber(percent, Math.abs(percent) < 10 ? 1 : 0)} %`;
    }
    case 'ratio':
      return `${trimNumber(value, 2)}×`;
    case 'seconds':
      if (Math.abs(value) < 1) return `${trimNumber(value * 1000, 0)} ms`;
      if (Math.abs(value) < 120) return `${trimNumber(value, 1)} s`;
      return `${trimNumber(value / 60, 1)} min`;
    case 'bytes': {
      // Decimal units, as disk and database sizes are sold and as the guide writes them (20 GB).
      const steps = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
      let scaled = value;
      let index = 0;
      while (Math.abs(scaled) >= 1000 && index < steps.length - 1) {
        scaled /= 1000;
        index += 1;
      }
      return `${trimNumber(scaled, index === 0 ? 0 : 1)} ${steps[index]}`;
    }
    case 'count':
      return Math.round(value).toLocaleString('en-US');
  }
}
