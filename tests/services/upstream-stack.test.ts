import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { monotonic } from '../../src/lib/clock.ts';
import { Deadline } from '../../src/lib/deadline.ts';
import { cancelled, TributaryError } from '../../src/lib/errors.ts';
import type { CompiledCall, CompiledUpstream } from '../../src/services/plan/types.ts';
import {
  buildCallStack,
  createBulkhead,
  silentObserver,
  type CallResult,
  type Fetcher,
  type FetchTimeout,
} from '../../src/services/upstream/index.ts';
import { fakeFetcher, json, streamed } from './fake-fetcher.ts';
import { upstreamOf } from './fixtures.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const deadlines: Deadline[] = [];
afterEach(() => {
  for (const d of deadlines.splice(0)) d.dispose();
});

interface Req {
  label: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal;
  deadline: Deadline;
}

function request(over: Partial<Req> = {}): Req {
  const deadline = over.deadline ?? Deadline.after(5000);
  deadlines.push(deadline);
  return {
    label: 'orders',
    method: 'GET',
    url: 'http://users.test/orders?user=42',
    headers: { accept: 'application/json' },
    timeoutMs: 1000,
    signal: deadline.signal,
    deadline,
    ...over,
  };
}

/** A plain call to `upstream`: no retry, hedge or breaker, so its stack is clamp, bulkhead, timeout, attempt. */
function plainCall(upstream: CompiledUpstream, timeoutMs: number, expectBody = true): CompiledCall {
  return {
    name: 'orders', upstream, method: 'GET', path: [], urlTemplate: '/orders', query: [], body: undefined, required: false, fallback: undefined,
    timeoutMs, each: undefined, maxItems: 1, expectBody, dependsOn: [], idempotent: true, retry: undefined, hedge: undefined, useBreaker: false,
  };
}

/** The stack of a plain call, with one bulkhead shared by every call made through it, as in the engine. */
function clientOf(upstream: CompiledUpstream, fetcher: Fetcher, options: { expectBody?: boolean } = {}) {
  const bulkhead = createBulkhead(upstream, monotonic);
  const health = { breaker: undefined, budget: undefined, latency: undefined };
  const send = (req: Req): Promise<CallResult> => {
    const stack = buildCallStack(plainCall(upstream, req.timeoutMs, options.expectBody ?? true), { fetcher, bulkhead, health, clock: monotonic });
    const { label, method, url, headers, body, signal, deadline } = req;
    return stack({ label, request: { method, url, headers, ...(body === undefined ? {} : { body }) }, signal, deadline, attempt: 0, observer: silentObserver });
  };
  return {
    bulkhead,
    send,
    /** The value, or the call's error thrown. */
    async call(req: Req): Promise<unknown> {
      const result = await send(req);
      if (!result.ok) throw result.error;
      return result.value;
    },
  };
}

/** The error a call rejected with (fails the test if it resolved). */
async function failure(promise: Promise<unknown>): Promise<TributaryError> {
  const result = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  expect(result.error).toBeInstanceOf(TributaryError);
  return result.error as TributaryError;
}

