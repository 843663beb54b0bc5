import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { abandon, bulkheads, eventually, startGateway, type RunningGateway } from './gateway-server.ts';

let upstream: Upstream;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await upstream.close();
});

/** The real setTimeout, for the test's own waits while the tracker is installed. */
const realSetTimeout = globalThis.setTimeout;
const sleep = (ms: number): Promise<void> => new Promise((r) => realSetTimeout(r, ms));

interface TrackedTimer {
  ms: number;
  state: 'pending' | 'fired' | 'cleared';
  handle: ReturnType<typeof setTimeout>;
  stack: string;
}

/**
 * Records every timer armed through the global setTimeout while installed, and whether it
 * fired or was cleared. A timer still pending and keeping the process alive (`hasRef`) once
 * a request is over is a leak; unref'd ones (undici's coarse clock) are not the gateway's.
 */
function trackTimers() {
  const realClear = globalThis.clearTimeout;
  const timers: TrackedTimer[] = [];
  const byHandle = new Map<unknown, TrackedTimer>();
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const entry = { ms: Number(ms ?? 0), state: 'pending', stack: new Error('armed here').stack ?? '' } as TrackedTimer;
    entry.handle = realSetTimeout(
      (...a: unknown[]) => {
        entry.state = 'fired';
        fn(...a);
      },
      ms,
      ...args,
    );
    timers.push(entry);
    byHandle.set(entry.handle, entry);
    return entry.handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle: Parameters<typeof clearTimeout>[0]) => {
    const entry = byHandle.get(handle);
    if (entry?.state === 'pending') entry.state = 'cleared';
    realClear(handle);
  }) as typeof clearTimeout;
  return {
    timers,
    /** Pending, ref'd timers of at least `minMs`: what would keep running after a request. */
    live: (minMs = 50): TrackedTimer[] =>
      timers.filter((t) => t.state === 'pending' && t.ms >= minMs && (t.handle as { hasRef?: () => boolean }).hasRef?.() !== false),
    restore: (): void => {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClear;
    },
  };
}

describe('retries over real sockets', () => {
  it('a client that leaves during the retry backoff: the sleep ends at once, nothing more is sent, nothing leaks', async () => {
    const scope = 'leave-during-backoff';
    const incoming: Request[] = [];
    const gw = await startGateway(
      {
        // The per-try timeout (1500) differs from the backoff (1000) so the backoff timer is known by its delay.
        upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 1500, retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 2000 } } },
        endpoints: [{ path: '/v1/retry', deadlineMs: 5000, calls: { under: { upstream: 'u', path: '/down', query: { retryAfter: '1' } } } }],
      },
      { onRequest: (request) => void incoming.push(request) },
    );
    gateways.push(gw);
    const tracker = trackTimers();
    try {
      const client = abandon(`${gw.url}/v1/retry`);
      // The first try got its 503 with Retry-After: 1; the gateway now sleeps a second.
      await eventually(() => upstream.stats(scope).completed === 1);
      await eventually(() => tracker.live().some((t) => t.ms === 1000));
      const backoff = tracker.live().find((t) => t.ms === 1000) as TrackedTimer;

      client.controller.abort();
      await client.done;
      // The backoff timer is cleared, not left to fire: the sleep woke at once.
      await eventually(() => backoff.state !== 'pending', 800);
      expect(backoff.state).toBe('cleared');
      // Every timer the request armed (deadline, per-try timeout, backoff) is gone.
      await eventually(() => tracker.live().length === 0, 800);
      expect(tracker.live().map((t) => `${t.ms} ms ${t.stack}`)).toEqual([]);
    } finally {
      tracker.restore();
    }

    expect(incoming).toHaveLength(1);
    const signal = (incoming[0] as Request).signal;
    expect(signal.aborted).toBe(true);
    // The engine removed every abort listener it added to the request's signal.
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });
    expect(gw.faults).toEqual([]);

    // Past the moment the retry would have gone out: still one request.
    await sleep(1200);
    const stats = upstream.stats(scope);
    expect(stats.byPath).toEqual({ '/down': 1 });
    expect(stats.inFlight).toBe(0);
  });

  it('a flaky upstream through the Node transport: answered on the third try, each failed answer freed its connection', async () => {
    const scope = 'flaky-node';
    const gw = await startGateway(
      {
        upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, maxConcurrency: 1, retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 40 } } },
        endpoints: [{ path: '/v1/flaky/:key', deadlineMs: 3000, calls: { under: { upstream: 'u', path: '/flaky/{params.key}', query: { fails: '2' } } } }],
      },
      // One connection for the origin: a failed attempt whose body were not freed would block the retry.
      { poolFromBulkheads: true },
    );
    gateways.push(gw);
    for (const key of ['a', 'b']) {
      const res = await fetch(`${gw.url}/v1/flaky/${key}`);
      const body = (await res.json()) as { data: { under: { attempt: number } }; errors: unknown[] };
      expect(res.status).toBe(200);
      expect(res.headers.get('x-aggregate-complete')).toBe('true');
      expect(body.errors).toEqual([]);
      expect(body.data.under.attempt).toBe(3);
    }
    const stats = upstream.stats(scope);
    expect(stats.byPath).toEqual({ '/flaky/a': 3, '/flaky/b': 3 });
    expect(stats.peakInFlight).toBe(1);
    expect(stats.aborted).toBe(0);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });
  });
});

