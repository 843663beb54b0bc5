import { describe, expect, it } from 'vitest';
import { call, gateway, upstreamScope } from './harness.ts';

const each = (upstream: string, path: string) => ({
  path: '/v1/items',
  deadlineMs: 5000,
  maxConcurrency: 100,
  input: { query: { ids: { type: 'array' as const, items: { type: 'string' as const }, maxItems: 20, required: true } } },
  calls: { items: { upstream, path, each: '{query.ids}' } },
});
const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1).join(',');

describe('adaptive concurrency (same behaviour on Node and Workers)', () => {
  it('an adaptive upstream starts at its initial limit, and every call still gets through', async () => {
    const up = upstreamScope('adaptive-initial');
    const { app } = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 2000, adaptiveConcurrency: { min: 1, max: 3, initial: 3 } } },
      endpoints: [each('u', '/delay/40/{item}')],
    });
    const res = await call(app, `/v1/items?ids=${ids(9)}`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.items).toHaveLength(9);
    const stats = await up.stats();
    expect(stats.requests).toBe(9);
    expect(stats.peakInFlight).toBe(3);
  });

  it('503s from an adaptive upstream stay each call\'s own error, and no more than the limit are in flight', async () => {
    const up = upstreamScope('adaptive-503');
    const { app } = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 2000, adaptiveConcurrency: { min: 1, max: 4, initial: 4 } } },
      endpoints: [each('u', '/down/{item}')],
    });
    const res = await call(app, `/v1/items?ids=${ids(12)}`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toHaveLength(12);
    expect(new Set(res.body.errors.map((e) => `${e.code} ${e.status}`))).toEqual(new Set(['http_status 503']));
    const stats = await up.stats();
    expect(stats.requests).toBe(12);
    expect(stats.peakInFlight).toBeLessThanOrEqual(4);
  });
});