describe('Call stack: answers', () => {
  it('returns the parsed JSON and records the attempt', async () => {
    const fake = fakeFetcher(() => json({ id: 42 }));
    const client = clientOf(upstreamOf(), fake.fetcher);
    const req = request({ method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    await expect(client.send(req)).resolves.toMatchObject({ ok: true, value: { id: 42 }, attempts: 1, status: 200 });
    const [call] = fake.calls;
    expect(call?.method).toBe('POST');
    expect(call?.body).toBe('{"a":1}');
    expect(call?.headers.get('content-type')).toBe('application/json');
    expect(fake.allBodiesReleased()).toBe(true);
  });

  it('a 204 with no body is null', async () => {
    const fake = fakeFetcher(() => new Response(null, { status: 204 }));
    const client = clientOf(upstreamOf(), fake.fetcher);
    await expect(client.call(request())).resolves.toBeNull();
  });

  it('an empty 200 is invalid_response: the upstream should have sent data', async () => {
    const fake = fakeFetcher(() => new Response('', { status: 200 }));
    const error = await failure(clientOf(upstreamOf(), fake.fetcher).call(request()));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toBe('orders: users answered 200 with an empty body');
  });

  it('an empty 200 is null for a call that says it expects no body', async () => {
    const fake = fakeFetcher(() => new Response('', { status: 200 }));
    await expect(clientOf(upstreamOf(), fake.fetcher, { expectBody: false }).call(request())).resolves.toBeNull();
  });

  it('JSON nested deeper than maxJsonDepth is invalid_response; brackets inside strings do not count', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const fake = fakeFetcher((call) => new Response(call.index === 0 ? deep : JSON.stringify({ a: [[['[[[[[[[[']]] })));
    const client = clientOf(upstreamOf({ maxJsonDepth: 4 }), fake.fetcher);
    const error = await failure(client.call(request()));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toBe('orders: users sent JSON nested deeper than 4 levels');
    await expect(client.call(request())).resolves.toEqual({ a: [[['[[[[[[[[']]] });
  });

  it.each([500, 503, 404, 302])('status %i -> http_status with the status, body cancelled', async (status) => {
    const fake = fakeFetcher(() => json({ error: 'nope' }, status, status === 302 ? { location: 'http://evil.test/' } : {}));
    const client = clientOf(upstreamOf(), fake.fetcher);
    const error = await failure(client.call(request()));
    expect(error.code).toBe('http_status');
    expect(error.status).toBe(status);
    expect(error.message).toBe(`orders: users answered ${status}`);
    expect(fake.bodies[0]?.cancelled).toBe(true);
    // Redirects are not followed to another host.
    expect(fake.calls).toHaveLength(1);
  });

  it('invalid JSON -> invalid_response, body consumed', async () => {
    const fake = fakeFetcher(() => new Response('<html>oops</html>', { status: 200 }));
    const client = clientOf(upstreamOf(), fake.fetcher);
    const error = await failure(client.call(request()));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toBe('orders: users did not send valid JSON');
    expect(fake.allBodiesReleased()).toBe(true);
  });

  it('a streamed body over maxBodyBytes -> invalid_response, stream cancelled before the end', async () => {
    const fake = fakeFetcher(() => streamed(1024, 1000));
    const client = clientOf(upstreamOf({ maxBodyBytes: 4096 }), fake.fetcher);
    const error = await failure(client.call(request()));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toBe('orders: response body is larger than 4096 bytes');
    expect(fake.bodies[0]?.cancelled).toBe(true);
    expect(fake.bodies[0]?.drained).toBe(false);
    expect(fake.bodies[0]?.pulls).toBeLessThan(10);
  });

  it('a declared content-length over the limit is refused without reading the body', async () => {
    const fake = fakeFetcher(() => new Response('x'.repeat(100), { headers: { 'content-length': '2000000' } }));
    const client = clientOf(upstreamOf(), fake.fetcher);
    const error = await failure(client.call(request()));
    expect(error.code).toBe('invalid_response');
    expect(error.message).toContain('larger than 1048576 bytes');
    expect(fake.bodies[0]).toMatchObject({ cancelled: true, pulls: 0 });
  });

  it('a body at exactly the limit is accepted', async () => {
    const text = JSON.stringify('y'.repeat(98));
    expect(text.length).toBe(100);
    const fake = fakeFetcher(() => new Response(text));
    const client = clientOf(upstreamOf({ maxBodyBytes: 100 }), fake.fetcher);
    await expect(client.call(request())).resolves.toBe('y'.repeat(98));
  });
});

describe('Call stack: failures', () => {
  it('a TypeError from fetch -> network, with the cause code and no URL', async () => {
    const fake = fakeFetcher(() => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:80'), { code: 'ECONNREFUSED' }) });
    });
    const client = clientOf(upstreamOf(), fake.fetcher);
    const error = await failure(client.call(request()));
    expect(error.code).toBe('network');
    expect(error.message).toBe('orders: could not reach users (ECONNREFUSED)');
  });

  it('a body that breaks mid-stream -> network', async () => {
    let pulled = 0;
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled++ === 0) controller.enqueue(new TextEncoder().encode('{"a":'));
        else controller.error(Object.assign(new Error('other side closed'), { code: 'ECONNRESET' }));
      },
    });
    const fake = fakeFetcher(() => new Response(broken));
    const client = clientOf(upstreamOf(), fake.fetcher);
    const error = await failure(client.call(request()));
    expect(error.code).toBe('network');
    expect(error.message).toContain('ECONNRESET');
  });

  it('per-try timeout -> timeout "<call> did not answer within N ms", and the fetch is aborted', async () => {
    const fake = fakeFetcher();
    const client = clientOf(upstreamOf(), fake.fetcher);
    const promise = failure(client.call(request({ timeoutMs: 100 })));
    await vi.advanceTimersByTimeAsync(99);
    expect(fake.calls[0]?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await promise;
    expect(error.code).toBe('timeout');
    expect(error.message).toBe('orders did not answer within 100 ms');
    expect(fake.calls[0]?.signal.aborted).toBe(true);
    expect(fake.calls[0]?.abortReason).toBe(error);
    expect(vi.getTimerCount()).toBe(1); // only the test's own deadline timer is left
  });

  it('a fetcher that answers something unusable fails the call instead of leaving it unsettled', async () => {
    const answers: unknown[] = [
      undefined, // no response at all
      { status: 200, headers: { get: () => null }, body: { readAll: async () => 'not bytes', cancel: async () => {} } },
      { status: 503, headers: { get: () => { throw new Error('broken headers'); } }, body: { cancel: async () => {} } },
    ];
    for (const answer of answers) {
      const fetcher = (() => Promise.resolve(answer)) as unknown as Fetcher;
      const client = clientOf(upstreamOf(), fetcher);
      const result = await client.send(request());
      expect(result.ok).toBe(false);
      expect(client.bulkhead.running).toBe(0);
    }
  });

  it("what the observer throws when an attempt ends rejects the call, on success and on failure alike", async () => {
    const boom = new Error('observer bug');
    const observer = { ...silentObserver, attempt: () => () => { throw boom; } };
    for (const status of [200, 500]) {
      const fake = fakeFetcher(() => json({ a: 1 }, status));
      const req = request();
      const stack = buildCallStack(plainCall(upstreamOf(), 1000), { fetcher: fake.fetcher, bulkhead: createBulkhead(upstreamOf(), monotonic), health: { breaker: undefined, budget: undefined, latency: undefined }, clock: monotonic });
      await expect(stack({ label: 'orders', request: { method: 'GET', url: req.url, headers: req.headers }, signal: req.signal, deadline: req.deadline, attempt: 0, observer })).rejects.toBe(boom);
    }
  });

  /**
   * A fetcher that keeps the timeout itself, as the Node transport does (or, `keeps: false`, one
   * that does not): it records what it was given and fails a held call with the timeout's reason.
   */
  function timeoutKeeper(keeps: boolean) {
    const seen: { timeout: FetchTimeout | undefined; signal: AbortSignal }[] = [];
    const send = (_url: string, init: Parameters<Fetcher>[1]) =>
      new Promise<never>((_resolve, reject) => {
        seen.push({ timeout: init.timeout, signal: init.signal });
        const timer = init.timeout ? setTimeout(() => reject(init.timeout?.reason()), init.timeout.ms) : undefined;
        init.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(init.signal.reason);
        });
      });
    return { fetcher: keeps ? Object.assign(send, { keepsTimeouts: true }) : send, seen };
  }

  it('a fetcher that keeps timeouts is handed the per-try timeout, and the call fails with its reason', async () => {
    const keeper = timeoutKeeper(true);
    const client = clientOf(upstreamOf(), keeper.fetcher);
    const req = request({ timeoutMs: 100 });
    const promise = failure(client.call(req));
    await vi.advanceTimersByTimeAsync(0);
    // The caller's own signal, not one of the layer's: the layer armed no timer.
    expect(keeper.seen[0]?.timeout?.ms).toBe(100);
    expect(keeper.seen[0]?.signal).toBe(req.signal);
    expect(vi.getTimerCount()).toBe(2); // the test's deadline and the fetcher's timeout
    await vi.advanceTimersByTimeAsync(100);
    const error = await promise;
    expect(error.code).toBe('timeout');
    expect(error.message).toBe('orders did not answer within 100 ms');
    expect(req.signal.aborted).toBe(false);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('a fetcher that keeps timeouts gets none when the deadline is nearer; one that does not never gets one', async () => {
    const keeper = timeoutKeeper(true);
    const deadline = Deadline.after(200);
    const near = failure(clientOf(upstreamOf(), keeper.fetcher).call(request({ deadline, signal: deadline.signal, timeoutMs: 1000 })));
    await vi.advanceTimersByTimeAsync(0);
    expect(keeper.seen[0]?.timeout).toBeUndefined();
    await vi.advanceTimersByTimeAsync(200);
    expect((await near).code).toBe('deadline_exceeded');

    const plain = timeoutKeeper(false);
    const timedOut = failure(clientOf(upstreamOf(), plain.fetcher).call(request({ timeoutMs: 100 })));
    await vi.advanceTimersByTimeAsync(0);
    expect(plain.seen[0]?.timeout).toBeUndefined();
    await vi.advanceTimersByTimeAsync(100);
    const error = await timedOut;
    expect(error.message).toBe('orders did not answer within 100 ms');
    expect(plain.seen[0]?.signal.reason).toBe(error);
  });

  it('the deadline, when nearer than the timeout, ends the call as deadline_exceeded', async () => {
    const fake = fakeFetcher();
    const client = clientOf(upstreamOf(), fake.fetcher);
    const deadline = Deadline.after(200);
    const promise = failure(client.call(request({ deadline, signal: deadline.signal, timeoutMs: 1000 })));
    await vi.advanceTimersByTimeAsync(200);
    const error = await promise;
    expect(error.code).toBe('deadline_exceeded');
    expect(error.message).toBe("orders did not finish within the request's deadline");
    expect(fake.calls[0]?.signal.aborted).toBe(true);
  });

  it('too little budget left: deadline_exceeded without calling', async () => {
    const fake = fakeFetcher(() => json({}));
    const client = clientOf(upstreamOf(), fake.fetcher);
    const deadline = Deadline.after(3);
    const error = await failure(client.call(request({ deadline, signal: deadline.signal })));
    expect(error.code).toBe('deadline_exceeded');
    expect(error.message).toMatch(/orders was not started/);
    expect(fake.calls).toHaveLength(0);
  });

  it("a caller's cancel aborts the fetch with the caller's reason, not a timeout", async () => {
    const fake = fakeFetcher();
    const client = clientOf(upstreamOf(), fake.fetcher);
    const controller = new AbortController();
    const promise = failure(client.call(request({ signal: controller.signal })));
    await vi.advanceTimersByTimeAsync(10);
    const reason = cancelled('the client went away');
    controller.abort(reason);
    const error = await promise;
    expect(error).toBe(reason);
    expect(fake.calls[0]?.signal.aborted).toBe(true);
  });

  it('a foreign throw (a body getter that throws) still becomes a TributaryError', async () => {
    const client = clientOf(upstreamOf(), async () => {
      const response = new Response('{}');
      Object.defineProperty(response, 'body', {
        get() {
          throw new Error('boom');
        },
      });
      return response;
    });
    const error = await failure(client.call(request()));
    expect(error.code).toBe('network');
    expect(error.message).toBe('orders: could not reach users');
  });
});

