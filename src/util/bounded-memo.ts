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

/**
 * The characters of keys a memo of YAML texts keeps (script lines, variable values, words,
 * expressions, patterns). Such a text can be as long as a CI file (2 MB), and the service keeps
 * its memos from review to review: bounded by count alone, the texts an MR author pushes, push
 * after push, could add up to gigabytes. 8 million characters hold the distinct lines of several
 * GitLab-scale pipelines (a 900 KB configuration has fewer than 900,000 characters of them).
 */
export const YAML_TEXT_CHARS = 8_000_000;
