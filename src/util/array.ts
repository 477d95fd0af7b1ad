/** The one element of `xs` when it has exactly one, else undefined. */
export function single<T>(xs: readonly T[]): T | undefined {
  return xs.length === 1 ? xs[0] : undefined;
}

/**
 * `xs.flatMap(f)` as a plain loop, for the paths that run per job, rule list or script segment.
 * V8's `flat` and `flatMap` are slow builtins: about 1.1–2 µs a call on Node 20 for a 10-item
 * list, optimized or not (a loop: 45 ns; `concat`: 150 ns), and still 3–7× a loop on Node 24.
 * Like `flatMap`, an array that `f` returns is spread one level and anything else is kept.
 */
export function flatMap<T, U>(xs: readonly T[], f: (x: T, index: number) => U | readonly U[]): U[] {
  const out: U[] = [];
  for (let i = 0; i < xs.length; i++) {
    const r = f(xs[i]!, i); // i < xs.length
    if (isArray(r)) for (let j = 0; j < r.length; j++) out.push(r[j]!); // j < r.length
    else out.push(r);
  }
  return out;
}

/** `Array.isArray` as a type guard that keeps a readonly array readonly. */
function isArray<U>(x: U | readonly U[]): x is readonly U[] {
  return Array.isArray(x);
}
