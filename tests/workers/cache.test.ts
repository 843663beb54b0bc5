import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/worker/handler.ts';
import { executionContext, upstreamScope, type AggregateBody } from './helpers.ts';

type CachedBody = AggregateBody & { meta: { cache?: Record<string, string> } };

const config = {
  upstreams: { config: { baseUrl: '${API_URL}', cache: { ttlMs: 60_000 } } },
  endpoints: [{ path: '/v1/settings', calls: { settings: { upstream: 'config', path: '/json/settings' } } }],
};

/** One request through a Worker, waiting for its `waitUntil` work (the cache write) too. */
async function request(worker: ReturnType<typeof createWorker>, env: Record<string, string>): Promise<CachedBody> {
  const ctx = executionContext();
  const response = await worker.fetch(new Request('http://gateway.test/v1/settings'), env, ctx);
  const body = (await response.json()) as CachedBody;
  await ctx.settled();
  return body;
}

describe('the Worker caches through the Cache API', () => {
  it('another isolate answers from what the first one stored in caches.default', async () => {
    const up = upstreamScope('worker-cache');
    const env = { API_URL: up.base };
    const first = await request(createWorker(config, () => {}), env);
    const second = await request(createWorker(config, () => {}), env);
    expect(first.meta.cache).toBeUndefined();
    expect(second.meta.cache).toEqual({ settings: 'hit' });
    expect(second.data).toEqual(first.data);
    expect((await up.stats()).requests).toBe(1);
  });
});
