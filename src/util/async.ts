/**
 * Await every promise, then give their values in order, or throw the first rejection in argument
 * order. Unlike `Promise.all`, nothing is left running unobserved when one of them fails early:
 * reads started together all settle before the caller goes on (or posts a failure status).
 */
export async function settleAll<T extends unknown[]>(promises: [...{ [K in keyof T]: Promise<T[K]> }]): Promise<T> {
  const results = await Promise.allSettled(promises as readonly Promise<unknown>[]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}
