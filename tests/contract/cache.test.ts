/**
 * Caching and coalescing as a client sees them, in Node and in workerd. The store is the one
 * each runtime deploys with: in workerd the Cache API (`caches.default`), in Node the memory
 * store. Two apps sharing a store stand for two instances (processes, isolates).
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { MemoryStore } from '../../src/services/cache/memory-store.ts';
import type { CacheStore } from '../../src/services/cache/store.ts';
import { webCacheStore, type WebCache } from '../../src/services/cache/web-cache-store.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { call, upstreamScope, type AggregateBody } from './harness.ts';

type CachedBody = AggregateBody & { meta: { cache?: Record<string, string> } };

const platformCache = (globalThis as { caches?: { default?: WebCache } }).caches?.default;

/** The runtime's store; `kind` says which one ran, so a workerd run that fell back is caught. */
function runtimeStore(): { store: CacheStore; kind: 'cache-api' | 'memory' } {
  return platformCache ? { store: webCacheStore(platformCache), kind: 'cache-api' } : { store: new MemoryStore(), kind: 'memory' };
}

const fetcher = (url: string, init: RequestInit & { signal: AbortSignal }): Promise<Response> => globalThis.fetch(url, init);

/** An app over `store`; its background work (cache writes) can be awaited. */
function instance(config: TributaryConfigInput, store: CacheStore) {
  const pending: Promise<unknown>[] = [];
  const { app } = createApp({ plan: compilePlan(config), fetcher, log: () => {}, engine: { cache: store, background: (w) => void pending.push(w) } });
  return { app, settled: async () => void (await Promise.allSettled(pending)) };
}

describe('caching and coalescing (contract)', () => {
  it('runs on the Cache API inside workerd', () => {
    const inWorkerd = typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers';
    expect(runtimeStore().kind).toBe(inWorkerd ? 'cache-api' : 'memory');
  });

  it('a second instance answers a cached call from the shared store without calling the upstream', async () => {
    const up = upstreamScope('cache');
    const config: TributaryConfigInput = {
      upstreams: { config: { baseUrl: up.base, cache: { ttlMs: 60_000 } } },
      endpoints: [{ path: '/v1/settings', calls: { settings: { upstream: 'config', path: '/json/settings' } } }],
    };
    const { store } = runtimeStore();
    const a = instance(config, store);
    const b = instance(config, store);
    const first = await call<CachedBody>(a.app, '/v1/settings');
    await a.settled();
    const second = await call<CachedBody>(b.app, '/v1/settings');
    expect(first.status).toBe(200);
    expect(first.body.meta.cache).toBeUndefined();
    expect(second.body.meta.cache).toEqual({ settings: 'hit' });
    expect(second.body.data).toEqual(first.body.data);
    expect((await up.stats()).requests).toBe(1);
  });

  it('two calls with the same key inside one request are made once', async () => {
    const up = upstreamScope('coalesce');
    const config: TributaryConfigInput = {
      upstreams: { catalog: { baseUrl: up.base, coalesce: true } },
      endpoints: [
        {
          path: '/v1/home',
          calls: {
            featured: { upstream: 'catalog', path: '/delay/50/featured' },
            sidebar: { upstream: 'catalog', path: '/delay/50/featured' },
          },
        },
      ],
    };
    const answer = await call<CachedBody>(instance(config, runtimeStore().store).app, '/v1/home');
    expect(answer.status).toBe(200);
    expect(answer.body.data.featured).toEqual(answer.body.data.sidebar);
    // Whichever call got there first sent the request; the other joined it.
    expect(Object.values(answer.body.meta.cache ?? {})).toEqual(['coalesced']);
    expect((await up.stats()).requests).toBe(1);
  });
});
