/**
 * Runs `worker` over `items`, at most `limit` at a time, and returns the results in input order.
 * A worker that rejects rejects the whole call while the other lanes carry on, so callers for whom
 * one item's failure must not stop the rest turn it into a result inside the worker.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  worker: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await worker(items[index] as T);
    }
  });
  await Promise.all(lanes);
  return results;
}
