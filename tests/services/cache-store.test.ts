import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/services/cache/memory-store.ts';
import { entryBytes, usableMs, type CacheEntry } from '../../src/services/cache/store.ts';

function entry(body: string, over: Partial<CacheEntry> = {}): CacheEntry {
  return { body, status: 200, storedAt: 1000, freshMs: 100, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, ...over };
}

describe('Cache store interface (memory)', () => {
  it('gives back what was stored under the same key, and nothing for another key', async () => {
    const store = new MemoryStore({ now: () => 1000 });
    await store.set('GET http://a/x k', entry('{"a":1}'));
    await expect(store.get('GET http://a/x k')).resolves.toMatchObject({ body: '{"a":1}', status: 200 });
    await expect(store.get('GET http://a/y k')).resolves.toBeUndefined();
  });

  it('keeps an entry for its fresh time plus the longer stale window, and drops it after', async () => {
    let now = 1000;
    const store = new MemoryStore({ now: () => now });
    const e = entry('{}', { freshMs: 100, staleWhileRevalidateMs: 50, staleIfErrorMs: 300 });
    expect(usableMs(e)).toBe(400);
    await store.set('k', e);
    now = 1399;
    await expect(store.get('k')).resolves.toBeDefined();
    now = 1400;
    await expect(store.get('k')).resolves.toBeUndefined();
    expect(store.bytes).toBe(0);
  });

  it('replacing an entry counts its bytes once', async () => {
    const store = new MemoryStore({ now: () => 1000 });
    await store.set('k', entry('x'.repeat(100)));
    await store.set('k', entry('y'.repeat(10)));
    expect(store.size).toBe(1);
    expect(store.bytes).toBe(entryBytes('k', entry('y'.repeat(10))));
  });
});

describe('Memory store: least recently used first, by bytes', () => {
  const big = 'x'.repeat(400);
  const oneEntry = entryBytes('a', entry(big));

  it('drops the least recently used entries once the stored bytes pass the limit', async () => {
    const store = new MemoryStore({ maxBytes: oneEntry * 2, now: () => 1000 });
    await store.set('a', entry(big));
    await store.set('b', entry(big));
    await store.set('c', entry(big));
    await expect(store.get('a')).resolves.toBeUndefined();
    await expect(store.get('b')).resolves.toBeDefined();
    await expect(store.get('c')).resolves.toBeDefined();
    expect(store.bytes).toBeLessThanOrEqual(store.maxBytes);
  });

  it('a read makes an entry recently used, so another one goes first', async () => {
    const store = new MemoryStore({ maxBytes: oneEntry * 2, now: () => 1000 });
    await store.set('a', entry(big));
    await store.set('b', entry(big));
    await store.get('a');
    await store.set('c', entry(big));
    await expect(store.get('b')).resolves.toBeUndefined();
    await expect(store.get('a')).resolves.toBeDefined();
  });

  it('counts size in bytes, not entries: one large entry pushes out many small ones', async () => {
    const store = new MemoryStore({ maxBytes: oneEntry + 200, now: () => 1000 });
    for (const key of ['s1', 's2', 's3', 's4']) await store.set(key, entry('{}'));
    expect(store.size).toBe(4);
    await store.set('large', entry(big));
    expect(store.size).toBeLessThan(4);
    await expect(store.get('large')).resolves.toBeDefined();
    expect(store.bytes).toBeLessThanOrEqual(store.maxBytes);
  });

  it('does not keep an entry larger than the whole store (it would push out everything else)', async () => {
    const store = new MemoryStore({ maxBytes: 100, now: () => 1000 });
    await store.set('small', entry('{}', {}));
    await store.set('huge', entry(big));
    await expect(store.get('huge')).resolves.toBeUndefined();
    await expect(store.get('small')).resolves.toBeDefined();
  });
});
