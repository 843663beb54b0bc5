import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cancelled } from '../../src/lib/errors.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { Engine, type AggregateResult } from '../../src/services/engine/index.ts';
import { fakeFetcher, json, type Handler } from './fake-fetcher.ts';
import { endpointOf, planOf } from './fixtures.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

type Upstream = TributaryConfigInput['upstreams'][string];
type Call = TributaryConfigInput['endpoints'][number]['calls'][string];

/** One endpoint with one call `a` to the upstream `u`; time comes from the faked Date. */
function setup(handler: Handler, upstream: Partial<Upstream> = {}, call: Partial<Call> = {}, deadlineMs = 5000) {
  const fake = fakeFetcher(handler);
  const plan = planOf({
    upstreams: { u: { baseUrl: 'http://u.test', timeoutMs: 1000, ...upstream } },
    endpoints: [{ path: '/x', deadlineMs, calls: { a: { upstream: 'u', path: '/a', ...call } } }],
  });
  const engine = new Engine(plan, fake.fetcher, { clock: () => Date.now() });
  const endpoint = endpointOf(plan);
  const run = (signal?: AbortSignal): Promise<AggregateResult> => engine.run(endpoint, { params: {}, query: {} }, signal);
  return { fake, engine, run };
}

/** Runs the request to its end, letting fake time pass as it needs. */
async function settle<T>(promise: Promise<T>, ms = 10_000): Promise<T> {
  await vi.advanceTimersByTimeAsync(ms);
  return promise;
}

const sequence = (...answers: (() => Response)[]): Handler => (call) => (answers[call.index] ?? answers[answers.length - 1] ?? (() => json('?')))();
const status = (code: number, headers: Record<string, string> = {}) => () => json({ error: code }, code, headers);
const ok = (value: unknown = 'ok') => () => json(value);

