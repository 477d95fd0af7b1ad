/**
 * A memo by text key that empties itself when it holds `maxEntries` keys or `maxChars`
 * characters of keys: the keys are built from YAML an MR author writes, so neither their number
 * nor their length is up to tierguard. Emptying (rather than evicting one entry) keeps each
 * lookup a plain Map lookup; a memo only saves work, it never changes an answer.
 */
export class BoundedMemo<V> {
  private readonly map = new Map<string, V>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
  ) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    if (this.map.size >= this.maxEntries || this.chars + key.length > this.maxChars) {
      this.map.clear();
      this.chars = 0;
    }
    this.map.set(key, value);
    this.chars += key.length;
  }

  get size(): number {
    return this.map.size;
  }
}
