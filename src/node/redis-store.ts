import { createClient } from 'redis';
import type { CacheStore } from '../services/cache/store.ts';
import { usableMs, type CacheEntry } from '../services/cache/store.ts';
import { redactedUrl } from './redacted-url.ts';

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
 * and writes give up after `timeoutMs` (a miss; the call goes to its upstream) and, after a read
 * that timed out, reads skip Redis for a second; commands are not queued while disconnected, the
 * client reconnects in the background, and one warning is logged per outage, not one per
 * request. Coalescing stays per process.
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
    socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
  let down = false;
  // After a read that timed out, Redis is left alone this long: a stuck server gets no pile of reads.
  let skipUntil = 0;
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
      if (!client.isReady || performance.now() < skipUntil) return undefined;
      let text: string | null | typeof TIMED_OUT;
      try {
        text = await within(client.get(prefix + key), timeoutMs);
      } catch (error) {
        markDown(error);
        return undefined;
      }
      if (text === TIMED_OUT) {
        skipUntil = performance.now() + SLOW_BACKOFF_MS;
        markDown(new Error(`no answer within ${timeoutMs} ms`));
        return undefined;
      }
      // A Redis that was only slow comes back without reconnecting.
      markUp();
      return text === null ? undefined : parseEntry(text);
    },
    async set(key, entry) {
      if (!client.isReady) return;
      try {
        const written = client.set(prefix + key, JSON.stringify(entry), { expiration: { type: 'PX', value: Math.max(1, usableMs(entry)) } });
        if ((await within(written, timeoutMs)) === TIMED_OUT) markDown(new Error(`no answer within ${timeoutMs} ms`));
      } catch (error) {
        markDown(error);
      }
    },
    async close() {
      client.destroy();
    },
  };
}

const TIMED_OUT = Symbol('timed out');
const SLOW_BACKOFF_MS = 1000;

/**
 * The command's answer, or {@link TIMED_OUT} after `ms`. The client has no working per-command
 * timeout for a command already sent, so a late answer is simply not waited for (nor reported).
 */
function within<T>(command: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  command.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  return Promise.race([command, timeout]).finally(() => clearTimeout(timer));
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

function describe(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.message === 'string' ? e.message : String(error);
}
