/**
 * What a Worker keeps per isolate and what it builds per request, inside workerd: the Hono app
 * (router, middleware) once per compiled plan; the engine, with its bulkheads, per request.
 */
import { describe, expect, it, vi } from 'vitest';
import * as appModule from '../../src/app.ts';
import { createWorker } from '../../src/worker/handler.ts';
import { executionContext, upstreamScope } from './helpers.ts';

// Spied, not replaced: createApp keeps its implementation; the test counts its calls.
const createApp = vi.spyOn(appModule, 'createApp');

const slowConfig = {
  upstreams: { api: { baseUrl: '${API_URL}', maxConcurrency: 1 } },
  endpoints: [
    { path: '/v1/slow', calls: { slow: { upstream: 'api', path: '/delay/150/s' } } },
    { path: '/v1/one', calls: { one: { upstream: 'api', path: '/json/one', required: true } } },
  ],
};

function worker(write: (line: string) => void = () => {}) {
  const logs: string[] = [];
  const handler = createWorker(slowConfig, (message) => void logs.push(message), write);
  const fetch = async (path: string, env: Record<string, unknown>) => {
    const response = await handler.fetch(new Request(`http://gateway.test${path}`), env, executionContext());
    return { status: response.status, body: (await response.json()) as { meta?: { complete: boolean } } };
  };
  return { fetch, logs };
}

describe('the Worker keeps its app per isolate and builds an engine per request', () => {
  it('builds the app once across requests, and concurrent requests still get separate bulkheads', async () => {
    createApp.mockClear();
    const up = upstreamScope('isolate-app');
    const { fetch } = worker();
    const env = { API_URL: up.base };
    expect((await fetch('/v1/one', env)).status).toBe(200);
    const both = await Promise.all([fetch('/v1/slow', env), fetch('/v1/slow', env)]);
    expect(both.map((a) => a.status)).toEqual([200, 200]);
    expect((await fetch('/healthz', env)).status).toBe(200);
    expect(createApp).toHaveBeenCalledTimes(1);
    // maxConcurrency 1 per request: with one bulkhead shared by the isolate they would have run one after the other.
    expect((await up.stats()).peakInFlight).toBe(2);
  });

  it('builds a new app only when the plan or a variable the app reads changes', async () => {
    createApp.mockClear();
    const a = upstreamScope('isolate-env-a');
    const b = upstreamScope('isolate-env-b');
    const { fetch } = worker();
    await fetch('/v1/one', { API_URL: a.base });
    await fetch('/v1/one', { API_URL: a.base });
    expect(createApp).toHaveBeenCalledTimes(1);
    await fetch('/v1/one', { API_URL: b.base });
    expect(createApp).toHaveBeenCalledTimes(2);
    await fetch('/v1/one', { API_URL: b.base, TRIBUTARY_DEBUG_TOKEN: 'see' });
    expect(createApp).toHaveBeenCalledTimes(3);
    await fetch('/v1/one', { API_URL: b.base, TRIBUTARY_DEBUG_TOKEN: 'see' });
    expect(createApp).toHaveBeenCalledTimes(3);
  });
});

describe('the Worker access log', () => {
  it('prints one JSON line per request with console.log-style output: route pattern, status, outcome', async () => {
    const up = upstreamScope('isolate-log');
    const lines: string[] = [];
    const { fetch } = worker((line) => void lines.push(line));
    await fetch('/v1/one', { API_URL: up.base });
    await fetch('/nope/123', { API_URL: up.base });
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed).toEqual([
      expect.objectContaining({ level: 'info', msg: 'request', method: 'GET', route: '/v1/one', status: 200, complete: true }),
      expect.objectContaining({ level: 'info', msg: 'request', method: 'GET', route: '(unmatched)', status: 404 }),
    ]);
    expect(parsed[0]).toHaveProperty('requestId');
    expect(parsed[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('TRIBUTARY_ACCESS_LOG=0 prints nothing; a level that is not usable is reported once and the default used', async () => {
    const up = upstreamScope('isolate-log-off');
    const lines: string[] = [];
    const { fetch, logs } = worker((line) => void lines.push(line));
    await fetch('/v1/one', { API_URL: up.base, TRIBUTARY_ACCESS_LOG: '0' });
    expect(lines).toEqual([]);
    await fetch('/v1/one', { API_URL: up.base, TRIBUTARY_LOG_LEVEL: 'loud' });
    await fetch('/v1/one', { API_URL: up.base, TRIBUTARY_LOG_LEVEL: 'loud' });
    expect(lines).toHaveLength(2);
    expect(logs.filter((l) => l.includes('TRIBUTARY_LOG_LEVEL'))).toHaveLength(1);
  });
});
