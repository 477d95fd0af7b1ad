/** The one element of `xs` when it has exactly one, else undefined. */
export function single<T>(xs: readonly T[]): T | undefined {
  return xs.length === 1 ? xs[0] : undefined;
}