describe('retry', () => {
  it('answers with the third try when the first two get a 503', async () => {
    const { fake, run } = setup(sequence(status(503), status(503), ok('third')), { retry: {} });
    const result = await settle(run());
    expect(result.data.a).toBe('third');
    expect(result.errors).toEqual([]);
    expect(fake.calls).toHaveLength(3);
  });

  it('reports every request it sent in errors[].attempts when all of them fail', async () => {
    const { fake, run } = setup(status(503), { retry: { attempts: 3 } });
    const result = await settle(run());
    expect(result.errors).toMatchObject([{ call: 'a', code: 'http_status', status: 503, attempts: 3 }]);
    expect(fake.calls).toHaveLength(3);
  });

  it('never retries a POST unless the call says it is idempotent', async () => {
    const post = setup(status(503), { retry: {} }, { method: 'POST' });
    expect((await settle(post.run())).errors[0]?.attempts).toBe(1);
    expect(post.fake.calls).toHaveLength(1);
    const idempotent = setup(status(503), { retry: {} }, { method: 'POST', idempotent: true });
    expect((await settle(idempotent.run())).errors[0]?.attempts).toBe(3);
  });

  it('does not retry a 404, nor what its `on` list leaves out', async () => {
    const notFound = setup(status(404), { retry: {} });
    expect((await settle(notFound.run())).errors[0]?.attempts).toBe(1);
    const only429 = setup(status(503), { retry: { on: ['429'] } });
    expect((await settle(only429.run())).errors[0]?.attempts).toBe(1);
  });

  it('waits what Retry-After says, within maxBackoffMs', async () => {
    const { fake, run } = setup(sequence(status(429, { 'retry-after': '1' }), ok()), { retry: { maxBackoffMs: 2000 } });
    const result = run();
    await vi.advanceTimersByTimeAsync(999);
    expect(fake.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.calls).toHaveLength(2);
    expect((await result).data.a).toBe('ok');

    const capped = setup(sequence(status(503, { 'retry-after': '30' }), ok()), { retry: { maxBackoffMs: 200 } });
    const second = capped.run();
    await vi.advanceTimersByTimeAsync(200);
    expect(capped.fake.calls).toHaveLength(2);
    await second;
  });

  it('wakes from the backoff at once when the client leaves, and sends nothing more', async () => {
    const { fake, run } = setup(status(503), { retry: { backoffMs: 5000, maxBackoffMs: 5000 } }, {}, 60_000);
    vi.spyOn(Math, 'random').mockReturnValue(0.99);
    const client = new AbortController();
    const result = run(client.signal);
    await vi.advanceTimersByTimeAsync(10);
    expect(fake.calls).toHaveLength(1);
    client.abort(cancelled('the client went away'));
    const answer = await result; // no timer advance: the sleep must not hold it
    expect(answer.errors).toMatchObject([{ code: 'cancelled', attempts: 1 }]);
    expect(fake.calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
    vi.mocked(Math.random).mockRestore();
  });

  it('does not start a retry that could not finish before the deadline: the last error stands', async () => {
    // The calls get 95% of 300 ms; the first try times out at 200 ms, leaving less than a try needs.
    const { fake, run } = setup(() => 'hold', { retry: {}, timeoutMs: 200 }, {}, 300);
    const result = await settle(run(), 1000);
    expect(fake.calls).toHaveLength(1);
    expect(result.errors).toMatchObject([{ code: 'timeout', attempts: 1, message: 'a did not answer within 200 ms' }]);
  });

  it('sends no retry once the retry budget is spent', async () => {
    const { fake, run } = setup(status(503), { retry: { budgetRatio: 0, budgetMinPerSecond: 0 } });
    const result = await settle(run());
    expect(fake.calls).toHaveLength(1);
    expect(result.errors[0]?.attempts).toBe(1);
  });

  it('during a total outage the upstream sees at most (1 + ratio) x calls + the minimum', async () => {
    const { fake, run } = setup(status(503), { retry: { budgetRatio: 0.2, budgetMinPerSecond: 1 } });
    const calls = Array.from({ length: 100 }, () => run()); // 100 calls within 10 s: one window
    await settle(Promise.all(calls), 5000);
    // 100 first tries, 0.2 x 100 retries from the ratio, 1/s x 10 s from the minimum.
    expect(fake.calls.length).toBeLessThanOrEqual(100 + 20 + 10);
    expect(fake.calls.length).toBeGreaterThan(100);
  });
});

describe('circuit breaker', () => {
  const breaker = { failureRatio: 0.5, minimumRequests: 4, windowMs: 10_000, openMs: 5000, halfOpenRequests: 1 };

  it('opens once enough calls failed: the next fails at once with circuit_open, nothing sent, fallback applied', async () => {
    const { fake, run } = setup(status(503), { circuitBreaker: breaker }, { fallback: 'cached' });
    for (let i = 0; i < 4; i++) await settle(run(), 1);
    expect(fake.calls).toHaveLength(4);
    const result = await settle(run(), 1);
    expect(fake.calls).toHaveLength(4);
    expect(result.data.a).toBe('cached');
    expect(result.errors).toMatchObject([{ code: 'circuit_open', attempts: 0 }]);
    expect(result.errors[0]?.message).toMatch(/^a: the circuit to u is open \(4 of 4 calls failed/);
  });

  it('after openMs lets exactly one probe through, refuses the others at once, and closes when it succeeds', async () => {
    let healthy = false;
    let hold = false;
    const { fake, run } = setup(() => (hold ? 'hold' : healthy ? json('ok') : json({}, 503)), { circuitBreaker: breaker });
    for (let i = 0; i < 4; i++) await settle(run(), 1);
    await vi.advanceTimersByTimeAsync(5000);
    healthy = true;
    hold = true;
    const probe = run();
    await vi.advanceTimersByTimeAsync(1);
    const refused = await run(); // answers without any time passing: it does not wait for the probe
    expect(refused.errors).toMatchObject([{ code: 'circuit_open', attempts: 0 }]);
    expect(fake.calls).toHaveLength(5);
    fake.calls[4]?.respond(json('probe'));
    expect((await probe).data.a).toBe('probe');
    hold = false;
    expect((await settle(run(), 1)).data.a).toBe('ok');
  });

  it('a failed probe opens it again', async () => {
    const { fake, run } = setup(status(503), { circuitBreaker: breaker });
    for (let i = 0; i < 4; i++) await settle(run(), 1);
    await vi.advanceTimersByTimeAsync(5000);
    await settle(run(), 1);
    expect(fake.calls).toHaveLength(5);
    expect((await settle(run(), 1)).errors[0]?.code).toBe('circuit_open');
  });

  it('is not opened by 4xx answers, nor by calls the client cancelled', async () => {
    const notFound = setup(status(404), { circuitBreaker: breaker });
    for (let i = 0; i < 8; i++) await settle(notFound.run(), 1);
    expect((await settle(notFound.run(), 1)).errors[0]?.code).toBe('http_status');

    const held = setup(() => 'hold', { circuitBreaker: breaker });
    for (let i = 0; i < 8; i++) {
      const client = new AbortController();
      const result = held.run(client.signal);
      await vi.advanceTimersByTimeAsync(1);
      client.abort(cancelled('the client went away'));
      await result;
    }
    expect((await settle(held.run(), 2000)).errors[0]?.code).toBe('timeout');
    expect(held.fake.calls).toHaveLength(9);
  });

  it('a call that opts out goes through while the circuit is open', async () => {
    const plan = { circuitBreaker: breaker };
    const guarded = setup(status(503), plan);
    for (let i = 0; i < 4; i++) await settle(guarded.run(), 1);
    expect((await settle(guarded.run(), 1)).errors[0]?.code).toBe('circuit_open');
    const optedOut = setup(status(503), plan, { circuitBreaker: false });
    for (let i = 0; i < 6; i++) await settle(optedOut.run(), 1);
    expect(optedOut.fake.calls).toHaveLength(6);
  });

  it('retries stop when the breaker opens between them', async () => {
    const { fake, run } = setup(status(503), {
      retry: { attempts: 3 },
      circuitBreaker: { ...breaker, minimumRequests: 2, failureRatio: 1 },
    });
    const result = await settle(run());
    expect(fake.calls).toHaveLength(2);
    expect(result.errors).toMatchObject([{ code: 'circuit_open', attempts: 2 }]);
  });
});

describe('hedging', () => {
  it('sends a second request when the first has no headers after afterMs; the first answer wins, the other is aborted', async () => {
    const { fake, run } = setup((call) => (call.index === 0 ? 'hold' : json('hedge')), { hedge: { afterMs: 50 } });
    const result = run();
    await vi.advanceTimersByTimeAsync(49);
    expect(fake.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    const answer = await result;
    expect(fake.calls).toHaveLength(2);
    expect(answer.data.a).toBe('hedge');
    expect(answer.errors).toEqual([]);
    expect(fake.calls[0]?.signal.aborted).toBe(true);
    expect(fake.inFlight()).toBe(0);
    expect(fake.calls[1]?.headers.get('traceparent')).toBe(null); // no SDK: nothing to propagate
  });

  it('sends no hedge when the answer comes before afterMs', async () => {
    const { fake, run } = setup(ok(), { hedge: { afterMs: 50 } });
    await settle(run(), 100);
    expect(fake.calls).toHaveLength(1);
  });

  it('sends no hedge without a free bulkhead slot', async () => {
    const { fake, run } = setup(() => 'hold', { hedge: { afterMs: 50 }, maxConcurrency: 1, timeoutMs: 300 });
    const result = settle(run(), 1000);
    expect((await result).errors[0]?.code).toBe('timeout');
    expect(fake.calls).toHaveLength(1);
  });

  it('a failed first attempt waits for the hedge rather than failing the call', async () => {
    const { fake, run } = setup(() => 'hold', { hedge: { afterMs: 50 } });
    const result = run();
    await vi.advanceTimersByTimeAsync(50);
    expect(fake.calls).toHaveLength(2);
    fake.calls[0]?.respond(json({}, 503));
    await vi.advanceTimersByTimeAsync(1);
    fake.calls[1]?.respond(json('second'));
    const answer = await result;
    expect(answer.data.a).toBe('second');
  });

  it('on a percentile, hedges only once the window has samples, after about that percentile of recent latency', async () => {
    let slow = false;
    const { fake, run } = setup(
      () => (slow ? 'hold' : new Promise<Response>((r) => setTimeout(() => r(json('fast')), 10))),
      { hedge: { afterMs: 'p95' }, timeoutMs: 500 },
    );
    for (let i = 0; i < 19; i++) await settle(run(), 20);
    slow = true;
    // 19 samples: not enough to know the tail, so no hedge.
    const cold = run();
    await vi.advanceTimersByTimeAsync(400);
    expect(fake.calls).toHaveLength(20);
    fake.calls[19]?.respond(json('late'));
    await cold;
    // 20 samples of ~10 ms (and one of ~400 ms): p95 is about 10 ms.
    const warm = run();
    await vi.advanceTimersByTimeAsync(9);
    expect(fake.calls).toHaveLength(21);
    await vi.advanceTimersByTimeAsync(20);
    expect(fake.calls).toHaveLength(22);
    fake.calls[21]?.respond(json('hedge'));
    expect((await warm).data.a).toBe('hedge');
  });
});

describe("a request's connection cap (Workers: 6 waiting for headers)", () => {
  it('holds the extra fetch in its own queue, before its per-try timer starts, and reports the wait', async () => {
    const fake = fakeFetcher((c) => new Promise<Response>((r) => setTimeout(() => r(json(c.path)), 80)));
    const plan = planOf({
      upstreams: { u: { baseUrl: 'http://u.test', timeoutMs: 100 }, v: { baseUrl: 'http://v.test', timeoutMs: 100 } },
      endpoints: [{ path: '/x', calls: { a: { upstream: 'u', path: '/a' }, b: { upstream: 'v', path: '/b' }, c: { upstream: 'u', path: '/c' } } }],
    });
    const engine = new Engine(plan, fake.fetcher, { clock: () => Date.now(), maxConnections: 2 });
    const result = engine.run(endpointOf(plan), { params: {}, query: {} });
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.inFlight()).toBe(2);
    const answer = await settle(result, 500);
    expect(fake.peak()).toBe(2);
    // c waited 80 ms for a connection and then took 80 ms: over its 100 ms timeout in all, yet on time.
    expect(answer.errors).toEqual([]);
    expect(answer.data).toEqual({ a: '/a', b: '/b', c: '/c' });
    expect(answer.reports.find((r) => r.call === 'c')?.waitMs).toBeGreaterThanOrEqual(80);
  });
});

describe('the order of the stack: clamp, retry, breaker, bulkhead, per-try timeout, attempt', () => {
  it('a wait for the bulkhead does not eat the per-try timeout: the timer starts after the slot', async () => {
    const fake = fakeFetcher(() => new Promise<Response>((r) => setTimeout(() => r(json('ok')), 80)));
    const plan = planOf({
      upstreams: { u: { baseUrl: 'http://u.test', timeoutMs: 100, maxConcurrency: 1 } },
      endpoints: [{ path: '/x', calls: { a: { upstream: 'u', path: '/a' }, b: { upstream: 'u', path: '/b' } } }],
    });
    const engine = new Engine(plan, fake.fetcher, { clock: () => Date.now() });
    const result = await settle(engine.run(endpointOf(plan), { params: {}, query: {} }), 500);
    expect(result.errors).toEqual([]);
    expect(Math.max(...result.reports.map((r) => r.waitMs))).toBeGreaterThanOrEqual(80);
  });

  it('an open breaker refuses before the bulkhead: a full bulkhead queue does not turn it into rejected', async () => {
    const { fake, run } = setup(() => 'hold', {
      maxConcurrency: 1,
      maxQueue: 0,
      timeoutMs: 50,
      circuitBreaker: { failureRatio: 1, minimumRequests: 1, windowMs: 10_000, openMs: 60_000, halfOpenRequests: 1 },
    });
    expect((await settle(run(), 100)).errors[0]?.code).toBe('timeout');
    const result = await settle(run(), 1);
    expect(result.errors).toMatchObject([{ code: 'circuit_open', attempts: 0 }]);
    expect(fake.calls).toHaveLength(1);
  });

  it('the deadline clamp comes first: a retrying call with no time left fails at once, nothing sent', async () => {
    // 2 ms of deadline: the calls get 95% of it, under the 5 ms a call needs to start.
    const { fake, run } = setup(ok(), { retry: {} }, {}, 2);
    const late = await settle(run(), 10);
    expect(late.errors).toMatchObject([{ code: 'deadline_exceeded', attempts: 0 }]);
    expect(fake.calls).toHaveLength(0);
  });
});
