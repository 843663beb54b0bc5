import { describe, expect, it } from 'vitest';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { call, eventually, expectAggregateShape, gateway, upstreamScope, type ErrorEntry } from './harness.ts';

/**
 * Retries, the circuit breaker and hedging against the real loopback upstream, in Node and in
 * workerd. Each test builds one app and sends every request through it, so state that outlives a
 * request (the breaker, the retry budget) is the app's, in both runtimes.
 */

type Upstream = TributaryConfigInput['upstreams'][string];
type Call = TributaryConfigInput['endpoints'][number]['calls'][string];

/** Small backoffs: a retry test should not sleep for real. */
const quickRetry = { attempts: 3, backoffMs: 10, maxBackoffMs: 40 };

/** An endpoint `/v1/x` with the call `under` to the upstream `u`, and `ok` to a healthy upstream. */
function oneCall(base: string, under: Partial<Call>, upstream: Partial<Upstream> = {}) {
  return gateway({
    upstreams: { u: { baseUrl: base, timeoutMs: 1000, ...upstream }, healthy: { baseUrl: base } },
    endpoints: [
      {
        path: '/v1/x',
        deadlineMs: 4000,
        calls: { ok: { upstream: 'healthy', path: '/json/ok' }, under: { upstream: 'u', path: '/json/under', ...under } as Call },
      },
    ],
  });
}

const errorOf = (errors: ErrorEntry[], name: string): ErrorEntry | undefined => errors.find((e) => e.call === name);

describe('retries against a real upstream', () => {
  it('a flaky upstream (the first two tries fail) is answered on the third: complete, 3 requests sent', async () => {
    const up = upstreamScope('flaky');
    const gw = oneCall(up.base, { path: '/flaky/k', query: { fails: '2' } }, { retry: quickRetry });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('true');
    expectAggregateShape(res.body);
    expect(res.body.meta.complete).toBe(true);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.under).toMatchObject({ id: 'k', attempt: 3 });
    expect((await up.stats()).byPath['/flaky/k']).toBe(3);
  });

  it('`each` over a flaky upstream: every key is answered after its own two failures', async () => {
    const up = upstreamScope('flaky-each');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 1000, retry: quickRetry } },
      endpoints: [
        {
          path: '/v1/keys',
          deadlineMs: 4000,
          input: { query: { keys: { type: 'array', items: { type: 'string' }, required: true } } },
          calls: { items: { upstream: 'u', path: '/flaky/{item}', query: { fails: '2' }, each: '{query.keys}' } },
        },
      ],
    });
    const res = await call(gw, '/v1/keys?keys=a,b,c');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.items.map((i: { id: string; attempt: number }) => [i.id, i.attempt])).toEqual([
      ['a', 3],
      ['b', 3],
      ['c', 3],
    ]);
    expect((await up.stats()).byPath).toEqual({ '/flaky/a': 3, '/flaky/b': 3, '/flaky/c': 3 });
  });

  it('a total outage: errors[].attempts is 3 and the upstream saw exactly 3 requests', async () => {
    const up = upstreamScope('outage');
    const gw = oneCall(up.base, { path: '/down', fallback: { down: true } }, { retry: quickRetry });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(res.body.data.under).toEqual({ down: true });
    expect(res.body.data.ok.id).toBe('ok');
    expect(res.body.errors).toEqual([
      { call: 'under', upstream: 'u', code: 'http_status', status: 503, message: expect.any(String), attempts: 3 },
    ]);
    const stats = await up.stats();
    expect(stats.byPath['/down']).toBe(3);
    expect(stats.inFlight).toBe(0);
  });

  it('a required call during an outage answers 502 after its retries, with attempts 3', async () => {
    const up = upstreamScope('outage-required');
    const gw = oneCall(up.base, { path: '/down', required: true }, { retry: quickRetry });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(502);
    expectAggregateShape(res.body);
    expect(errorOf(res.body.errors, 'under')).toMatchObject({ code: 'http_status', status: 503, attempts: 3 });
    expect((await up.stats()).byPath['/down']).toBe(3);
  });

  it('with the retry budget spent (ratio 0, no minimum) the upstream sees one request per client call', async () => {
    const up = upstreamScope('budget');
    const gw = oneCall(up.base, { path: '/down' }, { retry: { ...quickRetry, budgetRatio: 0, budgetMinPerSecond: 0 } });
    for (let i = 1; i <= 4; i++) {
      const res = await call(gw, '/v1/x');
      expect(res.status).toBe(200);
      expect(errorOf(res.body.errors, 'under')).toMatchObject({ code: 'http_status', status: 503, attempts: 1 });
      expect((await up.stats()).byPath['/down']).toBe(i);
    }
  });

  it('during a total outage with budgetRatio 0.2 the upstream sees at most 1.2x the calls, never 3x', async () => {
    const up = upstreamScope('outage-budget');
    const gw = oneCall(up.base, { path: '/down' }, { retry: { ...quickRetry, budgetRatio: 0.2, budgetMinPerSecond: 0 } });
    let attempts = 0;
    for (let i = 0; i < 10; i++) attempts += errorOf((await call(gw, '/v1/x')).body.errors, 'under')?.attempts ?? 0;
    const sent = (await up.stats()).byPath['/down'];
    expect(sent).toBe(attempts);
    expect(sent).toBeGreaterThan(10);
    expect(sent).toBeLessThanOrEqual(12);
  });

  it('a POST is not retried; the same POST marked idempotent is', async () => {
    const up = upstreamScope('post');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 1000, retry: quickRetry } },
      endpoints: [
        {
          path: '/v1/post',
          deadlineMs: 4000,
          calls: {
            plain: { upstream: 'u', method: 'POST', path: '/down/plain', body: { a: 1 } },
            safe: { upstream: 'u', method: 'POST', path: '/down/safe', body: { a: 1 }, idempotent: true },
          },
        },
      ],
    });
    const res = await call(gw, '/v1/post');
    expect(res.status).toBe(200);
    expect(errorOf(res.body.errors, 'plain')).toMatchObject({ code: 'http_status', status: 503, attempts: 1 });
    expect(errorOf(res.body.errors, 'safe')).toMatchObject({ code: 'http_status', status: 503, attempts: 3 });
    expect((await up.stats()).byPath).toEqual({ '/down/plain': 1, '/down/safe': 3 });
  });

  it('a 429 with Retry-After: 1 is retried after about a second, and then answered', async () => {
    const up = upstreamScope('retry-after');
    // The backoff alone would be at most 40 ms; only the header can make it wait a second.
    const gw = oneCall(up.base, { path: '/ratelimited/k', query: { fails: '1', retryAfter: '1' } }, { retry: { ...quickRetry, maxBackoffMs: 2000 } });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.under).toMatchObject({ id: 'k', attempt: 2 });
    const [first, second] = (await up.stats()).log.filter((e) => e.path.includes('/ratelimited/'));
    expect(first?.endedAt).toBeDefined();
    // Server clock: the retry came about a second after the 429 went out (generous bounds).
    const gap = (second?.startedAt as number) - (first?.endedAt as number);
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(3000);
    expect(res.ms).toBeGreaterThanOrEqual(900);
  });

  it('a Retry-After longer than maxBackoffMs is cut to maxBackoffMs', async () => {
    const up = upstreamScope('retry-after-cap');
    const gw = oneCall(up.base, { path: '/ratelimited/k', query: { fails: '1', retryAfter: '30' } }, { retry: { ...quickRetry, maxBackoffMs: 100 } });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.body.data.under).toMatchObject({ attempt: 2 });
    // Far below the 30 s the upstream asked for.
    expect(res.ms).toBeLessThan(3000);
  });
});

