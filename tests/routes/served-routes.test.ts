import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { ServedRoutes } from '../../src/routes/served-routes.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { deferred } from '../lib/helpers.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

const plan = compilePlan({
  upstreams: { u: { baseUrl: 'http://u.test' } },
  endpoints: [
    { path: '/v1/slow/:id', calls: { a: { upstream: 'u', path: '/slow' } } },
    { path: '/v1/fast/:id', calls: { a: { upstream: 'u', path: '/fast' } } },
  ],
});

describe('ServedRoutes', () => {
  it('names the routes in flight and those served since the last drain, by pattern, never by raw path', async () => {
    const hold = deferred();
    const fake = fakeFetcher(async (call) => {
      if (call.target.includes('/slow')) await hold.promise;
      return json({});
    });
    const served = new ServedRoutes();
    const { app } = createApp({ plan, fetcher: fake.fetcher, servedRoutes: served });
    expect(served.drain()).toEqual([]);
    await app.request('/v1/fast/42');
    const slow = app.request('/v1/slow/7');
    // The fast one finished since the last drain; the slow one is still in flight.
    expect(served.drain()).toEqual(['GET /v1/fast/:id', 'GET /v1/slow/:id']);
    expect(served.drain()).toEqual(['GET /v1/slow/:id']);
    hold.resolve();
    await slow;
    expect(served.drain()).toEqual([]);
  });
});
