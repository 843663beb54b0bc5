import { describe, expect, it } from 'vitest';
import { testWorker, upstreamScope, type AggregateBody } from './helpers.ts';

/**
 * On Workers the app and its bulkheads are built per request, but createWorker keeps each
 * upstream's breaker and retry budget per isolate (plain data): they must hold across requests.
 */

/** One upstream `${API_URL}` behind a breaker that opens after 3 failed calls of at least 3. */
function breakerWorker(path: string, openMs: number, query: Record<string, string> = {}) {
  return testWorker({
    upstreams: {
      api: {
        baseUrl: '${API_URL}',
        timeoutMs: 1000,
        circuitBreaker: { failureRatio: 0.5, minimumRequests: 3, windowMs: 10_000, openMs, halfOpenRequests: 1 },
      },
    },
    endpoints: [{ path: '/v1/x', deadlineMs: 3000, calls: { under: { upstream: 'api', path, query, fallback: { fallback: true } } } }],
  });
}

const errorOf = (body: AggregateBody) => body.errors.find((e) => e.call === 'under');

describe('resilience state kept per isolate through createWorker', () => {
  it('the circuit breaker opens across requests: a later request answers circuit_open without reaching the upstream', async () => {
    const up = upstreamScope('worker-breaker');
    const { request } = breakerWorker('/down', 60_000);
    const env = { API_URL: up.base };
    for (let i = 0; i < 3; i++) {
      const res = await request<AggregateBody>('/v1/x', env);
      expect(res.status).toBe(200);
      expect(errorOf(res.body)).toMatchObject({ code: 'http_status', status: 503, attempts: 1 });
    }
    expect((await up.stats()).byPath['/down']).toBe(3);

    for (let i = 0; i < 2; i++) {
      const res = await request<AggregateBody>('/v1/x', env);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-aggregate-complete')).toBe('false');
      expect(res.body.data.under).toEqual({ fallback: true });
      expect(errorOf(res.body)).toMatchObject({ code: 'circuit_open', attempts: 0 });
    }
    expect((await up.stats()).byPath['/down']).toBe(3);
  });

  it('another Worker (another isolate) has its own breaker: its first request still reaches the upstream', async () => {
    const up = upstreamScope('worker-breaker-other');
    const env = { API_URL: up.base };
    const first = breakerWorker('/down', 60_000);
    for (let i = 0; i < 4; i++) await first.request('/v1/x', env);
    expect((await up.stats()).byPath['/down']).toBe(3);

    const second = breakerWorker('/down', 60_000);
    const res = await second.request<AggregateBody>('/v1/x', env);
    expect(errorOf(res.body)).toMatchObject({ code: 'http_status', status: 503, attempts: 1 });
    expect((await up.stats()).byPath['/down']).toBe(4);
  });

  it('after openMs the next request is the probe; its success closes the circuit for the requests after it', async () => {
    const up = upstreamScope('worker-breaker-probe');
    const { request } = breakerWorker('/flaky/k', 200, { fails: '3' });
    const env = { API_URL: up.base };
    for (let i = 0; i < 3; i++) expect(errorOf((await request<AggregateBody>('/v1/x', env)).body)?.status).toBe(503);
    expect(errorOf((await request<AggregateBody>('/v1/x', env)).body)?.code).toBe('circuit_open');
    await new Promise((r) => setTimeout(r, 300));

    const probe = await request<AggregateBody>('/v1/x', env);
    expect(probe.body.errors).toEqual([]);
    expect(probe.body.data.under).toMatchObject({ id: 'k', attempt: 4 });
    const after = await request<AggregateBody>('/v1/x', env);
    expect(after.body.data.under).toMatchObject({ attempt: 5 });
    expect((await up.stats()).byPath['/flaky/k']).toBe(5);
  });

  it('the retry budget is shared by the requests of the isolate: once spent, later requests are not retried', async () => {
    const up = upstreamScope('worker-budget');
    // No ratio, and a minimum of 0.2/s over the 10 s window: two retries in all.
    const { request } = testWorker({
      upstreams: {
        api: { baseUrl: '${API_URL}', timeoutMs: 1000, retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 40, budgetRatio: 0, budgetMinPerSecond: 0.2 } },
      },
      endpoints: [{ path: '/v1/x', deadlineMs: 3000, calls: { under: { upstream: 'api', path: '/down' } } }],
    });
    const env = { API_URL: up.base };
    const attempts: number[] = [];
    for (let i = 0; i < 3; i++) attempts.push(errorOf((await request<AggregateBody>('/v1/x', env)).body)?.attempts ?? -1);
    expect(attempts).toEqual([3, 1, 1]);
    // Per request, it would have been 9.
    expect((await up.stats()).byPath['/down']).toBe(5);
  });
});