describe('the circuit breaker against a real upstream', () => {
  /** Opens after 3 failed calls out of at least 3; a probe after `openMs`. */
  const breaker = (openMs: number) => ({ failureRatio: 0.5, minimumRequests: 3, windowMs: 10_000, openMs, halfOpenRequests: 1 });

  it('after minimumRequests failures the next call answers circuit_open, attempts 0, nothing sent, fallback applied', async () => {
    const up = upstreamScope('breaker');
    const gw = oneCall(up.base, { path: '/down', fallback: [] }, { circuitBreaker: breaker(60_000) });
    for (let i = 0; i < 3; i++) {
      const res = await call(gw, '/v1/x');
      expect(errorOf(res.body.errors, 'under')).toMatchObject({ code: 'http_status', status: 503, attempts: 1 });
    }
    expect((await up.stats()).byPath['/down']).toBe(3);

    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(res.body.data.under).toEqual([]);
    expect(res.body.data.ok.id).toBe('ok');
    expect(res.body.errors).toEqual([
      { call: 'under', upstream: 'u', code: 'circuit_open', message: expect.stringContaining('open'), attempts: 0 },
    ]);
    const stats = await up.stats();
    expect(stats.byPath['/down']).toBe(3);
    // The healthy upstream was called every time.
    expect(stats.byPath['/json/ok']).toBe(4);
  });

  it('an open circuit on a required call answers 502 at once, without calling', async () => {
    const up = upstreamScope('breaker-required');
    const gw = oneCall(up.base, { path: '/down', required: true }, { circuitBreaker: breaker(60_000) });
    for (let i = 0; i < 3; i++) expect((await call(gw, '/v1/x')).status).toBe(502);
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(502);
    expectAggregateShape(res.body);
    expect(errorOf(res.body.errors, 'under')).toMatchObject({ code: 'circuit_open', attempts: 0 });
    expect((await up.stats()).byPath['/down']).toBe(3);
  });

  it('after openMs exactly one probe reaches the upstream, a concurrent call is refused, and the probe\'s success closes it', async () => {
    const up = upstreamScope('breaker-probe');
    // The first three fail, the rest answer; each takes 250 ms so the probe is still out when
    // the second call arrives.
    const gw = oneCall(up.base, { path: '/flaky/k', query: { fails: '3', delay: '250' } }, { circuitBreaker: breaker(200) });
    for (let i = 0; i < 3; i++) expect(errorOf((await call(gw, '/v1/x')).body.errors, 'under')?.status).toBe(503);
    expect(errorOf((await call(gw, '/v1/x')).body.errors, 'under')?.code).toBe('circuit_open');
    await new Promise((r) => setTimeout(r, 300));

    const probe = call(gw, '/v1/x');
    await eventually(async () => (await up.stats()).byPath['/flaky/k'] === 4);
    const refused = await call(gw, '/v1/x');
    expect(errorOf(refused.body.errors, 'under')).toMatchObject({ code: 'circuit_open', attempts: 0 });
    const probed = await probe;
    expect(probed.body.errors).toEqual([]);
    expect(probed.body.data.under).toMatchObject({ attempt: 4 });

    // Closed again: calls reach the upstream.
    const after = await call(gw, '/v1/x');
    expect(after.body.errors).toEqual([]);
    expect(after.body.data.under).toMatchObject({ attempt: 5 });
    expect((await up.stats()).byPath['/flaky/k']).toBe(5);
  });

  it('4xx answers other than 429 do not open it', async () => {
    const up = upstreamScope('breaker-4xx');
    const gw = oneCall(up.base, { path: '/down', query: { status: '404' } }, { circuitBreaker: breaker(60_000) });
    for (let i = 0; i < 5; i++) {
      expect(errorOf((await call(gw, '/v1/x')).body.errors, 'under')).toMatchObject({ code: 'http_status', status: 404, attempts: 1 });
    }
    expect((await up.stats()).byPath['/down']).toBe(5);
  });
});

