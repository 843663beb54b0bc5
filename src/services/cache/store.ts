/**
 * What the cache keeps for one key: the upstream's JSON answer as text, and the times that say
 * how long it may be used. Times are wall-clock (epoch ms), because an entry may be read by
 * another process or host than the one that stored it.
 */
export interface CacheEntry {
  /** The 2xx answer's JSON, as text. */
  body: string;
  status: number;
  /** When it was stored, epoch ms. */
  storedAt: number;
  /** Fresh for this long after `storedAt` (the TTL, or the upstream's Cache-Control). */
  freshMs: number;
  /** After `freshMs`: answered at once while one refresh runs. */
  staleWhileRevalidateMs: number;
  /** After `freshMs`: answered instead of a failure. */
  staleIfErrorMs: number;
}

/**
 * Where entries live between requests, injected like the transport: in memory (Node, tests),
 * Redis (several instances), the Workers Cache API. A store never throws and never makes a call
 * wait long: a store that is down or slow answers `undefined` (a miss) and drops writes.
 *
 * @example
 * await store.set(key, entry);
 * const entry = await store.get(key); // undefined when absent, expired or unreachable
 */
export interface CacheStore {
  get(key: string): Promise<CacheEntry | undefined>;
  /** Kept until the entry can no longer be used (see {@link usableMs}). */
  set(key: string, entry: CacheEntry): Promise<void>;
}

/** How the cache took part in one call, as `meta.cache`, the `tributary.cache` span attribute and metrics say it. */
export type CacheStatus = 'hit' | 'stale' | 'revalidated' | 'coalesced' | 'miss';

/**
 * How long after `storedAt` an entry is of any use: fresh, then stale for the longer of its two
 * stale windows. Stores expire entries after this (Redis `PX`, Cache API `max-age`).
 *
 * @example
 * usableMs({ freshMs: 30000, staleWhileRevalidateMs: 5000, staleIfErrorMs: 300000, ... }); // 330000
 */
export function usableMs(entry: CacheEntry): number {
  return entry.freshMs + Math.max(entry.staleWhileRevalidateMs, entry.staleIfErrorMs);
}

/** An entry's size as a store counts it: the UTF-16 length of its body and key, twice (bytes in memory). */
export function entryBytes(key: string, entry: CacheEntry): number {
  return 2 * (key.length + entry.body.length) + 64;
}
