/**
 * The access log as the route layer hands it to its sink: one entry per request, with the route
 * pattern, the outcome of the aggregate, and nothing a caller or an upstream could put a secret in.
 */
import { describe, expect, it } from 'vitest';
import { createApp, type AppDeps } from '../../src/app.ts';
import type { AccessLogEntry } from '../../src/routes/access-log.ts';
import { UNMATCHED_ROUTE } from '../../src/routes/errors.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json, type Handler } from '../services/fake-fetcher.ts';
import { inMemoryTracing, traceOf } from '../tracing/in-memory-tracing.ts';

const SECRET = 'secret-users-key-93e1';
const USER = '987654321';

function config(): TributaryConfigInput {
  return {
    upstreams: {
      users: { baseUrl: 'http://users.test', headers: { 'x-api-key': '${USERS_KEY}', authorization: 'Bearer ${USERS_KEY}' } },
      orders: { baseUrl: 'http://orders.test' },
      recs: { baseUrl: 'http://recs.test' },
      catalog: { baseUrl: 'http://catalog.test' },
    },
    endpoints: [
      {
        path: '/v1/dashboard/:userId',
        deadlineMs: 1000,
        input: {
          params: { userId: { type: 'string', pattern: '^[0-9]+$' } },
          query: { ids: { type: 'array', items: { type: 'string' }, maxItems: 5 }, token: { type: 'string' } },
        },
        calls: {
          profile: { upstream: 'users', path: '/users/{params.userId}', required: true },
          orders: { upstream: 'orders', path: '/orders', query: { user: '{params.userId}' } },
          recs: { upstream: 'recs', path: '/recs/{params.userId}', fallback: [] },
          items: { upstream: 'catalog', path: '/items/{item}', each: '{query.ids}' },
        },
      },
    ],
  };
}

const healthy: Handler = (c) => json({ at: c.target });
const failing = (prefix: string, status: number, otherwise: Handler = healthy): Handler =>
  (c) => (c.target.startsWith(prefix) ? json({ error: `no ${SECRET}` }, status) : otherwise(c));

function setup(handler: Handler = healthy, deps: Partial<AppDeps> = {}) {
  const entries: AccessLogEntry[] = [];
  const faults: { message: string; error: unknown; fields: unknown }[] = [];
  const { app } = createApp({
    plan: compilePlan(config(), { USERS_KEY: SECRET }),
    fetcher: fakeFetcher(handler).fetcher,
    accessLog: (entry) => entries.push(entry),
    log: (message, error, fields) => faults.push({ message, error, fields }),
    ...deps,
  });
  return { app, entries, faults };
}

