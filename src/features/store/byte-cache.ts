/**
 * A least-recently-used cache of serialized answers, bounded by the bytes of what it holds (string
 * length, a fair measure of JSON that is mostly ASCII) rather than by a count, so a flood of
 * distinct keys (random cursors, languages) evicts old entries instead of growing the heap.
 */
export class ByteCache<V extends { readonly bytes: number }> {
  private readonly entries = new Map<string, V>();
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    // Map keeps insertion order: re-inserting makes this the most recently used.
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.held -= old.bytes + key.length;
      this.entries.delete(key);
    }
    const size = value.bytes + key.length;
    if (size > this.maxBytes) return;
    this.entries.set(key, value);
    this.held += size;
    for (const [oldest, entry] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.held -= entry.bytes + oldest.length;
    }
  }

  clear(): void {
    this.entries.clear();
    this.held = 0;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.held };
  }
}
