import { webCacheStore, type WebCache } from '../services/cache/web-cache-store.ts';
import type { CacheStore } from '../services/cache/store.ts';
import type { Log } from './plan-cache.ts';

/**
 * The Workers cache store: the Cache API's `caches.default`, shared by the isolates of one data
 * centre (not across data centres). Undefined where the runtime has none: each request then uses
 * a store of its own, which only serves calls repeated within it.
 *
 * @example
 * const store = workerCacheStore(console.error); // once per isolate
 */
export function workerCacheStore(log: Log): CacheStore | undefined {
  const cache = (globalThis as { caches?: { default?: WebCache } }).caches?.default;
  return cache ? webCacheStore(cache, { warn: (message) => log(message) }) : undefined;
}
