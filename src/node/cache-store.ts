import { DEFAULT_CACHE_MAX_BYTES, MemoryStore } from '../services/cache/memory-store.ts';
import type { CacheStore } from '../services/cache/store.ts';
import type { Plan } from '../services/plan/types.ts';
import { wholeNumber } from '../serve/settings.ts';
import { redactedUrl } from './redacted-url.ts';

export interface NodeCache {
  store: CacheStore;
  /** What the start-up log says: `memory (64 MiB)` or the Redis URL without its password. */
  description: string;
  close(): Promise<void>;
}

export interface CacheLog {
  warn(message: string): void;
  info(message: string): void;
}

/**
 * The process's cache store, from the environment, or the first problem in words:
 *
 *   TRIBUTARY_CACHE            `memory` (default) or `redis://host:port/db` / `rediss://...`
 *   TRIBUTARY_CACHE_MAX_BYTES  the memory store's size, default 64 MiB (least recently used go first)
 *   TRIBUTARY_CACHE_TIMEOUT_MS how long a Redis read may take before the call goes on without it, default 20
 *
 * Undefined when no call of the plan caches.
 *
 * @example
 * const cache = await createNodeCache(process.env, plan, logger);
 * if (typeof cache === 'string') { console.error(cache); process.exit(1); }
 */
export async function createNodeCache(env: NodeJS.ProcessEnv, plan: Plan, log: CacheLog): Promise<NodeCache | string | undefined> {
  const kind = (env.TRIBUTARY_CACHE ?? '').trim();
  const maxBytes = wholeNumber(env, 'TRIBUTARY_CACHE_MAX_BYTES', DEFAULT_CACHE_MAX_BYTES, 'bytes', 1);
  if (typeof maxBytes === 'string') return maxBytes;
  const timeoutMs = wholeNumber(env, 'TRIBUTARY_CACHE_TIMEOUT_MS', 20, 'milliseconds', 1);
  if (typeof timeoutMs === 'string') return timeoutMs;
  if (kind !== '' && kind !== 'memory' && !/^rediss?:\/\//.test(kind)) {
    return `TRIBUTARY_CACHE must be "memory" or a redis:// or rediss:// URL, got "${redactedUrl(kind)}"`;
  }
  if (!plan.endpoints.some((e) => e.calls.some((c) => c.cache))) return undefined;
  if (kind === '' || kind === 'memory') {
    return { store: new MemoryStore({ maxBytes }), description: `memory (${maxBytes} bytes)`, close: async () => {} };
  }
  // Loaded only when used: the Redis client costs a few hundred ms of start-up.
  const { createRedisStore } = await import('./redis-store.ts');
  const store = createRedisStore({ url: kind, timeoutMs, warn: log.warn, info: log.info });
  return { store, description: `${redactedUrl(kind)} (shared; coalescing stays per process)`, close: () => store.close() };
}
