import { describe, expect, it } from 'vitest';
import { call, gateway, upstreamScope } from './harness.ts';

describe('fan-out concurrency', () => {
  it('runs independent calls at once: total time is about the slowest call, not the sum', async () => {
    const up = upstreamScope('overlap');
    const { app } = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 2000 } },
      endpoints: [
        {
          path: '/v1/three',
          deadlineMs: 3000,
          calls: {
            a: { upstream: 'u', path: '/delay/200/a' },
            b: { upstream: 'u', path: '/delay/200/b' },
            c: { upstream: 'u', path: '/delay/200/c' },
          },
        },
      ],
    });
    const res = await call(app, '/v1/three');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.a.id).toBe('a');
    expect(res.body.data.c.id).toBe('c');
    // Serial would be >= 600 ms.
    expect(res.ms).toBeGreaterThanOrEqual(190);
    expect(res.ms).toBeLessThan(500);
    const stats = await up.stats();
    expect(stats.requests).toBe(3);
    expect(stats.peakInFlight).toBe(3);
  });

  it('never exceeds the per-request maxConcurrency', async () => {
    const up = upstreamScope('per-request');
    const calls = Object.fromEntries(
      Array.from({ length: 10 }, (_, i) => [`c${i}`, { upstream: 'u', path: `/delay/40/c${i}` }]),
    );
    const { app } = gateway({
      upstreams: { u: { baseUrl: up.base, maxConcurrency: 100 } },
      endpoints: [{ path: '/v1/ten', maxConcurrency: 3, deadlineMs: 3000, calls }],
    });
    const res = await call(app, '/v1/ten');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data)).toHaveLength(10);
    const stats = await up.stats();
    expect(stats.requests).toBe(10);
    expect(stats.peakInFlight).toBe(3);
  });

  it('never exceeds the per-upstream maxConcurrency, shared by concurrent requests', async () => {
    const up = upstreamScope('per-upstream');
    const { app } = gateway({
      upstreams: { u: { baseUrl: up.base, maxConcurrency: 2, timeoutMs: 2000 } },
      endpoints: [
        {
          path: '/v1/four/:n',
          maxConcurrency: 10,
          deadlineMs: 4000,
          calls: {
            a: { upstream: 'u', path: '/delay/40/{params.n}-a' },
            b: { upstream: 'u', path: '/delay/40/{params.n}-b' },
            c: { upstream: 'u', path: '/delay/40/{params.n}-c' },
            d: { upstream: 'u', path: '/delay/40/{params.n}-d' },
          },
        },
      ],
    });
    const answers = await Promise.all([1, 2, 3].map((n) => call(app, `/v1/four/${n}`)));
    for (const res of answers) {
      expect(res.status).toBe(200);
      expect(res.body.errors).toEqual([]);
    }
    const stats = await up.stats();
    expect(stats.requests).toBe(12);
    expect(stats.peakInFlight).toBe(2);
  });

  it('`each` over 200 ids respects the limit and returns per-item results in input order', async () => {
    const up = upstreamScope('each');
    const { app } = gateway({
      upstreams: { catalog: { baseUrl: up.base, maxConcurrency: 100, timeoutMs: 2000 } },
      endpoints: [
        {
          path: '/v1/items',
          maxConcurrency: 5,
          deadlineMs: 8000,
          input: { query: { ids: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]+$' }, maxItems: 500, required: true } } },
          // The upstream itself serves 50 at a time, so only the gateway's limit binds.
          calls: { items: { upstream: 'catalog', path: '/limited/{item}', query: { cap: '50', ms: '5' }, each: '{query.ids}' } },
        },
      ],
    });
    // Distinct ids that would sort differently as strings and as numbers.
    const ids = Array.from({ length: 200 }, (_, i) => `i${(i * 37) % 200}`);
    const res = await call(app, `/v1/items?ids=${ids.join(',')}`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    const items = res.body.data.items as { id: string }[];
    expect(items.map((item) => item.id)).toEqual(ids);
    const stats = await up.stats();
    expect(stats.requests).toBe(200);
    expect(stats.peakInFlight).toBeLessThanOrEqual(5);
    expect(stats.peakInFlight).toBeGreaterThan(1);
  });

  it('`each` accepts repeated query parameters too (?ids=1&ids=2)', async () => {
    const up = upstreamScope('each-repeat');
    const { app } = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/items',
          input: { query: { ids: { type: 'array', items: { type: 'string' }, required: true } } },
          calls: { items: { upstream: 'u', path: '/json/{item}', each: '{query.ids}' } },
        },
      ],
    });
    const res = await call(app, '/v1/items?ids=x&ids=y,z');
    expect(res.status).toBe(200);
    expect((res.body.data.items as { id: string }[]).map((i) => i.id)).toEqual(['x', 'y', 'z']);
  });
});
