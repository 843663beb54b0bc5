/**
 * The metrics a request leaves, read from a real SDK MeterProvider: the HTTP semantic-convention
 * histograms (server and client request duration, in seconds), the semaphore wait with its closed
 * label set, and a unit on every instrument. Tracing stays off (no tracer provider) throughout:
 * metrics do not depend on it.
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { createTelemetry, observeBulkheads } from '../../src/services/telemetry.ts';
import { fakeFetcher, json, type Handler } from '../services/fake-fetcher.ts';
import { dashboardConfig } from '../tracing/dashboard-config.ts';
import { sleep } from '../tracing/in-memory-tracing.ts';
import { inMemoryMetrics, seriesOf } from './in-memory-metrics.ts';

function setup(handler: Handler, config: TributaryConfigInput = dashboardConfig()) {
  // As the Node entry builds it when only metrics are exported: no span is started at all.
  const metrics = inMemoryMetrics({ traces: false });
  const fake = fakeFetcher(handler);
  const { app } = createApp({ plan: compilePlan(config), fetcher: fake.fetcher, telemetry: metrics.telemetry });
  return { metrics, fake, app };
}

const keys = (attributes: Attributes): string[] => Object.keys(attributes).sort();

describe('http.server.request.duration', () => {
  it('is recorded for every request, in seconds, by route, method and status, with tracing off', async () => {
    const { metrics, app } = setup(() => json({ ok: true }));
    expect((await app.request('/v1/dashboard/42')).status).toBe(200);
    expect((await app.request('/v1/dashboard/43')).status).toBe(200);
    expect((await app.request('/v1/items')).status).toBe(400); // ids is required
    expect((await app.request('/nowhere/42')).status).toBe(404);

    const collected = await metrics.collect();
    expect(collected.get('http.server.request.duration')?.unit).toBe('s');
    const ok = seriesOf(collected, 'http.server.request.duration', { 'http.route': '/v1/dashboard/:userId' });
    expect(ok.map((s) => s.attributes)).toEqual([
      { 'http.request.method': 'GET', 'http.response.status_code': 200, 'http.route': '/v1/dashboard/:userId' },
    ]);
    expect(ok[0]?.count).toBe(2);
    // Seconds, not milliseconds: two in-process requests take far less than a second.
    expect(ok[0]?.sum).toBeGreaterThan(0);
    expect(ok[0]?.sum).toBeLessThan(1);
    expect(seriesOf(collected, 'http.server.request.duration', { 'http.response.status_code': 400 })[0]?.attributes['http.route']).toBe('/v1/items');
    // No route matched: no http.route at all, never the raw path.
    const missing = seriesOf(collected, 'http.server.request.duration', { 'http.response.status_code': 404 });
    expect(missing.map((s) => s.attributes)).toEqual([{ 'http.request.method': 'GET', 'http.response.status_code': 404 }]);
    expect(JSON.stringify([...collected.values()])).not.toContain('/nowhere');
  });

  it('folds a method outside the HTTP standard into _OTHER, so a client cannot grow the label set', async () => {
    const { metrics, app } = setup(() => json({ ok: true }));
    await app.request('/v1/dashboard/42', { method: 'FROBNICATE' });
    const methods = seriesOf(await metrics.collect(), 'http.server.request.duration').map((s) => s.attributes['http.request.method']);
    expect(methods).toEqual(['_OTHER']);
  });

  it('marks a 5xx with error.type', async () => {
    const { metrics, app } = setup((call) => (call.target.startsWith('users.test') ? json({}, 503) : json({ ok: true })));
    expect((await app.request('/v1/dashboard/42')).status).toBe(502);
    const [series] = seriesOf(await metrics.collect(), 'http.server.request.duration');
    expect(series?.attributes).toMatchObject({ 'http.response.status_code': 502, 'error.type': '502' });
  });
});

describe('http.client.request.duration', () => {
  const retrying: TributaryConfigInput = {
    upstreams: { u: { baseUrl: 'http://u.test:8080/api', retry: { attempts: 3, backoffMs: 1, maxBackoffMs: 1 } } },
    endpoints: [{ path: '/v1/thing/:id', calls: { thing: { upstream: 'u', path: '/things/{params.id}', required: true } } }],
  };

  it('is one sample per attempt, by upstream, server, method, status and error.type', async () => {
    const { metrics, app } = setup((call) => (call.index === 0 ? json({}, 503) : json({ ok: true })), retrying);
    expect((await app.request('/v1/thing/1')).status).toBe(200);
    const collected = await metrics.collect();
    expect(collected.get('http.client.request.duration')?.unit).toBe('s');
    const series = seriesOf(collected, 'http.client.request.duration');
    const server = { 'http.request.method': 'GET', 'server.address': 'u.test', 'server.port': 8080, 'upstream.name': 'u' };
    expect(series.map((s) => [s.attributes, s.count])).toEqual(
      expect.arrayContaining([
        [{ ...server, 'http.response.status_code': 503, 'error.type': '503' }, 1],
        [{ ...server, 'http.response.status_code': 200 }, 1],
      ]),
    );
    expect(series).toHaveLength(2);
  });

  it('names a timeout in error.type, with no status', async () => {
    const config = dashboardConfig({ recsTimeoutMs: 30 });
    const { metrics, app } = setup((call) => (call.target.startsWith('recs.test') ? 'hold' : json({ ok: true })), config);
    await app.request('/v1/dashboard/42');
    const [recs] = seriesOf(await metrics.collect(), 'http.client.request.duration', { 'upstream.name': 'recs' });
    expect(recs?.attributes).toEqual({ 'http.request.method': 'GET', 'server.address': 'recs.test', 'server.port': 80, 'upstream.name': 'recs', 'error.type': 'timeout' });
  });

  it("measures the upstream's own latency, without the time the call waited for a bulkhead slot", async () => {
    // users has one slot: request 2's profile call waits while request 1's is held.
    const { metrics, fake, app } = setup((call) => (call.index === 0 ? 'hold' : json({ ok: true })), dashboardConfig({ usersConcurrency: 1 }));
    const first = app.request('/v1/dashboard/1');
    await sleep(5);
    const second = app.request('/v1/dashboard/2');
    await sleep(40);
    const held = fake.calls[0];
    expect(held?.target).toBe('users.test/users/1');
    held?.respond(json({ ok: true }));
    await Promise.all([first, second]);

    const collected = await metrics.collect();
    const users = { 'upstream.name': 'users' };
    const [wait] = seriesOf(collected, 'tributary.semaphore.wait', { ...users, 'tributary.semaphore': 'upstream' });
    expect(wait?.count).toBe(1);
    expect(wait?.sum).toBeGreaterThanOrEqual(0.03);
    const [client] = seriesOf(collected, 'http.client.request.duration', users);
    const [total] = seriesOf(collected, 'tributary.upstream.duration', users);
    expect(client?.count).toBe(2);
    // The call duration (queue to last byte) counts the wait; the client duration does not, so
    // the two differ by at least the wait. Were the wait inside the attempt, they would not differ.
    expect((total?.sum ?? 0) - (client?.sum ?? 0)).toBeGreaterThanOrEqual((wait?.sum ?? 0) * 0.9);
  });
});

describe('tributary.semaphore.wait', () => {
  it('a 72-element each fan-out records every queued wait, labelled by route, with no item index', async () => {
    // 16 request slots (the endpoint default) for 72 elements: 56 wait, and only 50 elements get spans.
    const { metrics, fake, app } = setup(async () => {
      await sleep(1);
      return json({ ok: true });
    });
    const ids = Array.from({ length: 72 }, (_, i) => `i${i}`).join(',');
    expect((await app.request(`/v1/items?ids=${ids}`)).status).toBe(200);
    expect(fake.calls).toHaveLength(72);

    const collected = await metrics.collect();
    const series = seriesOf(collected, 'tributary.semaphore.wait');
    expect(series.map((s) => s.attributes)).toEqual([
      { 'tributary.semaphore': 'request', 'upstream.name': 'catalog', 'http.route': '/v1/items', 'tributary.wait.outcome': 'granted' },
    ]);
    expect(series[0]?.count).toBe(72 - 16);
    // No metric of any instrument carries an element index, an id or a raw path.
    for (const [name, { series: all }] of collected) {
      for (const s of all) {
        expect(keys(s.attributes), name).not.toContain('tributary.item');
        expect(JSON.stringify(s.attributes), name).not.toMatch(/i\d+|\/items\//);
      }
    }
  });
});

describe('units', () => {
  it('every histogram, counter and gauge Tributary creates has a unit', () => {
    const created: { name: string; unit: string | undefined }[] = [];
    const real = new MeterProvider().getMeter('test');
    const spy = new Proxy(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        if (typeof prop === 'string' && prop.startsWith('create')) {
          return (name: string, options?: { unit?: string }) => {
            created.push({ name, unit: options?.unit });
            return (value as (n: string, o?: unknown) => unknown).call(target, name, options);
          };
        }
        return (value as (...args: unknown[]) => unknown).bind(target);
      },
    }) as Meter;
    createTelemetry({ meter: spy });
    observeBulkheads([], spy);
    expect(created.length).toBeGreaterThanOrEqual(12);
    expect(created.filter((c) => !c.unit)).toEqual([]);
    const units = Object.fromEntries(created.map((c) => [c.name, c.unit]));
    expect(units).toMatchObject({
      'http.server.request.duration': 's',
      'http.client.request.duration': 's',
      'tributary.semaphore.wait': 's',
      'tributary.upstream.in_flight': '{call}',
      'tributary.upstream.queued': '{call}',
    });
  });
});
