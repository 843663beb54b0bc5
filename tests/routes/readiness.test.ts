/** `/readyz` and `/healthz` as a load balancer and an orchestrator see them, in-process. */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createReadiness } from '../../src/routes/health.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

function setup() {
  const readiness = createReadiness();
  const plan = compilePlan({
    upstreams: { u: { baseUrl: 'http://u.test' } },
    endpoints: [{ path: '/v1/a', calls: { a: { upstream: 'u', path: '/a' } } }],
  });
  const { app } = createApp({ plan, fetcher: fakeFetcher(() => json({ ok: true })).fetcher, readiness });
  return { app, readiness };
}

describe('readiness and liveness', () => {
  it('/readyz answers 200 while serving and 503 once draining starts', async () => {
    const { app, readiness } = setup();
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    readiness.drain();
    const draining = await app.request('/readyz');
    expect(draining.status).toBe(503);
    expect(await draining.json()).toEqual({ status: 'draining' });
    expect(draining.headers.get('cache-control')).toBe('no-store');
  });

  it('/healthz stays 200 while draining: the process is alive, only leaving', async () => {
    const { app, readiness } = setup();
    readiness.drain();
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', endpoints: 1 });
  });

  it('requests still served while draining are answered, with Connection: close', async () => {
    const { app, readiness } = setup();
    expect((await app.request('/v1/a')).headers.get('connection')).toBeNull();
    readiness.drain();
    const res = await app.request('/v1/a');
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect((await app.request('/nope')).headers.get('connection')).toBe('close');
  });

  it('an app without a readiness flag (Workers) is always ready', async () => {
    const plan = compilePlan({ upstreams: { u: { baseUrl: 'http://u.test' } }, endpoints: [] });
    const { app } = createApp({ plan, fetcher: fakeFetcher(() => json({})).fetcher });
    expect((await app.request('/readyz')).status).toBe(200);
  });
});
