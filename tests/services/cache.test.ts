import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { Engine, type RequestInput } from '../../src/services/engine/index.ts';
import { fakeFetcher, json, type Handler } from './fake-fetcher.ts';
import { endpointOf, planOf } from './fixtures.ts';
import { inMemoryMetrics, seriesOf } from '../metrics/in-memory-metrics.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function config(cache: Record<string, unknown>, upstream: Record<string, unknown> = {}): TributaryConfigInput {
  return {
    upstreams: { config: { baseUrl: 'http://config.test', forwardHeaders: ['authorization'], ...upstream } },
    endpoints: [
      {
        path: '/v1/home',
        deadlineMs: 1000,
        calls: { settings: { upstream: 'config', path: '/settings', cache: { ttlMs: 30_000, ...cache } } },
      },
    ],
  };
}

function setup(handler: Handler, cache: Record<string, unknown> = {}, upstream: Record<string, unknown> = {}) {
  const fake = fakeFetcher(handler);
  const plan = planOf(config(cache, upstream));
  const engine = new Engine(plan, fake.fetcher);
  const endpoint = endpointOf(plan);
  const run = (over: Partial<RequestInput> = {}) => engine.run(endpoint, { params: {}, query: {}, ...over });
  return { fake, engine, run };
}

let version = 0;
const versioned: Handler = () => json({ version: ++version });
beforeEach(() => {
  version = 0;
});

describe('Cache: TTL', () => {
  it('answers a second request within ttlMs from the cache, without calling the upstream', async () => {
    const { fake, run } = setup(versioned);
    const first = await run();
    vi.advanceTimersByTime(29_000);
    const second = await run();
    expect(fake.calls).toHaveLength(1);
    expect(first.data.settings).toEqual({ version: 1 });
    expect(second.data.settings).toEqual({ version: 1 });
    expect(first.cache).toBeUndefined();
    expect(second.cache).toEqual({ settings: 'hit' });
  });

  it('calls the upstream again once ttlMs has passed', async () => {
    const { fake, run } = setup(versioned);
    await run();
    vi.advanceTimersByTime(30_000);
    const later = await run();
    expect(fake.calls).toHaveLength(2);
    expect(later.data.settings).toEqual({ version: 2 });
  });

  it('two users with different tokens never share an entry', async () => {
    const { fake, run } = setup(versioned);
    const alice = await run({ headers: new Headers({ authorization: 'Bearer alice' }) });
    const bob = await run({ headers: new Headers({ authorization: 'Bearer bob' }) });
    expect(fake.calls).toHaveLength(2);
    expect(alice.data.settings).toEqual({ version: 1 });
    expect(bob.data.settings).toEqual({ version: 2 });
  });

  it('does not store failures or answers the upstream marks no-store', async () => {
    const { fake, run } = setup(() => json({ secret: true }, 200, { 'cache-control': 'no-store' }));
    await run();
    await run();
    expect(fake.calls).toHaveLength(2);
  });

  it("the upstream's max-age wins over ttlMs when respectCacheControl is on", async () => {
    const { fake, run } = setup(() => json({ v: 1 }, 200, { 'cache-control': 'max-age=5' }));
    await run();
    vi.advanceTimersByTime(5000);
    await run();
    expect(fake.calls).toHaveLength(2);
  });
});

describe('Cache: stale-while-revalidate', () => {
  it('answers the stale value at once and refreshes it in the background, once', async () => {
    // The refresh is held until the test answers it: every request meanwhile gets the stale value.
    const { fake, run } = setup((c) => (c.index === 0 ? json({ version: 1 }) : 'hold'), { ttlMs: 1000, staleWhileRevalidateMs: 5000 });
    await run();
    vi.advanceTimersByTime(1500);
    const stale = await run();
    const alsoStale = await run();
    expect(stale.data.settings).toEqual({ version: 1 });
    expect(stale.cache).toEqual({ settings: 'stale' });
    expect(alsoStale.cache).toEqual({ settings: 'stale' });
    expect(fake.calls).toHaveLength(2);
    fake.calls[1]?.respond(json({ version: 2 }));
    await vi.waitFor(async () => expect((await run()).cache).toEqual({ settings: 'hit' }));
    expect((await run()).data.settings).toEqual({ version: 2 });
    expect(fake.calls).toHaveLength(2);
  });

  it('past the stale window the call waits for the upstream and says it revalidated', async () => {
    const { fake, run } = setup(versioned, { ttlMs: 1000, staleWhileRevalidateMs: 1000, staleIfErrorMs: 60_000 });
    await run();
    vi.advanceTimersByTime(2500);
    const later = await run();
    expect(fake.calls).toHaveLength(2);
    expect(later.data.settings).toEqual({ version: 2 });
    expect(later.cache).toEqual({ settings: 'revalidated' });
  });
});

