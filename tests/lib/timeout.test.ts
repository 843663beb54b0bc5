import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isTimeoutError, isTributaryError, TributaryError } from '../../src/lib/errors.ts';
import { withTimeout } from '../../src/lib/timeout.ts';
import { abortListeners, deferred, flush, rejection, track, untilAborted } from './helpers.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('withTimeout', () => {
  it('aborts the inner signal with a timeout error after ms', async () => {
    let inner: AbortSignal | undefined;
    const run = track(
      withTimeout(300, ({ signal }) => {
        inner = signal;
        return untilAborted(signal);
      }),
    );
    const caught = rejection(run.promise);
    await vi.advanceTimersByTimeAsync(299);
    expect(run.settled).toBe(false);
    expect(inner?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await caught;
    expect(isTimeoutError(error)).toBe(true);
    expect((error as Error).message).toContain('300 ms');
    expect(inner?.reason).toBe(error);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('uses a custom reason when given one', async () => {
    const reason = new TributaryError('timeout', 'orders did not answer within 300 ms');
    const caught = rejection(withTimeout(300, ({ signal }) => untilAborted(signal), { reason: () => reason }));
    await vi.advanceTimersByTimeAsync(300);
    expect(await caught).toBe(reason);
  });

  it("a caller's cancel passes the caller's reason unchanged and is not a timeout", async () => {
    const caller = new AbortController();
    const caught = rejection(withTimeout(300, ({ signal }) => untilAborted(signal), { signal: caller.signal }));
    await vi.advanceTimersByTimeAsync(100);
    const reason = new TributaryError('cancelled', 'client left');
    caller.abort(reason);
    const error = await caught;
    expect(error).toBe(reason);
    expect(isTimeoutError(error)).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(caller.signal)).toBe(0);
  });

  it("a caller's bare abort() is not a timeout either", async () => {
    const caller = new AbortController();
    const caught = rejection(withTimeout(300, ({ signal }) => untilAborted(signal), { signal: caller.signal }));
    caller.abort();
    const error = await caught;
    expect(error).toBe(caller.signal.reason);
    expect(isTributaryError(error)).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an already aborted caller reaches fn with its reason, and no timer is left', async () => {
    const reason = new Error('gone');
    const caught = rejection(
      withTimeout(300, ({ signal }) => untilAborted(signal), { signal: AbortSignal.abort(reason) }),
    );
    expect(await caught).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears its timer and unlinks on success', async () => {
    const caller = new AbortController();
    let inner: AbortSignal | undefined;
    const value = await withTimeout(
      300,
      async ({ signal }) => {
        inner = signal;
        await flush(2);
        return 'ok';
      },
      { signal: caller.signal },
    );
    expect(value).toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(caller.signal)).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(inner?.aborted).toBe(false); // no late abort after the work ended
  });

  it('clears its timer and unlinks when fn throws', async () => {
    const caller = new AbortController();
    const boom = new Error('boom');
    const caught = rejection(
      withTimeout(
        300,
        async () => {
          throw boom;
        },
        { signal: caller.signal },
      ),
    );
    expect(await caught).toBe(boom);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(caller.signal)).toBe(0);
  });

  it('is cooperative: it settles when fn does, even if fn ignores the abort', async () => {
    const work = deferred<string>();
    let inner: AbortSignal | undefined;
    const run = track(
      withTimeout(100, ({ signal }) => {
        inner = signal;
        return work.promise;
      }),
    );
    await vi.advanceTimersByTimeAsync(100);
    expect(inner?.aborted).toBe(true);
    expect(isTimeoutError(inner?.reason)).toBe(true);
    await vi.advanceTimersByTimeAsync(200);
    expect(run.settled).toBe(false); // no race: still waiting for fn
    work.resolve('late but whole');
    expect(await run.promise).toBe('late but whole');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a timeout longer than the platform timer maximum does not fire early', async () => {
    // setTimeout treats delays above 2^31-1 ms (and Infinity) as 1 ms.
    for (const ms of [3_000_000_000, Number.POSITIVE_INFINITY]) {
      const work = deferred<string>();
      let inner: AbortSignal | undefined;
      const run = withTimeout(ms, ({ signal }) => {
        inner = signal;
        return work.promise;
      });
      await vi.advanceTimersByTimeAsync(60_000);
      expect(inner?.aborted).toBe(false);
      work.resolve('done');
      expect(await run).toBe('done');
      expect(vi.getTimerCount()).toBe(0);
    }
  });
});
