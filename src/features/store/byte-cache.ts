/**
 * A cache of serialized answers, bounded by the bytes of what it holds (string length plus a fixed
 * overhead the caller counts in), so a flood of distinct keys (random cursors, languages) evicts
 * old entries instead of growing the heap. Eviction is "second chance": a hit only marks the entry
 * used (a map lookup and a flag, on the hot path of every store answer), and the eviction walk
 * spares a used entry once, moving it to the back.
 */
export class ByteCache<V extends { readonly bytes: number }> {
  private readonly entries = new Map<string, { value: V; used: boolean }>();
  private held = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  set(key: string, value: V): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.held -= old.value.bytes + key.length;
      this.entries.delete(key);
    }
    const size = value.bytes + key.length;
    if (size > this.maxBytes) return;
    this.entries.set(key, { value, used: false });
    this.held += size;
    // Each entry is spared at most once per walk, so this ends.
    for (const [oldest, entry] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldest);
      if (entry.used && oldest !== key) {
        entry.used = false;
        this.entries.set(oldest, entry);
      } else {
        this.held -= entry.value.bytes + oldest.length;
      }
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