describe('Cache: stale-if-error', () => {
  it('answers the stale value when the upstream fails, lists the error as stale, and the request is complete', async () => {
    let down = false;
    const { run } = setup(() => (down ? json({ error: 'down' }, 503) : json({ v: 1 })), { ttlMs: 1000, staleIfErrorMs: 60_000 });
    await run();
    vi.advanceTimersByTime(10_000);
    down = true;
    const result = await run();
    expect(result.data.settings).toEqual({ v: 1 });
    expect(result.complete).toBe(true);
    expect(result.cache).toEqual({ settings: 'stale' });
    expect(result.errors).toEqual([
      expect.objectContaining({ call: 'settings', code: 'http_status', status: 503, stale: true, attempts: 1 }),
    ]);
  });

  it('a per-try timeout is answered with the stale value too', async () => {
    const { fake, run } = setup((c) => (c.index === 0 ? json({ v: 1 }) : 'hold'), { ttlMs: 1000, staleIfErrorMs: 60_000 }, { timeoutMs: 100 });
    await run();
    vi.advanceTimersByTime(2000);
    const pending = run();
    await vi.waitFor(() => expect(fake.calls).toHaveLength(2));
    await vi.advanceTimersByTimeAsync(100);
    const result = await pending;
    expect(result.data.settings).toEqual({ v: 1 });
    expect(result.errors).toEqual([expect.objectContaining({ code: 'timeout', stale: true })]);
    expect(fake.calls[1]?.abortReason).toMatchObject({ code: 'timeout' });
  });

  it('past staleIfErrorMs the failure is the answer', async () => {
    let down = false;
    const { run } = setup(() => (down ? json({}, 503) : json({ v: 1 })), { ttlMs: 1000, staleIfErrorMs: 5000 });
    await run();
    vi.advanceTimersByTime(6000);
    down = true;
    const result = await run();
    expect(result.data.settings).toBeNull();
    expect(result.complete).toBe(false);
    expect(result.errors[0]?.stale).toBeUndefined();
  });

  it('a 4xx is not hidden by a stale value: the upstream answered', async () => {
    let gone = false;
    const { run } = setup(() => (gone ? json({}, 404) : json({ v: 1 })), { ttlMs: 1000, staleIfErrorMs: 60_000 });
    await run();
    vi.advanceTimersByTime(2000);
    gone = true;
    expect((await run()).complete).toBe(false);
  });
});

describe('Cache: metrics', () => {
  it('counts hits, misses and stale answers per upstream', async () => {
    const metrics = inMemoryMetrics();
    const fake = fakeFetcher(versioned);
    const plan = planOf(config({ ttlMs: 1000, staleWhileRevalidateMs: 5000 }));
    const engine = new Engine(plan, fake.fetcher, { telemetry: metrics.telemetry });
    const run = () => engine.run(endpointOf(plan), { params: {}, query: {} });
    await run();
    await run();
    vi.advanceTimersByTime(1500);
    await run();
    const collected = await metrics.collect();
    const count = (status: string) => seriesOf(collected, 'tributary.cache.lookups', { 'tributary.cache': status, 'upstream.name': 'config' })[0]?.count;
    expect(count('miss')).toBe(1);
    expect(count('hit')).toBe(1);
    expect(count('stale')).toBe(1);
  });
});

describe('Coalescing inside one request', () => {
  it("a joined failure names the joining call in its message, not the call that sent the request", async () => {
    const fake = fakeFetcher(() => 'hold');
    const plan = planOf({
      upstreams: { catalog: { baseUrl: 'http://catalog.test', coalesce: true } },
      endpoints: [
        {
          path: '/v1/home',
          calls: { featured: { upstream: 'catalog', path: '/featured' }, sidebar: { upstream: 'catalog', path: '/featured' } },
        },
      ],
    });
    const engine = new Engine(plan, fake.fetcher);
    const running = engine.run(endpointOf(plan), { params: {}, query: {} });
    await vi.waitFor(() => expect(engine.flights?.waiting).toBe(2));
    expect(fake.calls).toHaveLength(1);
    fake.calls[0]?.respond(json({}, 503));
    const result = await running;
    expect(result.errors.map((e) => [e.call, e.message, e.attempts]).sort()).toEqual([
      ['featured', 'featured: catalog answered 503', expect.any(Number)],
      ['sidebar', 'sidebar: catalog answered 503', expect.any(Number)],
    ]);
    expect(Object.values(result.cache ?? {})).toEqual(['coalesced']);
  });
});
