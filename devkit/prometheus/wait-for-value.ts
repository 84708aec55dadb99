import type { VectorSample } from './query.ts';

interface Queryable {
  query(promql: string, timeSec?: number): Promise<VectorSample[]>;
}

/**
 * Polls an instant query (at the server's "now") until `predicate` holds, and returns that result. The predicate
 * gets the first sample's value (undefined when the result is empty) and the whole vector.
 */
export async function waitForValue(
  prom: Queryable,
  promql: string,
  predicate: (value: number | undefined, vector: VectorSample[]) => boolean,
  timeoutMs = 15_000,
  pollMs = 100,
): Promise<VectorSample[]> {
  const deadline = Date.now() + timeoutMs;
  let last: VectorSample[] = [];
  for (;;) {
    last = await prom.query(promql);
    if (predicate(last[0]?.value, last)) return last;
    if (Date.now() >= deadline) {
      throw new Error(`waitForValue: ${promql} did not match within ${timeoutMs} ms; last result ${JSON.stringify(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
