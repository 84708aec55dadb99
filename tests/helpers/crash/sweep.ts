/**
 * Runs `work` over `items`, at most `concurrency` at a time, and resolves with the results in item order.
 * On the first failure no new item starts; the ones running are awaited, then the failure is thrown. Lives
 * are mostly waiting on timers, so two at once nearly halve a sweep on two cores; each needs its own fake,
 * proxies, database and series.
 */
export async function sweepConcurrently<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}
