import { usableMs, type CacheEntry, type CacheStore } from './store.ts';

/** The part of the Web Cache API (`caches.default` on Workers) this store uses. */
export interface WebCache {
  match(request: string): Promise<Response | undefined>;
  put(request: string, response: Response): Promise<void>;
  delete?(request: string): Promise<boolean>;
}

export interface WebCacheStoreOptions {
  /** Wall clock, epoch ms. */
  now?: () => number;
  /** Told once when the cache fails (a read or write refused); the call goes on without it. */
  warn?: (message: string) => void;
}

/**
 * A store over the Web Cache API: on Workers `caches.default`, shared by every isolate of a data
 * centre (not across data centres). Keys become URLs under a reserved host; an entry expires
 * through `Cache-Control: max-age` when it can no longer be used.
 *
 * @example
 * const store = webCacheStore(caches.default);
 */
export function webCacheStore(cache: WebCache, options: WebCacheStoreOptions = {}): CacheStore {
  const now = options.now ?? (() => Date.now());
  let warned = false;
  const warn = (what: string, error: unknown): void => {
    if (warned) return;
    warned = true;
    options.warn?.(`tributary: the cache could not ${what} (${(error as Error)?.message ?? error}); calls go to their upstreams`);
  };
  const url = (key: string): string => `https://tributary-cache.invalid/${encodeURIComponent(key)}`;
  return {
    async get(key) {
      try {
        const response = await cache.match(url(key));
        if (!response) return undefined;
        const entry = (await response.json()) as CacheEntry;
        return now() - entry.storedAt < usableMs(entry) ? entry : undefined;
      } catch (error) {
        warn('be read', error);
        return undefined;
      }
    },
    async set(key, entry) {
      const seconds = Math.max(1, Math.ceil(usableMs(entry) / 1000));
      try {
        const headers = { 'content-type': 'application/json', 'cache-control': `public, max-age=${seconds}` };
        await cache.put(url(key), new Response(JSON.stringify(entry), { headers }));
      } catch (error) {
        warn('be written', error);
      }
    },
  };
}