describe('Call stack: bulkhead', () => {
  it('never has more than maxConcurrency calls in flight; queued calls run in order', async () => {
    const fake = fakeFetcher();
    const client = clientOf(upstreamOf({ maxConcurrency: 2 }), fake.fetcher);
    const results = Array.from({ length: 5 }, (_, i) => client.call(request({ url: `http://users.test/n/${i}` })));
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls.map((c) => c.path)).toEqual(['/n/0', '/n/1']);
    expect(client.bulkhead.waiting).toBe(3);
    for (let i = 0; i < 5; i++) {
      fake.calls[i]?.respond(json(i));
      await vi.advanceTimersByTimeAsync(0);
    }
    await expect(Promise.all(results)).resolves.toEqual([0, 1, 2, 3, 4]);
    expect(fake.calls.map((c) => c.path)).toEqual(['/n/0', '/n/1', '/n/2', '/n/3', '/n/4']);
    expect(fake.peak()).toBe(2);
  });

  it('the permit is released only once the body has been read', async () => {
    let finishBody!: () => void;
    const slowBody = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"slow":'));
        finishBody = () => {
          controller.enqueue(new TextEncoder().encode('true}'));
          controller.close();
        };
      },
    });
    const fake = fakeFetcher((call) => (call.index === 0 ? new Response(slowBody) : json({ fast: true })));
    const client = clientOf(upstreamOf({ maxConcurrency: 1 }), fake.fetcher);
    const first = client.call(request());
    const second = client.call(request());
    await vi.advanceTimersByTimeAsync(0);
    // Headers arrived for the first call, its body has not: the second still waits.
    expect(fake.calls).toHaveLength(1);
    finishBody();
    await expect(first).resolves.toEqual({ slow: true });
    await expect(second).resolves.toEqual({ fast: true });
    expect(fake.calls).toHaveLength(2);
  });

  it('a full queue rejects at once with code rejected, without calling', async () => {
    const fake = fakeFetcher();
    const client = clientOf(upstreamOf({ maxConcurrency: 1, maxQueue: 1 }), fake.fetcher);
    const running = client.call(request());
    const queued = client.call(request());
    const error = await failure(client.call(request({ label: 'third' })));
    expect(error.code).toBe('rejected');
    expect(error.message).toMatch(/upstream users is at capacity \(1 running, 1 waiting\)/);
    expect(fake.calls).toHaveLength(1);
    fake.calls[0]?.respond(json(1));
    await vi.advanceTimersByTimeAsync(0);
    fake.calls[1]?.respond(json(2));
    await expect(Promise.all([running, queued])).resolves.toEqual([1, 2]);
  });

  it('maxQueueWaitMs bounds the wait for a slot', async () => {
    const fake = fakeFetcher();
    const client = clientOf(upstreamOf({ maxConcurrency: 1, maxQueueWaitMs: 50 }), fake.fetcher);
    const running = client.call(request());
    const waiting = failure(client.call(request()));
    await vi.advanceTimersByTimeAsync(50);
    const error = await waiting;
    expect(error.code).toBe('rejected');
    expect(error.message).toMatch(/no slot within 50 ms/);
    fake.calls[0]?.respond(json(1));
    await expect(running).resolves.toBe(1);
    expect(fake.calls).toHaveLength(1);
  });

  it('an aborted waiter leaves the queue at once and never reaches the upstream', async () => {
    const fake = fakeFetcher();
    const client = clientOf(upstreamOf({ maxConcurrency: 1 }), fake.fetcher);
    const controller = new AbortController();
    const running = client.call(request());
    const leaving = failure(client.call(request({ signal: controller.signal })));
    const next = client.call(request({ url: 'http://users.test/next' }));
    await vi.advanceTimersByTimeAsync(0);
    controller.abort(cancelled('client left'));
    expect((await leaving).code).toBe('cancelled');
    expect(client.bulkhead.waiting).toBe(1);
    fake.calls[0]?.respond(json(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls.map((c) => c.path)).toEqual(['/orders', '/next']);
    fake.calls[1]?.respond(json(2));
    await expect(Promise.all([running, next])).resolves.toEqual([1, 2]);
  });

  it('the permit is released after every kind of failure', async () => {
    const answers = [
      () => json({}, 500),
      () => new Response('not json'),
      () => streamed(1024, 100),
      () => {
        throw new TypeError('fetch failed');
      },
    ];
    const fake = fakeFetcher((call) => (answers[call.index] ?? (() => json('ok')))());
    const client = clientOf(upstreamOf({ maxConcurrency: 1, maxBodyBytes: 2048 }), fake.fetcher);
    const results = await Promise.allSettled(answers.map(() => client.call(request())));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(client.bulkhead.running).toBe(0);
    await expect(client.call(request())).resolves.toBe('ok');
    expect(fake.allBodiesReleased()).toBe(true);
  });
});
