// Crash points: the places where the bot awaits something outside itself, as a proxy in front of that thing
// (Slack's Web API, Prometheus) sees them. A point is "the n-th call labelled L", killed either before the
// call reaches its server or after the server acted on it but before the bot hears the answer.

export type When = 'before' | 'after';
export const BOTH_SIDES: readonly When[] = ['before', 'after'];

export interface CrashPoint {
  /** Which proxy saw it: 'slack', 'prometheus', … */
  readonly source: string;
  /** What the call is, as the proxy's labeller named it: 'chat.postMessage breach:1', 'GET /api/v1/query_range'. */
  readonly label: string;
  /** 1 for the first call with this label since the proxy started (across bot restarts). */
  readonly occurrence: number;
  readonly when: When;
}

export type CallFate = 'pending' | 'answered' | 'refused' | 'cut before' | 'cut after' | 'dropped' | 'upstream failed';

export interface ProxiedCall {
  readonly source: string;
  readonly label: string;
  readonly occurrence: number;
  /** Date.now() when the call arrived. */
  readonly at: number;
  readonly httpMethod: string;
  readonly path: string;
  /** The request body as sent (form or JSON text). */
  readonly body: string;
  /** What the server answered (absent when it never saw the call). */
  status?: number;
  responseBody?: string;
  fate: CallFate;
}

export function describePoint(point: CrashPoint): string {
  return `${point.source} "${point.label}" #${point.occurrence} ${point.when}`;
}

export function samePoint(a: Omit<CrashPoint, 'when'>, b: Omit<CrashPoint, 'when'>): boolean {
  return a.source === b.source && a.label === b.label && a.occurrence === b.occurrence;
}

/** How many calls of each (source, label) a recording holds, in order of first appearance. */
export function labelCounts(calls: readonly ProxiedCall[]): Array<{ source: string; label: string; count: number; firstAt: number }> {
  const counts = new Map<string, { source: string; label: string; count: number; firstAt: number }>();
  for (const call of [...calls].sort((a, b) => a.at - b.at)) {
    const key = `${call.source}\u0000${call.label}`;
    const entry = counts.get(key) ?? { source: call.source, label: call.label, count: 0, firstAt: call.at };
    entry.count += 1;
    counts.set(key, entry);
  }
  return [...counts.values()];
}

export interface PointSelection {
  /** Which occurrences of a label that was seen `count` times become points; default: the first only. */
  occurrences?: (label: string, count: number, source: string) => readonly number[];
  /** Default: both. */
  sides?: readonly When[];
  /** Leave out a source or label altogether. */
  include?: (source: string, label: string) => boolean;
}

/**
 * The crash points a recording reveals: for each label it holds, the chosen occurrences, on each side. Found
 * from what the bot actually awaited, never listed by hand, so a new awaited call (a storage that became
 * asynchronous behind a proxy, a new Slack call) is swept without editing the test.
 */
export function pointsOf(calls: readonly ProxiedCall[], selection: PointSelection = {}): CrashPoint[] {
  const { occurrences = () => [1], sides = BOTH_SIDES, include = () => true } = selection;
  const points: CrashPoint[] = [];
  for (const { source, label, count } of labelCounts(calls)) {
    if (!include(source, label)) continue;
    for (const occurrence of occurrences(label, count, source)) {
      if (occurrence < 1 || occurrence > count) continue;
      for (const when of sides) points.push({ source, label, occurrence, when });
    }
  }
  return points;
}

/** Labels a run awaited that the baseline never did (the look-ups a restart makes after a crash). */
export function labelsNotIn(baseline: readonly ProxiedCall[], calls: readonly ProxiedCall[]): Array<{ source: string; label: string }> {
  const known = new Set(baseline.map((call) => `${call.source}\u0000${call.label}`));
  const seen = new Set<string>();
  const fresh: Array<{ source: string; label: string }> = [];
  for (const call of calls) {
    const key = `${call.source}\u0000${call.label}`;
    if (known.has(key) || seen.has(key)) continue;
    seen.add(key);
    fresh.push({ source: call.source, label: call.label });
  }
  return fresh;
}

/** One line per call, for failure messages and the sweep's report. */
export function describeCalls(calls: readonly ProxiedCall[], since = calls[0]?.at ?? 0): string {
  return [...calls]
    .sort((a, b) => a.at - b.at)
    .map((call) => {
      const status = call.status !== undefined ? ` ${call.status}` : '';
      return `  +${String(call.at - since).padStart(6)} ms ${call.source} "${call.label}" #${call.occurrence} → ${call.fate}${status}`;
    })
    .join('\n');
}
