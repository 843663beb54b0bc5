import { createClient } from 'redis';
import type { CacheStore } from '../services/cache/store.ts';
import { usableMs, type CacheEntry } from '../services/cache/store.ts';

export interface RedisStoreOptions {
  /** `redis://host:port/db` or `rediss://...`. */
  url: string;
  /** Longest wait for a read (or write) before the call goes on without the cache. Default 20 ms. */
  timeoutMs?: number;
  /** Once per outage: Redis went away (or answers too slowly). */
  warn: (message: string) => void;
  /** Once when it answers again. */
  info: (message: string) => void;
  /** Prepended to every key. Default `tributary:`. */
  prefix?: string;
}

export interface RedisStore extends CacheStore {
  close(): Promise<void>;
}

/**
 * The cache shared by every instance: one Redis, entries as JSON with their expiry in Redis
 * (`PX`, when they can no longer be used). Redis being down or slow never fails a call: reads
 * and writes give up after `timeoutMs` (a miss; the call goes to its upstream), commands are not
 * queued while disconnected, the client reconnects in the background, and one warning is logged
 * per outage, not one per request. Coalescing stays per process.
 *
 * @example
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379/0', warn: logger.warn, info: logger.info });
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const { warn, info } = options;
  const timeoutMs = options.timeoutMs ?? 20;
  const prefix = options.prefix ?? 'tributary:';
  const where = redactedUrl(options.url);
  const client = createClient({
    url: options.url,
    // Fail at once while disconnected rather than queue commands that could pile up.
    disableOfflineQueue: true,
    commandOptions: { timeout: timeoutMs },
    socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
  let down = false;
  const markDown = (error: unknown): void => {
    if (down) return;
    down = true;
    warn(`cache: Redis at ${where} is unreachable or slow (${describe(error)}); calls go to their upstreams until it is back`);
  };
  // Without an 'error' listener a lost connection would crash the process.
  client.on('error', markDown);
  const markUp = (): void => {
    if (!down) return;
    down = false;
    info(`cache: Redis at ${where} is back`);
  };
  client.on('ready', markUp);
  // Connects (and reconnects) in the background; until then every read is a miss.
  client.connect().catch(markDown);
  return {
    async get(key) {
      if (!client.isReady) return undefined;
      let text: string | null;
      try {
        text = await client.get(prefix + key);
      } catch (error) {
        markDown(error);
        return undefined;
      }
      // A Redis that was only slow comes back without reconnecting.
      markUp();
      return text === null ? undefined : parseEntry(text);
    },
    async set(key, entry) {
      if (!client.isReady) return;
      try {
        await client.set(prefix + key, JSON.stringify(entry), { expiration: { type: 'PX', value: Math.max(1, usableMs(entry)) } });
      } catch (error) {
        markDown(error);
      }
    },
    async close() {
      client.destroy();
    },
  };
}

/** An entry another version wrote, or a corrupt one, is a miss (and overwritten by the next store). */
function parseEntry(text: string): CacheEntry | undefined {
  try {
    const entry = JSON.parse(text) as Partial<CacheEntry>;
    return typeof entry.body === 'string' && typeof entry.storedAt === 'number' ? (entry as CacheEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** The URL without its password, for logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '(an invalid URL)';
  }
}

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.message === 'string' ? e.message : String(error);
}
