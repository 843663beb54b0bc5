/** Load shedding in-process: a limit on endpoint requests in flight, refusals as the client, the log and the metrics see them. */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createAdmission, defaultMaxInFlight, readMaxInFlight } from '../../src/routes/admission.ts';
import type { AccessLogEntry } from '../../src/routes/access-log.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { demoConfig } from '../../src/services/demo-config.ts';
import { inMemoryMetrics, seriesOf } from '../metrics/in-memory-metrics.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

const config: TributaryConfigInput = {
  upstreams: { u: { baseUrl: 'http://u.test' } },
  endpoints: [
    { path: '/v1/a/:id', deadlineMs: 60_000, calls: { a: { upstream: 'u', path: '/a/{params.id}', required: true } } },
    {
      method: 'POST',
      path: '/v1/b',
      deadlineMs: 60_000,
      input: { body: { name: { type: 'string' } } },
      calls: { b: { upstream: 'u', path: '/b', method: 'POST', body: { name: '{body.name}' } } },
    },
  ],
};

/** An app whose upstream holds every call until the test answers it. */
function setup(maxInFlight: number) {
  const fake = fakeFetcher();
  const log: AccessLogEntry[] = [];
  const metrics = inMemoryMetrics();
  const { app } = createApp({
    plan: compilePlan(config),
    fetcher: fake.fetcher,
    admission: { maxInFlight },
    accessLog: (entry) => log.push(entry),
    telemetry: metrics.telemetry,
  });
  return { app, fake, log, metrics };
}

/** Lets the app reach its upstream calls (held by the fake) without any timer. */
async function settle(until: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !until(); i++) await new Promise((r) => setImmediate(r));
  expect(until()).toBe(true);
}

describe('load shedding: TRIBUTARY_MAX_IN_FLIGHT', () => {
  it('N+k concurrent requests: k are refused at once with 503 overloaded and Retry-After, N are answered 200', async () => {
    const { app, fake } = setup(3);
    const admitted = [1, 2, 3].map((i) => app.request(`/v1/a/${i}`));
    await settle(() => fake.calls.length === 3);
    // The limit is reached and every admitted request is still waiting for its upstream.
    const refused = await Promise.all([4, 5].map((i) => app.request(`/v1/a/${i}`)));
    for (const res of refused) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(await res.json()).toEqual({ error: { code: 'overloaded', message: expect.stringContaining('3 requests in flight') } });
    }
    expect(fake.calls).toHaveLength(3); // the refused ones called nothing
    for (const call of fake.calls) call.respond(json({ ok: true }));
    expect((await Promise.all(admitted)).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('capacity returns as soon as admitted requests finish', async () => {
    const { app, fake } = setup(1);
    const first = app.request('/v1/a/1');
    await settle(() => fake.calls.length === 1);
    expect((await app.request('/v1/a/2')).status).toBe(503);
    fake.calls[0]?.respond(json({ n: 1 }));
    expect((await first).status).toBe(200);
    const again = app.request('/v1/a/3');
    await settle(() => fake.calls.length === 2);
    fake.calls[1]?.respond(json({ n: 3 }));
    expect((await again).status).toBe(200);
  });

  it('/healthz and /readyz are answered while the limit is reached; 404s are neither counted nor refused', async () => {
    const { app, fake } = setup(1);
    const held = app.request('/v1/a/1');
    await settle(() => fake.calls.length === 1);
    expect((await app.request('/healthz')).status).toBe(200);
    expect((await app.request('/readyz')).status).toBe(200);
    expect((await app.request('/v1/nowhere')).status).toBe(404);
    expect((await app.request('/v1/a/2')).status).toBe(503);
    fake.calls[0]?.respond(json({}));
    expect((await held).status).toBe(200);
  });

  it('a refused request’s body is never read', async () => {
    const { app, fake } = setup(1);
    const held = app.request('/v1/a/1');
    await settle(() => fake.calls.length === 1);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new TextEncoder().encode('{"name":"x"}'));
        controller.close();
      },
    }, { highWaterMark: 0 });
    const res = await app.request('/v1/b', { method: 'POST', body, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(503);
    expect(pulled).toBe(0);
    fake.calls[0]?.respond(json({}));
    await held;
  });

  it('a client that leaves frees its slot, and so does a failed upstream', async () => {
    const { app, fake } = setup(1);
    const controller = new AbortController();
    const left = app.request('/v1/a/1', { signal: controller.signal });
    await settle(() => fake.calls.length === 1);
    controller.abort();
    await Promise.resolve(left).catch(() => undefined);
    const failing = app.request('/v1/a/2');
    await settle(() => fake.calls.length === 2);
    fake.calls[1]?.respond(json({ error: 'boom' }, 500));
    expect((await failing).status).toBe(502);
    const next = app.request('/v1/a/3');
    await settle(() => fake.calls.length === 3);
    fake.calls[2]?.respond(json({}));
    expect((await next).status).toBe(200);
  });

  it('a refusal is in the access log and in http.server.request.duration, with the route pattern and status 503', async () => {
    const { app, fake, log, metrics } = setup(1);
    const held = app.request('/v1/a/1');
    await settle(() => fake.calls.length === 1);
    const refused = await app.request('/v1/a/2', { headers: { 'x-request-id': 'shed-1' } });
    expect(refused.status).toBe(503);
    expect(log.find((e) => e.requestId === 'shed-1')).toMatchObject({ route: '/v1/a/:id', status: 503, method: 'GET' });
    fake.calls[0]?.respond(json({}));
    await held;
    const series = seriesOf(await metrics.collect(), 'http.server.request.duration', { 'http.response.status_code': 503 });
    expect(series.map((s) => s.attributes)).toEqual([
      { 'http.request.method': 'GET', 'http.response.status_code': 503, 'http.route': '/v1/a/:id', 'error.type': '503' },
    ]);
  });

  it('an app without an admission limit (Workers) never refuses', async () => {
    const fake = fakeFetcher();
    const { app } = createApp({ plan: compilePlan(config), fetcher: fake.fetcher });
    const many = Array.from({ length: 50 }, (_, i) => app.request(`/v1/a/${i}`));
    await settle(() => fake.calls.length === 50);
    for (const call of fake.calls) call.respond(json({}));
    expect(new Set((await Promise.all(many)).map((r) => r.status))).toEqual(new Set([200]));
  });
});

