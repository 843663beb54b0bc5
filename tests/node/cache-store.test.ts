import { describe, expect, it } from 'vitest';
import { createNodeCache } from '../../src/node/cache-store.ts';
import { MemoryStore } from '../../src/services/cache/memory-store.ts';
import { compilePlan } from '../../src/services/plan/index.ts';

const cached = compilePlan({
  upstreams: { config: { baseUrl: 'http://config.test', cache: { ttlMs: 1000 } } },
  endpoints: [{ path: '/x', calls: { a: { upstream: 'config', path: '/a' } } }],
});
const uncached = compilePlan({
  upstreams: { config: { baseUrl: 'http://config.test' } },
  endpoints: [{ path: '/x', calls: { a: { upstream: 'config', path: '/a' } } }],
});
const log = { warn: () => {}, info: () => {} };

describe('TRIBUTARY_CACHE on Node', async () => {
  it('is a 64 MiB memory store by default, when a call caches', async () => {
    const cache = await createNodeCache({}, cached, log);
    expect(typeof cache === 'object' && cache.store).toBeInstanceOf(MemoryStore);
    expect(typeof cache === 'object' && (cache.store as MemoryStore).maxBytes).toBe(64 * 1024 * 1024);
  });

  it('takes the memory store size from TRIBUTARY_CACHE_MAX_BYTES', async () => {
    const cache = await createNodeCache({ TRIBUTARY_CACHE: 'memory', TRIBUTARY_CACHE_MAX_BYTES: '1048576' }, cached, log);
    expect(typeof cache === 'object' && (cache.store as MemoryStore).maxBytes).toBe(1_048_576);
  });

  it('makes no store when no call caches', async () => {
    expect(await createNodeCache({}, uncached, log)).toBeUndefined();
  });

  it('refuses a value it cannot use, naming the variable, and never prints a password', async () => {
    expect(await createNodeCache({ TRIBUTARY_CACHE: 'memcached://x' }, cached, log)).toBe(
      'TRIBUTARY_CACHE must be "memory" or a redis:// or rediss:// URL, got "memcached://x"',
    );
    expect(await createNodeCache({ TRIBUTARY_CACHE: 'http://user:hunter2@x/' }, cached, log)).not.toContain('hunter2');
    expect(await createNodeCache({ TRIBUTARY_CACHE_MAX_BYTES: 'lots' }, cached, log)).toBe(
      'TRIBUTARY_CACHE_MAX_BYTES must be a whole number of bytes above 0, got "lots"',
    );
  });
});
