/**
 * Lookup tables keyed by text an MR author writes (program names, variable names, regex class
 * names). A plain object literal answers `toString`, `constructor` or `__proto__` with
 * Object.prototype's members, so a script line `toString deploy` used to crash `lint` and the
 * review. These objects have no prototype: an unknown key finds `undefined`, nothing else.
 */
export function table<T>(entries: Record<string, T>): Readonly<Record<string, T | undefined>> {
  return Object.freeze(Object.assign(blank<T>(), entries));
}

/** An empty record without a prototype, to fill with keys taken from untrusted text. */
export function blank<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** `record[key]` when `key` is the record's own (never a member of Object.prototype). */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

