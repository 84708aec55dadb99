/**
 * OpenMetrics text for `promtool tsdb create-blocks-from openmetrics` (Prometheus 2.42).
 *
 * What promtool 2.42 does with its input (tried, not guessed):
 * - timestamps are **seconds** (fractions allowed, kept to the millisecond); a millisecond timestamp is taken as
 *   seconds and lands 50 000 years in the future, without an error;
 * - within one series, a sample older than or equal to the previous one is **dropped silently** (no error, the
 *   block just has fewer samples), so samples are sorted here and duplicate timestamps are rejected;
 * - `# EOF` is required ("data does not end with # EOF");
 * - it does not insist on `_total` for counters, on families being contiguous, or on a `# TYPE` line at all,
 *   and it stores the sample name as written (`le="1"` stays `"1"`, no normalising to `"1.0"`). We still write
 *   strict OpenMetrics (families grouped, counters as family `x` with samples `x_total`, histograms as family `x`
 *   with `x_bucket`/`x_sum`/`x_count`), so that a stricter promtool accepts the same text;
 * - values: Go's float parser; `NaN`, `+Inf`, `-Inf` and exponents such as `1e+21` are fine.
 * Every 2 h block window re-reads the whole file, so backfill time grows with (hours of history / 2) × file size.
 */

export type SeriesType = 'gauge' | 'counter' | 'histogram';

export interface SeriesSpec {
  /** Sample name as it will be queried: `x_total` for a counter, `x_bucket`/`x_sum`/`x_count` for a histogram. */
  name: string;
  help?: string;
  type: SeriesType;
  labels?: Record<string, string>;
  /** `[timestampSeconds, value]`, any order; one sample per timestamp. */
  samples: Array<[number, number]>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'] as const;
/** Year 2500 in seconds: anything later is almost certainly a millisecond timestamp. */
const MAX_PLAUSIBLE_SECONDS = 16_725_225_600;

interface Family {
  type: SeriesType;
  help?: string;
  series: Map<string, { name: string; labels: Array<[string, string]>; samples: Map<number, number> }>;
}

export function buildOpenMetrics(series: readonly SeriesSpec[]): string {
  const families = new Map<string, Family>();
  for (const spec of series) {
    const familyName = familyOf(spec);
    let family = families.get(familyName);
    if (!family) {
      family = { type: spec.type, help: spec.help, series: new Map() };
      families.set(familyName, family);
    } else if (family.type !== spec.type) {
      throw new Error(`metric family ${familyName} is both ${family.type} and ${spec.type}`);
    }
    family.help ??= spec.help;

    const labels = Object.entries(spec.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [label] of labels) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`bad label name ${JSON.stringify(label)} on ${spec.name}`);
    }
    if (spec.type === 'histogram' && spec.name.endsWith('_bucket') && !labels.some(([l]) => l === 'le')) {
      throw new Error(`${spec.name} needs an "le" label`);
    }
    const key = `${spec.name}${JSON.stringify(labels)}`;
    let entry = family.series.get(key);
    if (!entry) {
      entry = { name: spec.name, labels, samples: new Map() };
      family.series.set(key, entry);
    }
    for (const [t, v] of spec.samples) {
      if (!Number.isFinite(t)) throw new Error(`${spec.name}: timestamp ${t} is not finite`);
      if (t > MAX_PLAUSIBLE_SECONDS) throw new Error(`${spec.name}: timestamp ${t} looks like milliseconds; give seconds`);
      const ms = Math.round(t * 1000);
      if (entry.samples.has(ms)) throw new Error(`${spec.name}${formatLabels(labels)}: two samples at ${t}`);
      entry.samples.set(ms, v);
    }
  }

  const lines: string[] = [];
  for (const [familyName, family] of families) {
    if (family.help !== undefined) lines.push(`# HELP ${familyName} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${familyName} ${family.type}`);
    for (const { name, labels, samples } of family.series.values()) {
      const prefix = `${name + formatLabels(labels)} `;
      for (const ms of [...samples.keys()].sort((a, b) => a - b)) {
        lines.push(`${prefix + formatValue(samples.get(ms)!)} ${formatTimestamp(ms)}`);
      }
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

function familyOf(spec: SeriesSpec): string {
  if (!METRIC_NAME.test(spec.name)) throw new Error(`bad metric name ${JSON.stringify(spec.name)}`);
  switch (spec.type) {
    case 'gauge':
      return spec.name;
    case 'counter':
      if (!spec.name.endsWith('_total')) {
        throw new Error(`counter ${spec.name} must end in _total (OpenMetrics); use type 'histogram' for _bucket/_sum/_count`);
      }
      return spec.name.slice(0, -'_total'.length);
    case 'histogram': {
      const suffix = HISTOGRAM_SUFFIXES.find((s) => spec.name.endsWith(s));
      if (!suffix) throw new Error(`histogram series ${spec.name} must end in _bucket, _sum or _count`);
      return spec.name.slice(0, -suffix.length);
    }
  }
}

function formatLabels(labels: Array<[string, string]>): string {
  if (labels.length === 0) return '';
  return `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Seconds with at most three decimals, written from integer milliseconds so no float noise reaches promtool. */
function formatTimestamp(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const rest = ms - seconds * 1000;
  return rest === 0 ? String(seconds) : `${seconds}.${String(rest).padStart(3, '0')}`;
}