describe('access log: one entry per request', () => {
  it('a 200: route pattern (not the path), status, duration, complete, no failed calls', async () => {
    const { app, entries } = setup();
    const res = await app.request(`/v1/dashboard/${USER}?ids=a,b`, { headers: { 'x-request-id': 'req-200' } });
    expect(res.status).toBe(200);
    expect(entries).toEqual([
      { requestId: 'req-200', method: 'GET', route: '/v1/dashboard/:userId', status: 200, durationMs: expect.any(Number), complete: true },
    ]);
    expect(entries[0]?.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('a partial 200: complete false and each failed optional call with its code', async () => {
    const { app, entries } = setup(failing('recs.test', 503, failing('orders.test', 500)));
    const res = await app.request(`/v1/dashboard/${USER}`);
    expect(res.status).toBe(200);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      status: 200,
      complete: false,
      failed: [
        { call: 'orders', code: 'http_status' },
        { call: 'recs', code: 'http_status' },
      ],
    });
  });

  it('a 502: the required call that failed, and the calls it cancelled', async () => {
    const { app, entries } = setup(failing('users.test', 500, () => 'hold'));
    const res = await app.request(`/v1/dashboard/${USER}`);
    expect(res.status).toBe(502);
    expect(entries[0]).toMatchObject({ route: '/v1/dashboard/:userId', status: 502, complete: false });
    expect(entries[0]?.failed?.[0]).toEqual({ call: 'profile', code: 'http_status' });
    expect(entries[0]?.failed?.slice(1)).toEqual([
      { call: 'orders', code: 'cancelled' },
      { call: 'recs', code: 'cancelled' },
    ]);
  });

  it('an each call failing for several elements is one entry with the count, not one per element', async () => {
    const { app, entries } = setup(failing('catalog.test', 503));
    await app.request(`/v1/dashboard/${USER}?ids=a,b,c`);
    expect(entries[0]?.failed).toEqual([{ call: 'items', code: 'http_status', items: 3 }]);
  });

  it('a 400: the route and status, but no complete or failed (no aggregate ran)', async () => {
    const { app, entries } = setup();
    const res = await app.request('/v1/dashboard/abc');
    expect(res.status).toBe(400);
    expect(entries).toEqual([{ requestId: expect.any(String), method: 'GET', route: '/v1/dashboard/:userId', status: 400, durationMs: expect.any(Number) }]);
  });

  it('a 404: the fixed placeholder route, never the raw path', async () => {
    const { app, entries } = setup();
    const res = await app.request(`/admin/${USER}/secrets?token=${SECRET}`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(entries).toEqual([{ requestId: expect.any(String), method: 'DELETE', route: UNMATCHED_ROUTE, status: 404, durationMs: expect.any(Number) }]);
    expect(JSON.stringify(entries)).not.toContain(USER);
  });

  it('the request id is the one the client got in x-request-id', async () => {
    const { app, entries } = setup();
    const res = await app.request('/healthz');
    expect(entries[0]).toMatchObject({ route: '/healthz', status: 200, requestId: res.headers.get('x-request-id') });
  });

  it('secrets, header values, query strings, path ids and upstream messages never appear', async () => {
    const { app, entries } = setup(failing('users.test', 500));
    await app.request(`/v1/dashboard/${USER}?ids=item-one&token=${SECRET}`, {
      headers: { authorization: `Bearer ${SECRET}`, cookie: `session=${SECRET}`, 'x-api-key': 'client-key-77' },
    });
    await app.request(`/v1/dashboard/${USER}?ids=item-two`, { headers: { 'user-agent': 'agent-x-55' } });
    expect(entries).toHaveLength(2);
    const text = JSON.stringify(entries);
    for (const needle of [SECRET, 'Bearer', 'client-key-77', 'agent-x-55', 'item-one', 'item-two', USER, 'users.test', 'answered']) {
      expect(text).not.toContain(needle);
    }
  });

  it('a sampled request carries its trace id; without a recording tracer the field is left out', async () => {
    const tracing = inMemoryTracing();
    const traced = setup(healthy, { telemetry: tracing.telemetry });
    await traced.app.request(`/v1/dashboard/${USER}`);
    const server = tracing.spans().find((s) => s.name === 'GET /v1/dashboard/:userId');
    expect(server).toBeDefined();
    expect(traced.entries[0]?.traceId).toBe(traceOf(server as NonNullable<typeof server>));

    const untraced = setup();
    await untraced.app.request(`/v1/dashboard/${USER}`, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    expect(untraced.entries[0]).not.toHaveProperty('traceId');
  });

  it('a 500: the fault is logged once with the request id and route pattern; the access entry says 500', async () => {
    const clock = (): number => {
      throw new Error('clock exploded');
    };
    const { app, entries, faults } = setup(healthy, { engine: { clock } });
    const res = await app.request(`/v1/dashboard/${USER}`, { headers: { 'x-request-id': 'req-500' } });
    expect(res.status).toBe(500);
    expect(faults).toHaveLength(1);
    expect(faults[0]?.fields).toEqual({ requestId: 'req-500', method: 'GET', route: '/v1/dashboard/:userId' });
    expect(faults[0]?.message).not.toContain(USER);
    expect(entries).toEqual([expect.objectContaining({ requestId: 'req-500', status: 500, route: '/v1/dashboard/:userId' })]);
  });

  it('no sink, no access log: the app runs the same', async () => {
    const { app, entries } = setup(healthy, { accessLog: undefined });
    expect((await app.request(`/v1/dashboard/${USER}`)).status).toBe(200);
    expect(entries).toEqual([]);
  });
});
