import { describe, expect, it } from 'vitest';
import { call, gateway, upstreamScope } from './harness.ts';

/** One endpoint whose `each` call goes to an adaptive upstream `u` with these bounds; `count` ids. */
async function fanOut(label: string, bounds: { min: number; max: number; initial: number }, path: string, count: number) {
  const up = upstreamScope(label);
  const { app } = gateway({
    upstreams: { u: { baseUrl: up.base, timeoutMs: 2000, adaptiveConcurrency: bounds } },
    endpoints: [
      {
        path: '/v1/items',
        deadlineMs: 5000,
        maxConcurrency: 100,
        input: { query: { ids: { type: 'array', items: { type: 'string' }, maxItems: 20, required: true } } },
        calls: { items: { upstream: 'u', path, each: '{query.ids}' } },
      },
    ],
  });
  const res = await call(app, `/v1/items?ids=${Array.from({ length: count }, (_, i) => i + 1).join(',')}`);
  return { res, stats: await up.stats() };
}

describe('adaptive concurrency (same behaviour on Node and Workers)', () => {
  it('an adaptive upstream starts at its initial limit, and every call still gets through', async () => {
    const { res, stats } = await fanOut('adaptive-initial', { min: 1, max: 3, initial: 3 }, '/delay/40/{item}', 9);
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.items).toHaveLength(9);
    expect([stats.requests, stats.peakInFlight]).toEqual([9, 3]);
  });

  it("503s from an adaptive upstream stay each call's own error, and no more than the limit are in flight", async () => {
    const { res, stats } = await fanOut('adaptive-503', { min: 1, max: 4, initial: 4 }, '/down/{item}', 12);
    expect(res.status).toBe(200);
    expect(new Set(res.body.errors.map((e) => `${e.code} ${e.status}`))).toEqual(new Set(['http_status 503']));
    expect(res.body.errors).toHaveLength(12);
    expect(stats.requests).toBe(12);
    expect(stats.peakInFlight).toBeLessThanOrEqual(4);
  });
});
