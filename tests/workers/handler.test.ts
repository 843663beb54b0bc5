import { describe, expect, it } from 'vitest';
import { eventually, testWorker, upstreamScope, type AggregateBody } from './helpers.ts';

/** One upstream named by `${API_URL}` with a secret header, one endpoint calling `/json/one` on it. */
const echoConfig = {
  upstreams: { api: { baseUrl: '${API_URL}', headers: { 'x-api-key': '${API_KEY}' } } },
  endpoints: [{ path: '/v1/one', calls: { one: { upstream: 'api', path: '/json/one', required: true } } }],
};

describe('the Worker entry (createWorker) inside workerd', () => {
  it('takes base URLs and secret headers from the Worker env, and follows a change of env', async () => {
    const a = upstreamScope('env-a');
    const b = upstreamScope('env-b');
    const { request } = testWorker(echoConfig);

    const first = await request<AggregateBody>('/v1/one', { API_URL: a.base, API_KEY: 'secret-a' });
    expect(first.status).toBe(200);
    expect(first.body.data.one.headers['x-api-key']).toBe('secret-a');
    const second = await request<AggregateBody>('/v1/one', { API_URL: b.base, API_KEY: 'secret-b' });
    expect(second.status).toBe(200);
    expect(second.body.data.one.headers['x-api-key']).toBe('secret-b');

    expect((await a.stats()).requests).toBe(1);
    expect((await b.stats()).requests).toBe(1);
  });

  it('answers 500 without details when a variable the config needs is missing, and logs which one', async () => {
    const up = upstreamScope('missing');
    const { request, logs } = testWorker(echoConfig);
    const res = await request('/v1/one', { API_URL: up.base }, { headers: { 'x-request-id': 'req-1' } });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'internal', message: expect.any(String), requestId: 'req-1' } });
    expect(JSON.stringify(res.body)).not.toContain('API_KEY');
    expect(logs.join('\n')).toContain('environment variable API_KEY is not set');
    expect((await up.stats()).requests).toBe(0);
  });

  it('compiles once per isolate: a problem is logged once, not per request', async () => {
    const up = upstreamScope('once');
    const { request, logs } = testWorker(echoConfig);
    for (let i = 0; i < 3; i++) expect((await request('/v1/one', { API_URL: up.base })).status).toBe(500);
    expect(logs).toHaveLength(1);
  });

  it('a client that disconnects cancels the upstream calls at once (request.signal)', async () => {
    const up = upstreamScope('disconnect');
    const { worker } = testWorker({
      upstreams: { api: { baseUrl: '${API_URL}', timeoutMs: 5000 } },
      endpoints: [{ path: '/v1/hang', deadlineMs: 8000, calls: { hang: { upstream: 'api', path: '/hang/h' } } }],
    });
    const client = new AbortController();
    const request = new Request('http://gateway.test/v1/hang', { signal: client.signal });
    const answer = Promise.resolve(worker.fetch(request, { API_URL: up.base }, { waitUntil() {}, passThroughOnException() {}, props: {} }));
    answer.catch(() => {});
    await eventually(async () => (await up.stats()).inFlight === 1);
    const left = performance.now();
    client.abort();
    await eventually(async () => (await up.stats()).aborted === 1, 2000);
    // Well before the call's own 5 s timeout: the abort, not a timer, ended it.
    expect(performance.now() - left).toBeLessThan(2000);
    await answer.catch(() => {});
  });

  it('bulkheads are per request on Workers: two requests each get the whole maxConcurrency', async () => {
    const up = upstreamScope('bulkhead');
    const { request } = testWorker({
      upstreams: { api: { baseUrl: '${API_URL}', maxConcurrency: 1 } },
      endpoints: [{ path: '/v1/slow', calls: { slow: { upstream: 'api', path: '/delay/150/s' } } }],
    });
    const env = { API_URL: up.base };
    const answers = await Promise.all([request('/v1/slow', env), request('/v1/slow', env)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    // On Node the process-wide bulkhead of 1 would have run them one after the other.
    expect((await up.stats()).peakInFlight).toBe(2);
  });

  it('passes TRIBUTARY_DEBUG_TOKEN on: a trusted caller gets per-call Server-Timing', async () => {
    const up = upstreamScope('debug');
    const { request } = testWorker(echoConfig);
    const env = { API_URL: up.base, API_KEY: 'k', TRIBUTARY_DEBUG_TOKEN: 'let-me-see' };
    const plain = await request('/v1/one', env);
    const trusted = await request('/v1/one', env, { headers: { 'x-tributary-debug': 'let-me-see' } });
    expect(plain.headers.get('server-timing')).not.toContain('call_one');
    expect(trusted.headers.get('server-timing')).toContain('call_one');
  });
});
