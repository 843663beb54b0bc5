import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isRejectedError, isTributaryError, TributaryError } from '../../src/lib/errors.ts';
import { Semaphore, type Release } from '../../src/lib/semaphore.ts';
import { abortListeners, deferred, flush, rejection, track, untilAborted } from './helpers.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Semaphore', () => {
  it('admits up to the limit at once, then queues', async () => {
    const sem = new Semaphore({ limit: 2 });
    await sem.acquire();
    await sem.acquire();
    const third = track(sem.acquire());
    await flush();
    expect(third.settled).toBe(false);
    expect(sem.running).toBe(2);
    expect(sem.waiting).toBe(1);
  });

  it('grants permits in FIFO order', async () => {
    const sem = new Semaphore({ limit: 1 });
    const holder = await sem.acquire();
    const log: number[] = [];
    const waiters = [0, 1, 2, 3, 4].map(async (i) => {
      const release = await sem.acquire();
      log.push(i);
      await flush(3); // hold the permit across a few turns, as real work would
      release();
    });
    await flush();
    expect(sem.waiting).toBe(5);
    holder();
    await Promise.all(waiters);
    expect(log).toEqual([0, 1, 2, 3, 4]);
    expect(sem.running).toBe(0);
  });

  it('a newcomer does not overtake the queue when a permit frees up', async () => {
    const sem = new Semaphore({ limit: 1 });
    const holder = await sem.acquire();
    const log: string[] = [];
    const queued = sem.acquire().then((r) => {
      log.push('queued');
      r();
    });
    holder();
    const late = sem.acquire().then((r) => {
      log.push('late');
      r();
    });
    await Promise.all([queued, late]);
    expect(log).toEqual(['queued', 'late']);
  });

  it('rejects overflow beyond maxQueue with code rejected and the running/waiting counts', async () => {
    const sem = new Semaphore({ limit: 1, maxQueue: 2, name: 'upstream users' });
    await sem.acquire();
    void sem.acquire();
    void sem.acquire();
    const error = await rejection(sem.acquire());
    expect(isTributaryError(error, 'rejected')).toBe(true);
    expect((error as TributaryError).message).toContain('upstream users');
    expect((error as TributaryError).message).toContain('1 running');
    expect((error as TributaryError).message).toContain('2 waiting');
    expect(sem.waiting).toBe(2); // the rejected caller never joined the queue
  });

  it('maxQueue 0 means no waiting at all', async () => {
    const sem = new Semaphore({ limit: 1, maxQueue: 0 });
    await sem.acquire();
    expect(isRejectedError(await rejection(sem.acquire()))).toBe(true);
  });

  it('rejects a waiter that waits longer than maxWaitMs, and it holds no permit', async () => {
    const sem = new Semaphore({ limit: 1, maxWaitMs: 100, name: 'orders' });
    const holder = await sem.acquire();
    const waiter = track(sem.acquire());
    const caught = rejection(waiter.promise);
    await vi.advanceTimersByTimeAsync(99);
    expect(waiter.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await caught;
    expect(isRejectedError(error)).toBe(true);
    expect((error as Error).message).toContain('100 ms');
    expect((error as Error).message).toContain('1 running');
    expect(sem.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    holder();
    expect(sem.running).toBe(0);
  });

  it('a maxWaitMs beyond the platform timer maximum does not reject early', async () => {
    const sem = new Semaphore({ limit: 1, maxWaitMs: 3_000_000_000 });
    const holder = await sem.acquire();
    const waiter = track(sem.acquire());
    await vi.advanceTimersByTimeAsync(60_000);
    expect(waiter.settled).toBe(false);
    holder();
    await flush();
    expect(waiter.settled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a waiter granted in time clears its wait timer', async () => {
    const sem = new Semaphore({ limit: 1, maxWaitMs: 100 });
    const holder = await sem.acquire();
    const waiter = sem.acquire();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    holder();
    const release = await waiter;
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000); // the old timer must not reject or remove anything
    expect(sem.running).toBe(1);
    release();
    expect(sem.running).toBe(0);
  });

  it('abort while queued: leaves the queue at once with signal.reason, and the next waiter proceeds', async () => {
    const sem = new Semaphore({ limit: 1, maxWaitMs: 1000 });
    const holder = await sem.acquire();
    const controller = new AbortController();
    const aborted = sem.acquire(controller.signal);
    const next = track(sem.acquire());
    expect(sem.waiting).toBe(2);
    const reason = { why: 'client left' };
    const caught = rejection(aborted);
    controller.abort(reason);
    expect(sem.waiting).toBe(1); // synchronously, not at the next grant
    expect(await caught).toBe(reason);
    expect(abortListeners(controller.signal)).toBe(0);
    expect(vi.getTimerCount()).toBe(1); // only next's wait timer is left
    holder();
    await flush();
    expect(next.settled).toBe(true);
    expect(sem.running).toBe(1);
    expect(sem.waiting).toBe(0);
  });

  it('an aborted waiter does not consume the permit handed out later', async () => {
    const sem = new Semaphore({ limit: 1 });
    const holder = await sem.acquire();
    const controller = new AbortController();
    const first = sem.acquire(controller.signal).catch(() => 'aborted');
    const second = sem.acquire();
    controller.abort();
    expect(await first).toBe('aborted');
    holder();
    const release = await second;
    expect(sem.running).toBe(1);
    release();
    expect(sem.running).toBe(0);
  });

  it('an already aborted signal rejects at once with its reason and takes no permit', async () => {
    const sem = new Semaphore({ limit: 1 });
    const reason = new Error('gone');
    expect(await rejection(sem.acquire(AbortSignal.abort(reason)))).toBe(reason);
    expect(sem.running).toBe(0);
    expect(sem.waiting).toBe(0);
  });

  it('abort while running: execute() releases the permit and passes the reason on', async () => {
    const sem = new Semaphore({ limit: 1 });
    const controller = new AbortController();
    const started = deferred();
    const running = sem.execute(({ signal }) => {
      started.resolve();
      return untilAborted(signal as AbortSignal);
    }, controller.signal);
    await started.promise;
    const next = track(sem.acquire());
    expect(sem.running).toBe(1);
    const reason = new TributaryError('cancelled', 'client left');
    const caught = rejection(running);
    controller.abort(reason);
    expect(await caught).toBe(reason);
    await flush();
    expect(next.settled).toBe(true); // the permit went to the next waiter
    expect(sem.running).toBe(1);
  });

  it('releases the permit when the work throws', async () => {
    const sem = new Semaphore({ limit: 1 });
    const boom = new Error('boom');
    const failing = sem.execute(async () => {
      await flush(2);
      throw boom;
    });
    const next = track(sem.execute(async () => 'second'));
    expect(await rejection(failing)).toBe(boom);
    expect(await next.promise).toBe('second');
    expect(sem.running).toBe(0);
  });

  it('releases the permit when the work returns', async () => {
    const sem = new Semaphore({ limit: 1 });
    expect(await sem.execute(async () => 42)).toBe(42);
    expect(sem.running).toBe(0);
  });

  it('calling a release twice is harmless: it never frees a permit it does not hold', async () => {
    const sem = new Semaphore({ limit: 2 });
    const a = await sem.acquire();
    const b = await sem.acquire();
    const c = track(sem.acquire());
    a();
    a();
    a();
    await flush();
    expect(c.settled).toBe(true); // one slot freed once
    expect(sem.running).toBe(2);
    const d = track(sem.acquire());
    await flush();
    expect(d.settled).toBe(false); // the extra calls did not free b's slot
    b();
    await flush();
    expect(d.settled).toBe(true);
    expect(sem.running).toBe(2);
  });

  it('raising the limit at run time admits waiters at once', async () => {
    const sem = new Semaphore({ limit: 1 });
    await sem.acquire();
    const waiters = [track(sem.acquire()), track(sem.acquire()), track(sem.acquire())];
    sem.limit = 3;
    await flush();
    expect(waiters.map((w) => w.settled)).toEqual([true, true, false]);
    expect(sem.running).toBe(3);
    expect(sem.waiting).toBe(1);
  });

  it('lowering the limit lets holders finish and admits no one until below the new limit', async () => {
    const sem = new Semaphore({ limit: 3 });
    const holders: Release[] = [await sem.acquire(), await sem.acquire(), await sem.acquire()];
    const waiter = track(sem.acquire());
    sem.limit = 1;
    expect(sem.running).toBe(3); // nobody is evicted
    holders[0]!();
    await flush();
    expect(waiter.settled).toBe(false);
    holders[1]!();
    await flush();
    expect(waiter.settled).toBe(false);
    holders[2]!();
    await flush();
    expect(waiter.settled).toBe(true);
    expect(sem.running).toBe(1);
  });

  it('refuses a limit that is not a whole number >= 1', () => {
    expect(() => new Semaphore({ limit: 0 })).toThrow(RangeError);
    expect(() => new Semaphore({ limit: 1.5 })).toThrow(RangeError);
    expect(() => new Semaphore({ limit: Number.NaN })).toThrow(RangeError);
    const sem = new Semaphore({ limit: 2 });
    expect(() => (sem.limit = -1)).toThrow(RangeError);
    expect(sem.limit).toBe(2);
  });

  it("keeps the caller's async context across the wait, even when released from another context", async () => {
    const als = new AsyncLocalStorage<string>();
    const sem = new Semaphore({ limit: 1 });
    const holder = await als.run('holder', () => sem.acquire());
    const seen: (string | undefined)[] = [];
    const waiterA = als.run('ctxA', async () => {
      const release = await sem.acquire();
      seen.push(als.getStore());
      release();
    });
    const waiterB = als.run('ctxB', () =>
      sem.execute(async () => {
        seen.push(als.getStore());
      }),
    );
    await flush();
    als.run('releaser', () => holder());
    await Promise.all([waiterA, waiterB]);
    expect(seen).toEqual(['ctxA', 'ctxB']);
  });
});

describe('Semaphore: it reports its own waits', () => {
  const clockAt = () => {
    let now = 0;
    return { clock: () => now, advance: (ms: number) => (now += ms) };
  };

  it('says nothing about a permit granted at once', async () => {
    const reports: unknown[] = [];
    const sem = new Semaphore({ limit: 1 });
    (await sem.acquire(undefined, (r) => reports.push(r)))();
    expect(reports).toEqual([]);
  });

  it('reports a granted wait with its start and length', async () => {
    const time = clockAt();
    const sem = new Semaphore({ limit: 1, clock: time.clock });
    const holder = await sem.acquire();
    const reports: unknown[] = [];
    const waiter = sem.acquire(undefined, (r) => reports.push(r));
    time.advance(30);
    holder();
    (await waiter)();
    expect(reports).toEqual([{ startedAt: 0, waitMs: 30, outcome: 'granted' }]);
  });

  it('reports waits that end in a rejection or a cancel too', async () => {
    const time = clockAt();
    const sem = new Semaphore({ limit: 1, maxQueue: 1, maxWaitMs: 50, clock: time.clock });
    await sem.acquire();
    const reports: { outcome: string; waitMs: number }[] = [];
    const onWait = (r: { outcome: string; waitMs: number }) => reports.push(r);
    const timedOut = rejection(sem.acquire(undefined, onWait));
    await expect(sem.acquire(undefined, onWait)).rejects.toSatisfy(isRejectedError); // queue full
    time.advance(50);
    await vi.advanceTimersByTimeAsync(50);
    expect(isRejectedError(await timedOut)).toBe(true);
    const controller = new AbortController();
    const leaving = sem.acquire(controller.signal, onWait);
    time.advance(7);
    controller.abort(new Error('gone'));
    await expect(leaving).rejects.toThrow('gone');
    expect(reports).toEqual([
      { startedAt: 0, waitMs: 0, outcome: 'rejected' },
      { startedAt: 0, waitMs: 50, outcome: 'rejected' },
      { startedAt: 50, waitMs: 7, outcome: 'cancelled' },
    ]);
  });

  it('tryAcquire takes a free permit or none, and never queues', async () => {
    const sem = new Semaphore({ limit: 1 });
    const first = sem.tryAcquire();
    expect(first).toBeTypeOf('function');
    expect(sem.tryAcquire()).toBeUndefined();
    expect(sem.waiting).toBe(0);
    first?.();
    expect(sem.tryAcquire()).toBeTypeOf('function');
  });
});