describe('hedging against a real upstream', () => {
  it('a slow first request is hedged after afterMs: the fast hedge answers, the slow one is aborted', async () => {
    const up = upstreamScope('hedge');
    // Only the first request of the key is slow (2 s); a hedge goes out after 50 ms.
    const gw = oneCall(up.base, { path: '/slowtail/k', query: { every: '1000', ms: '2000' } }, { timeoutMs: 3000, hedge: { afterMs: 50, maxExtra: 1 } });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.under).toMatchObject({ id: 'k', attempt: 2, slow: false });
    // Well before the slow answer would have come.
    expect(res.ms).toBeLessThan(1500);
    await eventually(async () => (await up.stats()).inFlight === 0);
    const stats = await up.stats();
    expect(stats.byPath['/slowtail/k']).toBe(2);
    expect(stats.aborted).toBe(1);
  });

  it('no hedge is sent when the first answer comes before afterMs', async () => {
    const up = upstreamScope('hedge-none');
    const gw = oneCall(up.base, {}, { timeoutMs: 3000, hedge: { afterMs: 800, maxExtra: 1 } });
    for (let i = 0; i < 3; i++) expect((await call(gw, '/v1/x')).body.errors).toEqual([]);
    const stats = await up.stats();
    expect(stats.byPath['/json/under']).toBe(3);
    expect(stats.aborted).toBe(0);
  });

  // Product bug: src/services/upstream/hedge.ts spends the budget token (budget.tryRetry()) and
  // counts the hedge (observer.hedge -> tributary.upstream.hedges, "Hedged requests sent") before
  // the bulkhead layer below finds no free slot and refuses it with `rejected`, attempts 0. A
  // hedge that never went out uses up the budget of one that could have. Remove `.fails` once fixed.
  it('a hedge that found no free bulkhead slot was never sent, so it spends no retry budget', async () => {
    const up = upstreamScope('hedge-no-slot');
    // A budget of exactly one retry or hedge per 10 s window (no ratio, 0.1/s); no retries.
    const gw = gateway({
      upstreams: {
        u: {
          baseUrl: up.base,
          timeoutMs: 2000,
          maxConcurrency: 2,
          retry: { attempts: 1, budgetRatio: 0, budgetMinPerSecond: 0.1 },
          hedge: { afterMs: 50, maxExtra: 1 },
        },
      },
      endpoints: [
        {
          path: '/v1/busy',
          deadlineMs: 3000,
          calls: {
            hold: { upstream: 'u', path: '/delay/300/hold', hedge: false },
            tail: { upstream: 'u', path: '/slowtail/first', query: { every: '1000', ms: '300' } },
          },
        },
        { path: '/v1/tail', deadlineMs: 3000, calls: { tail: { upstream: 'u', path: '/slowtail/second', query: { every: '1000', ms: '600' } } } },
      ],
    });
    // Both slots are taken when `tail` would hedge: no slot, no hedge.
    const busy = await call(gw, '/v1/busy');
    expect(busy.body.errors).toEqual([]);
    expect((await up.stats()).byPath['/slowtail/first']).toBe(1);

    // Slots are free now and the one budget token was never used on the wire: this call hedges.
    const res = await call(gw, '/v1/tail');
    expect(res.body.errors).toEqual([]);
    expect((await up.stats()).byPath['/slowtail/second']).toBe(2);
    expect(res.body.data.tail).toMatchObject({ slow: false });
  });
});
