import { describe, expect, it } from 'vitest';
import { compilePlan, type CompiledCall } from '../../src/services/plan/index.ts';
import { refusalOf as refusal } from './fixtures.ts';

type Settings = Record<string, unknown>;

function config(upstream: Settings, calls: Record<string, Settings>) {
  const withDefaults = Object.fromEntries(Object.entries(calls).map(([name, c]) => [name, { upstream: 'u', path: `/${name}`, ...c }]));
  return { upstreams: { u: { baseUrl: 'http://u.test', ...upstream } }, endpoints: [{ path: '/x', calls: withDefaults }] };
}

function call(upstream: Settings, settings: Settings): CompiledCall {
  return compilePlan(config(upstream, { a: settings })).endpoints[0]?.calls[0] as CompiledCall;
}

describe('cache and coalesce config', () => {
  it('a call gets its upstream cache with the defaults filled in, and vary lower-cased', () => {
    expect(call({ cache: { ttlMs: 30_000, vary: ['Accept-Language'] } }, {}).cache).toEqual({
      ttlMs: 30_000,
      staleWhileRevalidateMs: 0,
      staleIfErrorMs: 0,
      vary: ['accept-language'],
      respectCacheControl: true,
    });
  });

  it("the call's fields win over its upstream's, and false turns them off", () => {
    expect(call({ cache: { ttlMs: 30_000, staleIfErrorMs: 1000 } }, { cache: { ttlMs: 5000 } }).cache).toMatchObject({ ttlMs: 5000, staleIfErrorMs: 1000 });
    expect(call({ cache: { ttlMs: 30_000 } }, { cache: false }).cache).toBeUndefined();
    expect(call({ coalesce: true }, {}).coalesce).toBe(true);
    expect(call({ coalesce: true }, { coalesce: false }).coalesce).toBe(false);
  });

  it("an upstream's cache and coalesce skip its non-GET calls", () => {
    const c = call({ cache: { ttlMs: 1000 }, coalesce: true }, { method: 'POST' });
    expect(c.cache).toBeUndefined();
    expect(c.coalesce).toBe(false);
  });

  it('refuses cache or coalesce set on a non-GET call, naming the call and field', () => {
    const issues = refusal(config({}, { a: { method: 'POST', cache: { ttlMs: 1000 } }, b: { method: 'DELETE', coalesce: true } }));
    expect(issues).toContain('endpoint GET /x, call "a", field "cache": only GET calls are coalesced or cached, this call is a POST');
    expect(issues).toContain('endpoint GET /x, call "b", field "coalesce": only GET calls are coalesced or cached, this call is a DELETE');
  });

  it('refuses a call cache without ttlMs when its upstream has none, and bad ranges, all at once', () => {
    const issues = refusal(
      config({ cache: { ttlMs: 0, vary: ['bad header'] } }, { a: { upstream: 'v', cache: { staleIfErrorMs: 5 } }, b: { cache: { staleWhileRevalidateMs: -1 } } }),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        'upstream "u", field "cache.ttlMs": must be an integer of at least 1, got 0',
        'upstream "u", field "cache.vary": "bad header" is not a header name',
        'endpoint GET /x, call "b", field "cache.staleWhileRevalidateMs": must be an integer of at least 0, got -1',
      ]),
    );
  });

  it('refuses a call cache that names no ttlMs and whose upstream has no cache', () => {
    expect(refusal(config({}, { a: { cache: { staleIfErrorMs: 5 } } }))).toContain(
      'endpoint GET /x, call "a", field "cache.ttlMs": is required (the upstream "u" sets no cache to take it from)',
    );
  });
});