describe('the limit and its setting', () => {
  it('defaults to twice the requests the bulkheads can serve at once for the busiest endpoint, at least 32', () => {
    const upstreams = { a: { baseUrl: 'http://a.test', maxConcurrency: 50 }, b: { baseUrl: 'http://b.test', maxConcurrency: 30 }, big: { baseUrl: 'http://big.test', maxConcurrency: 1000 } };
    const limit = (...endpoints: TributaryConfigInput['endpoints']) => defaultMaxInFlight(compilePlan({ upstreams, endpoints }));
    const call = (upstream: string, extra: Record<string, unknown> = {}) => ({ upstream, path: '/x', ...extra });
    // One call to each of a (50) and b (30): 30 requests at once, so 60.
    expect(limit({ path: '/1', calls: { x: call('a'), y: call('b') } })).toBe(60);
    // Two calls to a: each request holds 2 of its 50 slots.
    expect(limit({ path: '/2', calls: { x: call('a'), y: call('a') } })).toBe(50);
    // An each call holds up to the endpoint's maxConcurrency slots: 1000 / 10.
    expect(limit({ path: '/3', maxConcurrency: 10, input: { query: { ids: { type: 'array' } } }, calls: { x: call('big', { each: '{query.ids}', path: '/x/{item}' }) } })).toBe(200);
    // The busiest endpoint decides.
    expect(limit({ path: '/4', calls: { x: call('b') } }, { path: '/5', calls: { x: call('a') } })).toBe(100);
    // Small bulkheads, or no endpoint: the floor.
    expect(limit({ path: '/6', calls: { x: call('b'), y: call('b') } })).toBe(32);
    expect(limit()).toBe(32);
    // The schema's default bulkhead is 64.
    expect(defaultMaxInFlight(compilePlan({ upstreams: { u: { baseUrl: 'http://u.test' } }, endpoints: [{ path: '/u', calls: { u: call('u') } }] }))).toBe(128);
  });

  it('the demo config gives 100: its dashboard calls three upstreams of 50', () => {
    expect(defaultMaxInFlight(compilePlan(demoConfig({ users: 'http://u.test', orders: 'http://o.test', recs: 'http://r.test', catalog: 'http://c.test' })))).toBe(100);
  });

  it('TRIBUTARY_MAX_IN_FLIGHT takes a whole number >= 1; anything else is refused with the variable named', () => {
    expect(readMaxInFlight({ TRIBUTARY_MAX_IN_FLIGHT: '200' })).toBe(200);
    expect(readMaxInFlight({ TRIBUTARY_MAX_IN_FLIGHT: ' ' })).toBeUndefined();
    expect(readMaxInFlight({})).toBeUndefined();
    for (const bad of ['0', '-1', '1.5', 'lots', '1e400']) {
      expect(() => readMaxInFlight({ TRIBUTARY_MAX_IN_FLIGHT: bad })).toThrow(`TRIBUTARY_MAX_IN_FLIGHT must be a whole number of requests >= 1, got "${bad}"`);
    }
  });

  it('createAdmission refuses a limit below 1', () => {
    expect(() => createAdmission({ maxInFlight: 0 })).toThrow(RangeError);
  });
});
