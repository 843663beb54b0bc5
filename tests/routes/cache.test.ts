import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json, type Handler } from '../services/fake-fetcher.ts';
import { inMemoryTracing } from '../tracing/in-memory-tracing.ts';

const CONFIG: TributaryConfigInput = {
  upstreams: {
    config: { baseUrl: 'http://config.test', coalesce: true, cache: { ttlMs: 1000, staleIfErrorMs: 60_000 } },
    catalog: { baseUrl: 'http://catalog.test', coalesce: true },
  },
  endpoints: [
    {
      path: '/v1/home',
      calls: {
        settings: { upstream: 'config', path: '/settings' },
        featured: { upstream: 'catalog', path: '/featured' },
      },
    },
  ],
};

function setup(handler: Handler, now: () => number = () => Date.now()) {
  const fake = fakeFetcher(handler);
  const tracing = inMemoryTracing();
  const { app, engine } = createApp({ plan: compilePlan(CONFIG), fetcher: fake.fetcher, telemetry: tracing.telemetry, engine: { now } });
  const get = async () => {
    const response = await app.request('/v1/home');
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  };
  return { fake, engine, get, tracing };
}

describe('Caching and coalescing in the response', () => {
  it('meta.cache names each call that used the cache, and is absent when none did', async () => {
    const { get } = setup(() => json({ ok: true }));
    const first = await get();
    expect(first.body.meta.cache).toBeUndefined();
    const second = await get();
    expect(second.body.meta.cache).toEqual({ settings: 'hit' });
    expect(second.body.data.settings).toEqual({ ok: true });
  });

  it('concurrent requests for the same dashboard make one upstream request per call', async () => {
    const { fake, engine, get } = setup(() => 'hold');
    const a = get();
    const b = get();
    await vi.waitFor(() => expect(engine.flights?.waiting).toBe(4));
    expect(fake.calls).toHaveLength(2);
    for (const call of fake.calls) call.respond(json({ from: call.target }));
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.body.data).toEqual(rb.body.data);
    expect([ra.body.meta.cache, rb.body.meta.cache]).toContainEqual({ settings: 'coalesced', featured: 'coalesced' });
  });

  it('a stale value served for a failure keeps the error, marked stale, and the answer is complete', async () => {
    let now = 1_000_000;
    let down = false;
    const { get } = setup((c) => (down && c.target.startsWith('config.test') ? json({}, 503) : json({ theme: 'dark' })), () => now);
    await get();
    now += 5000;
    down = true;
    const answer = await get();
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-aggregate-complete')).toBe('true');
    expect(answer.body.meta).toMatchObject({ complete: true, cache: { settings: 'stale' } });
    expect(answer.body.data.settings).toEqual({ theme: 'dark' });
    expect(answer.body.errors).toEqual([expect.objectContaining({ call: 'settings', code: 'http_status', status: 503, stale: true })]);
  });

  it('the call span says how the cache took part in tributary.cache', async () => {
    const { get, tracing } = setup(() => json({ ok: true }));
    await get();
    await get();
    const spans = tracing.spans().filter((s) => s.name === 'upstream settings');
    expect(spans.map((s) => s.attributes['tributary.cache'])).toEqual(['miss', 'hit']);
  });

  it("an each call's elements say it in events on the call span, only the traced ones (maxItemSpans)", async () => {
    const config: TributaryConfigInput = {
      upstreams: { items: { baseUrl: 'http://items.test', cache: { ttlMs: 60_000 } } },
      endpoints: [
        {
          path: '/v1/items',
          input: { query: { ids: { type: 'array', items: { type: 'string' }, required: true } } },
          calls: { items: { upstream: 'items', path: '/items/{item}', each: '{query.ids}' } },
        },
      ],
    };
    const tracing = inMemoryTracing({ maxItemSpans: 2 });
    const { app } = createApp({ plan: compilePlan(config), fetcher: fakeFetcher(() => json({ ok: true })).fetcher, telemetry: tracing.telemetry });
    for (let i = 0; i < 2; i++) expect((await app.request('/v1/items?ids=a,b,c,d,e')).status).toBe(200);
    const [, second] = tracing.spans().filter((s) => s.name === 'upstream items');
    const events = second?.events.filter((e) => e.name === 'cache') ?? [];
    // In item order: elements look their keys up at once, and each key's SHA-256 (crypto.subtle,
    // on the thread pool) may be ready before the one of the element before it.
    const seen = events.map((e) => [e.attributes?.['tributary.item'], e.attributes?.['tributary.cache']] as [number, string]);
    expect(seen.sort((a, b) => a[0] - b[0])).toEqual([
      [0, 'hit'],
      [1, 'hit'],
    ]);
  });
});
