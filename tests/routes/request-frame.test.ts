/**
 * The request frame: the concerns every request passes through (request id, SERVER span, access
 * log, load shedding, the routes in flight) run as hooks of one frame. What a user would notice
 * if it went wrong: a slot never released, a span never ended, a fault answered without a log line.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { AccessLogEntry } from '../../src/routes/access-log.ts';
import { onError, type AppEnv } from '../../src/routes/errors.ts';
import { requestFrame, type RequestHook } from '../../src/routes/request-frame.ts';
import { ServedRoutes } from '../../src/routes/served-routes.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { inMemoryTracing } from '../tracing/in-memory-tracing.ts';

const config: TributaryConfigInput = {
  upstreams: { u: { baseUrl: 'http://u.test' } },
  endpoints: [{ path: '/v1/a/:id', deadlineMs: 5000, calls: { a: { upstream: 'u', path: '/a/{params.id}', required: true } } }],
};

type Fault = { message: string; error: unknown };

function setup(accessLog: (entry: AccessLogEntry) => void) {
  const faults: Fault[] = [];
  const tracing = inMemoryTracing();
  const servedRoutes = new ServedRoutes();
  const { app } = createApp({
    plan: compilePlan(config, {}),
    fetcher: fakeFetcher(() => json({ ok: true })).fetcher,
    telemetry: tracing.telemetry,
    accessLog,
    admission: { maxInFlight: 1 },
    servedRoutes,
    log: (message, error) => faults.push({ message, error }),
  });
  return { app, faults, tracing, servedRoutes };
}

describe('the request frame', () => {
  it('an access log that throws: the answer stands, the fault is logged once, the span ends and the load-shedding slot is freed', async () => {
    const { app, faults, tracing, servedRoutes } = setup(() => {
      throw new Error('log sink down');
    });
    const first = await app.request('/v1/a/1');
    expect(first.status).toBe(200);
    expect(faults).toHaveLength(1);
    expect(faults[0]?.message).toMatch(/access log failed after the answer/);
    expect(String(faults[0]?.error)).toContain('log sink down');
    // The SERVER span's `done` ran after the access log's threw.
    expect(tracing.spans().filter((s) => s.name === 'GET /v1/a/:id')).toHaveLength(1);
    // maxInFlight is 1: a slot kept by the failed log would refuse this one with 503.
    expect((await app.request('/v1/a/2')).status).toBe(200);
    servedRoutes.drain();
    expect(servedRoutes.drain()).toEqual([]);
  });

  it('a fault in the handler: the access log and the span see the error handler’s 500, with the request id', async () => {
    const entries: AccessLogEntry[] = [];
    const faults: Fault[] = [];
    const tracing = inMemoryTracing();
    const { app, engine } = createApp({
      plan: compilePlan(config, {}),
      fetcher: fakeFetcher(() => json({ ok: true })).fetcher,
      telemetry: tracing.telemetry,
      accessLog: (entry) => entries.push(entry),
      admission: { maxInFlight: 1 },
      log: (message, error) => faults.push({ message, error }),
    });
    // A bug below the route: the engine throws instead of answering.
    engine.run = () => Promise.reject(new Error('a bug in the engine'));
    const res = await app.request('/v1/a/1', { headers: { 'x-request-id': 'req-7' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('x-request-id')).toBe('req-7');
    expect(entries).toEqual([expect.objectContaining({ requestId: 'req-7', status: 500, route: '/v1/a/:id' })]);
    const server = tracing.spans().find((s) => s.name === 'GET /v1/a/:id');
    expect(server?.attributes['http.response.status_code']).toBe(500);
    // The slot of the failed request is free again.
    expect((await app.request('/v1/a/2')).status).toBe(500);
    expect(faults).toHaveLength(2);
  });

  it('a hook that answers: the inner hooks and the handler do not run, the outer ones see its answer', async () => {
    const seen: string[] = [];
    const hook = (name: string, answer?: number): RequestHook => ({
      name,
      enter: (c) => {
        seen.push(`enter ${name}`);
        return answer ? c.json({ refused: name }, answer as 503) : undefined;
      },
      respond: (c) => void seen.push(`respond ${name} ${c.res.status}`),
      done: (c) => void seen.push(`done ${name} ${c.res.status}`),
    });
    const app = new Hono<AppEnv>();
    const log = (): void => {};
    app.use('*', requestFrame([hook('outer'), hook('refuses', 503), hook('inner')], { onError: onError(log), log }));
    app.get('/', (c) => {
      seen.push('handler');
      return c.text('ok');
    });
    const res = await app.request('/');
    expect(res.status).toBe(503);
    expect(seen).toEqual(['enter outer', 'enter refuses', 'respond outer 503', 'done outer 503']);
  });
});
