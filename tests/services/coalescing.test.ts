import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadline } from '../../src/lib/deadline.ts';
import { cancelled } from '../../src/lib/errors.ts';
import { Flights } from '../../src/services/cache/flights.ts';
import { silentObserver, type CallContext, type CallFn, type CallResult } from '../../src/services/upstream/index.ts';

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

/** A caller with its own deadline and its own cancel (its client leaving). */
function caller(deadlineMs = 5000) {
  const client = new AbortController();
  const deadline = Deadline.after(deadlineMs, { signal: client.signal });
  deadlines.push(deadline);
  const ctx: CallContext = {
    label: 'settings',
    request: { method: 'GET', url: 'http://config.test/settings', headers: {} },
    signal: deadline.signal,
    deadline,
    attempt: 0,
    observer: silentObserver,
  };
  return { ctx, leave: () => client.abort(cancelled('the client closed the connection')) };
}

/** An upstream request that answers after `ms` of fake time, or stops when its signal aborts. */
function upstream(ms: number) {
  const log: string[] = [];
  const run: CallFn = (ctx) =>
    new Promise<CallResult>((resolve) => {
      log.push('sent');
      const timer = setTimeout(() => {
        log.push('answered');
        resolve({ ok: true, value: { theme: 'dark' }, status: 200, attempts: 1, waitMs: 0 });
      }, ms);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        log.push('aborted');
        resolve({ ok: false, error: cancelled('aborted'), attempts: 1, waitMs: 0 });
      });
    });
  return { run, log };
}

describe('Request coalescing', () => {
  it('a second call with the same key joins the request in flight instead of sending its own', async () => {
    const flights = new Flights();
    const up = upstream(100);
    const a = flights.join('k', caller().ctx, up.run);
    const b = flights.join('k', caller().ctx, up.run);
    await vi.advanceTimersByTimeAsync(100);
    const [ra, rb] = await Promise.all([a, b]);
    expect(up.log).toEqual(['sent', 'answered']);
    expect(ra).toMatchObject({ joined: false, result: { ok: true, value: { theme: 'dark' } } });
    expect(rb).toMatchObject({ joined: true, result: { ok: true, value: { theme: 'dark' } } });
    expect(flights.size).toBe(0);
  });

  it('calls with different keys each send their own request', async () => {
    const flights = new Flights();
    const up = upstream(10);
    const both = Promise.all([flights.join('k1', caller().ctx, up.run), flights.join('k2', caller().ctx, up.run)]);
    await vi.advanceTimersByTimeAsync(10);
    await both;
    expect(up.log.filter((e) => e === 'sent')).toHaveLength(2);
  });

  it('when one waiting caller leaves, the request goes on for the others', async () => {
    const flights = new Flights();
    const up = upstream(100);
    const first = caller();
    const a = flights.join('k', first.ctx, up.run);
    const b = flights.join('k', caller().ctx, up.run);
    await vi.advanceTimersByTimeAsync(30);
    first.leave();
    await expect(a).resolves.toMatchObject({ result: { ok: false, error: { code: 'cancelled' } } });
    await vi.advanceTimersByTimeAsync(70);
    await expect(b).resolves.toMatchObject({ result: { ok: true } });
    expect(up.log).toEqual(['sent', 'answered']);
  });

  it('when the last waiting caller leaves, the request is aborted', async () => {
    const flights = new Flights();
    const up = upstream(100);
    const first = caller();
    const second = caller();
    const a = flights.join('k', first.ctx, up.run);
    const b = flights.join('k', second.ctx, up.run);
    await vi.advanceTimersByTimeAsync(10);
    first.leave();
    await vi.advanceTimersByTimeAsync(10);
    expect(up.log).toEqual(['sent']);
    second.leave();
    await Promise.all([a, b]);
    expect(up.log).toEqual(['sent', 'aborted']);
    expect(flights.size).toBe(0);
    expect(vi.getTimerCount()).toBe(deadlines.length);
  });

  it('a caller whose own deadline runs out stops waiting without cancelling the others', async () => {
    const flights = new Flights();
    const up = upstream(100);
    const short = flights.join('k', caller(40).ctx, up.run);
    const long = flights.join('k', caller(1000).ctx, up.run);
    await vi.advanceTimersByTimeAsync(40);
    await expect(short).resolves.toMatchObject({ result: { ok: false, error: { code: 'deadline_exceeded' } } });
    await vi.advanceTimersByTimeAsync(60);
    await expect(long).resolves.toMatchObject({ result: { ok: true } });
    expect(up.log).toEqual(['sent', 'answered']);
  });

  it('a caller that arrives after everyone left starts a new request', async () => {
    const flights = new Flights();
    const up = upstream(100);
    const first = caller();
    const a = flights.join('k', first.ctx, up.run);
    first.leave();
    await a;
    const b = flights.join('k', caller().ctx, up.run);
    await vi.advanceTimersByTimeAsync(100);
    await expect(b).resolves.toMatchObject({ joined: false, result: { ok: true } });
    expect(up.log).toEqual(['sent', 'aborted', 'sent', 'answered']);
  });

  it('a background refresh is not aborted when nobody waits for it, and callers may join it', async () => {
    const flights = new Flights();
    const up = upstream(100);
    const refresh = caller();
    const done = flights.refresh('k', refresh.ctx, up.run);
    expect(done).toBeDefined();
    expect(flights.refresh('k', caller().ctx, up.run)).toBeUndefined();
    const joiner = caller();
    const joined = flights.join('k', joiner.ctx, up.run);
    joiner.leave();
    await joined;
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(up.log).toEqual(['sent', 'answered']);
  });
});