describe('hedging over real sockets', () => {
  it('the losing attempt is aborted and frees its socket: nothing left in flight, the pool serves two calls at once again', async () => {
    const scope = 'hedge-socket';
    const gw = await startGateway(
      {
        upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 4000, maxConcurrency: 2, hedge: { afterMs: 50, maxExtra: 1 } } },
        endpoints: [
          // Only the first request of the key is slow (3 s).
          { path: '/v1/hedged', deadlineMs: 5000, calls: { one: { upstream: 'u', path: '/slowtail/k', query: { every: '1000', ms: '3000' } } } },
          {
            path: '/v1/pair',
            deadlineMs: 5000,
            calls: {
              a: { upstream: 'u', path: '/delay/200/a', hedge: false },
              b: { upstream: 'u', path: '/delay/200/b', hedge: false },
            },
          },
        ],
      },
      // Two connections for the origin (the bulkhead), as in production: a socket the loser kept
      // would leave one.
      { poolFromBulkheads: true },
    );
    gateways.push(gw);
    const started = performance.now();
    const res = await fetch(`${gw.url}/v1/hedged`);
    const body = (await res.json()) as { data: { one: { attempt: number; slow: boolean } }; errors: unknown[] };
    expect(res.status).toBe(200);
    expect(body.errors).toEqual([]);
    expect(body.data.one).toMatchObject({ attempt: 2, slow: false });
    expect(performance.now() - started).toBeLessThan(2000);

    await eventually(() => upstream.stats(scope).aborted === 1, 1000);
    const stats = upstream.stats(scope);
    expect(stats.byPath).toEqual({ '/slowtail/k': 2 });
    expect(stats.inFlight).toBe(0);
    expect(stats.log.map((e) => e.aborted)).toEqual([true, false]);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });

    // Long before the slow answer would have ended, both connections serve again.
    const pair = await fetch(`${gw.url}/v1/pair`);
    expect(pair.status).toBe(200);
    expect(((await pair.json()) as { errors: unknown[] }).errors).toEqual([]);
    const delays = upstream.stats(scope).log.filter((e) => e.path.includes('/delay/'));
    expect(delays).toHaveLength(2);
    const lastStart = Math.max(...delays.map((e) => e.startedAt));
    const firstEnd = Math.min(...delays.map((e) => e.endedAt as number));
    expect(lastStart).toBeLessThan(firstEnd);
    expect(gw.faults).toEqual([]);
  });
});
