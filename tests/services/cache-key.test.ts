import { describe, expect, it } from 'vitest';
import { cacheKey } from '../../src/services/cache/key.ts';
import { buildRequest } from '../../src/services/engine/request.ts';
import { freshFor } from '../../src/services/cache/freshness.ts';
import type { CompiledCache } from '../../src/services/plan/types.ts';
import { endpointOf, planOf } from './fixtures.ts';

function callWith(cache: Record<string, unknown> = {}) {
  const plan = planOf(
    {
      upstreams: {
        config: { baseUrl: 'http://config.test', headers: { 'x-api-key': '${KEY}' }, forwardHeaders: ['authorization'] },
      },
      endpoints: [{ path: '/x', calls: { settings: { upstream: 'config', path: '/settings', cache: { ttlMs: 1000, ...cache } } } }],
    },
    { KEY: 'upstream-secret-123' },
  );
  return endpointOf(plan).calls[0]!;
}

const ctx = { params: {}, query: {}, body: {}, calls: {} };
const keyFor = (headers: Record<string, string>, cache: Record<string, unknown> = {}) =>
  cacheKey(buildRequest(callWith(cache), ctx, new Headers(headers)));

describe('Cache keys', () => {
  it('the same request from two clients with the same forwarded headers has the same key', async () => {
    expect(await keyFor({ authorization: 'Bearer alice' })).toBe(await keyFor({ authorization: 'Bearer alice' }));
  });

  it('forwarded headers separate users: two tokens never share a key', async () => {
    expect(await keyFor({ authorization: 'Bearer alice' })).not.toBe(await keyFor({ authorization: 'Bearer bob' }));
  });

  it('names the method and final URL, and holds no header value in clear', async () => {
    const key = await keyFor({ authorization: 'Bearer alice' });
    expect(key.startsWith('GET http://config.test/settings ')).toBe(true);
    expect(key).not.toContain('alice');
    expect(key).not.toContain('upstream-secret-123');
  });

  it('a vary header is part of the key even though it is not forwarded', async () => {
    const vary = { vary: ['Accept-Language'] };
    const fr = await keyFor({ 'accept-language': 'fr' }, vary);
    expect(fr).not.toBe(await keyFor({ 'accept-language': 'de' }, vary));
    expect(await keyFor({ 'accept-language': 'fr' })).toBe(await keyFor({ 'accept-language': 'de' }));
  });
});

describe('Freshness from the upstream Cache-Control', () => {
  const cache: CompiledCache = { ttlMs: 30_000, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, vary: [], respectCacheControl: true };

  it('max-age replaces ttlMs, less the Age the upstream reports', () => {
    expect(freshFor(cache, { cacheControl: 'public, max-age=60', age: '10' })).toBe(50_000);
  });

  it('s-maxage wins over max-age in a shared cache', () => {
    expect(freshFor(cache, { cacheControl: 'max-age=60, s-maxage=5', age: null })).toBe(5000);
  });

  it('no-store and private are never stored; no-cache is stale at once', () => {
    expect(freshFor(cache, { cacheControl: 'no-store', age: null })).toBeUndefined();
    expect(freshFor(cache, { cacheControl: 'private, max-age=60', age: null })).toBeUndefined();
    expect(freshFor(cache, { cacheControl: 'no-cache', age: null })).toBe(0);
  });

  it('without respectCacheControl, or without the header, ttlMs decides', () => {
    expect(freshFor({ ...cache, respectCacheControl: false }, { cacheControl: 'no-store', age: null })).toBe(30_000);
    expect(freshFor(cache, { cacheControl: null, age: null })).toBe(30_000);
  });
});
