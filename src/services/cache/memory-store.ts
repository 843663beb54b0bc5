import { entryBytes, usableMs, type CacheEntry, type CacheStore } from './store.ts';

/** 64 MiB: `TRIBUTARY_CACHE_MAX_BYTES` on Node. */
export const DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024;

export interface MemoryStoreOptions {
  /** Largest total size of the entries kept; least recently used go first. */
  maxBytes?: number;
  /** Wall clock, epoch ms. */
  now?: () => number;
}

/**
 * The process's own cache: least recently used entries are dropped first once the entries'
 * size (their stored bytes, not their count) passes `maxBytes`; an entry past its usable time is
 * dropped when read. A Map keeps insertion order, so re-inserting on each hit makes the first
 * key the least recently used one.
 *
 * @example
 * const store = new MemoryStore({ maxBytes: 64 * 1024 * 1024 });
 */
export class MemoryStore implements CacheStore {
  readonly maxBytes: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { entry: CacheEntry; bytes: number }>();
  #bytes = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
    this.#now = options.now ?? (() => Date.now());
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const held = this.#entries.get(key);
    if (!held) return undefined;
    this.#entries.delete(key);
    if (this.#now() - held.entry.storedAt >= usableMs(held.entry)) {
      this.#bytes -= held.bytes;
      return undefined;
    }
    this.#entries.set(key, held);
    return held.entry;
  }

  async set(key: string, entry: CacheEntry): Promise<void> {
    const bytes = entryBytes(key, entry);
    this.#drop(key);
    // An entry larger than the whole store would only push everything else out.
    if (bytes > this.maxBytes) return;
    this.#entries.set(key, { entry, bytes });
    this.#bytes += bytes;
    for (const oldest of this.#entries.keys()) {
      if (this.#bytes <= this.maxBytes) break;
      this.#drop(oldest);
    }
  }

  #drop(key: string): void {
    const held = this.#entries.get(key);
    if (!held) return;
    this.#entries.delete(key);
    this.#bytes -= held.bytes;
  }
}
