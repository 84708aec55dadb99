import type { PrometheusPort } from './ports.ts';
import type { Trigger } from './triggers.ts';
import { formatValue } from './units.ts';

/**
 * Whether the histograms a trigger reads can answer it, from their buckets' `le` values in Prometheus:
 *
 * - A `histogram_quantile` trigger whose threshold is at or above the highest finite bucket can never fire:
 *   past that bucket the quantile answers the bucket's bound and no more (prometheus-fastapi-instrumentator's
 *   default buckets end at 1 s, the guide's P99 threshold: `1 > 1` is never true).
 * - A trigger that reads one bucket by its `le` (the default api_p99: `le=~"1|1\\.0"`) reads nothing where the
 *   histogram has no such bucket.
 */
export interface HistogramCheck {
  /** A trigger that cannot work as written: what is wrong and what to do. */
  readonly warnings: readonly string[];
  /** What was not checked, and why (no series yet, Prometheus unreachable). */
  readonly notes: readonly string[];
}

/** Histograms a query reads: each `NAME_bucket` selector, with the `le` matcher written on it (if any). */
export function histogramSelectors(query: string): Array<{ histogram: string; le?: { op: '=' | '=~'; value: string } }> {
  const selectors: Array<{ histogram: string; le?: { op: '=' | '=~'; value: string } }> = [];
  for (const match of query.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)_bucket\b\s*(\{[^}]*\})?/g)) {
    const histogram = match[1]!;
    const le = /\ble\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"/.exec(match[2] ?? '');
    selectors.push({ histogram, ...(le ? { le: { op: le[1] as '=' | '=~', value: unescapePromqlString(le[2]!) } } : {}) });
  }
  return selectors;
}

function unescapePromqlString(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** A bucket bound as Prometheus writes it: "0.5", "1.0", "1e+00", "+Inf". */
export function parseBucketBound(le: string): number {
  if (le === '+Inf' || le === 'Inf' || le === '+inf') return Number.POSITIVE_INFINITY;
  const bound = Number(le);
  return Number.isNaN(bound) ? Number.NaN : bound;
}

/** Whether one of the `le` values is what the matcher selects (`=~` is fully anchored, as in PromQL). */
export function leMatches(matcher: { op: '=' | '=~'; value: string }, values: readonly string[]): boolean {
  if (matcher.op === '=') return values.includes(matcher.value);
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${matcher.value})$`);
  } catch {
    return true; // A regex JavaScript cannot read is Prometheus' to judge, not ours.
  }
  return values.some((value) => pattern.test(value));
}

/**
 * The judgement for one trigger, given the `le` values of each histogram it reads (absent: that histogram has no
 * series). Pure: `checkHistogramBuckets` asks Prometheus and calls this.
 */
export function judgeHistogramTrigger(trigger: Trigger, bucketsByHistogram: ReadonlyMap<string, readonly string[]>): HistogramCheck {
  const warnings: string[] = [];
  const notes: string[] = [];
  const quantile = /\bhistogram_quantile\s*\(/.test(trigger.query);
  for (const selector of histogramSelectors(trigger.query)) {
    const values = bucketsByHistogram.get(selector.histogram);
    if (!values || values.length === 0) {
      notes.push(`trigger "${trigger.id}": ${selector.histogram}_bucket has no series in Prometheus (yet): its buckets were not checked`);
      continue;
    }
    const finite = values
      .map(parseBucketBound)
      .filter((bound) => Number.isFinite(bound))
      .sort((a, b) => a - b);
    const shown = finite.map((bound) => String(bound)).join(', ');
    if (selector.le && !leMatches(selector.le, values)) {
      warnings.push(
        `trigger "${trigger.id}" reads the le${selector.le.op}"${selector.le.value}" bucket of ${selector.histogram}, which has none ` +
          `(its buckets: ${shown || 'only +Inf'}), so it reads no data: add that bucket to the app's histogram, or override the ` +
          'trigger\'s query in your config (README, "The default triggers and the metrics they read")',
      );
    }
    const highest = finite[finite.length - 1];
    const above = trigger.op === '>' || trigger.op === '>=';
    if (quantile && above && highest !== undefined && trigger.threshold >= highest) {
      warnings.push(
        `trigger "${trigger.id}" can never fire as it should: histogram_quantile answers at most ${formatValue(highest, trigger.unit)}, ` +
          `the highest finite bucket of ${selector.histogram} (${shown}), and its threshold is ${trigger.op} ` +
          `${formatValue(trigger.threshold, trigger.unit)}. Read the share of requests above the threshold from its bucket instead ` +
          '(P99 over 1 s = more than 1 % of requests slower than 1 s: the default api_p99 query), or add buckets above ' +
          `${formatValue(trigger.threshold, trigger.unit)} to the app's histogram`,
      );
    }
  }
  return { warnings, notes };
}

/**
 * Asks Prometheus for the `le` values of every histogram the triggers read (over the last hour, so that a
 * histogram scraped a moment ago counts) and judges each trigger. A Prometheus that cannot be asked is a note,
 * never a warning: the config is not at fault.
 */
export async function checkHistogramBuckets(triggers: readonly Trigger[], prometheus: Pick<PrometheusPort, 'queryInstant'>, at: Date): Promise<HistogramCheck> {
  const histograms = [...new Set(triggers.flatMap((trigger) => histogramSelectors(trigger.query).map((selector) => selector.histogram)))];
  const bucketsByHistogram = new Map<string, string[]>();
  try {
    await Promise.all(
      histograms.map(async (histogram) => {
        const rows = await prometheus.queryInstant(`count by (le) (last_over_time(${histogram}_bucket[1h]))`, at.getTime() / 1000);
        bucketsByHistogram.set(
          histogram,
          rows.map((row) => row.labels.le).filter((le): le is string => typeof le === 'string'),
        );
      }),
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { warnings: [], notes: [`the histograms' buckets were not checked: ${reason}`] };
  }
  const judged = triggers.map((trigger) => judgeHistogramTrigger(trigger, bucketsByHistogram));
  return { warnings: judged.flatMap((entry) => entry.warnings), notes: judged.flatMap((entry) => entry.notes) };
}
