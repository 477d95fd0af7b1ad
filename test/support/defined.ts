/** `value`, or a test failure naming `what` when it is missing (narrows for the rest of the test). */
export function defined<T>(value: T | null | undefined, what = 'value'): T {
  if (value === undefined || value === null) throw new Error(`expected ${what} to be present`);
  return value;
}
