import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { linkSignal, sleep } from '../../src/lib/abort.ts';
import { Deadline } from '../../src/lib/deadline.ts';
import { isRejectedError, isTimeoutError } from '../../src/lib/errors.ts';
import { gather, Scope } from '../../src/lib/scope.ts';
import { Semaphore } from '../../src/lib/semaphore.ts';
import { withTimeout } from '../../src/lib/timeout.ts';
import { abortListeners, untilAborted } from './helpers.ts';

const USES = 10_000;

/**
 * A long-lived parent signal (a server's shutdown signal, a shared bulkhead's owner) used by
 * many short-lived operations must not accumulate abort listeners: that is a memory leak and,
 * past 10, a MaxListenersExceededWarning. Counted two ways: node's own registry, and a wrapper
 * around add/removeEventListener so a leak shows even if the registry were wrong.
 */
function longLivedParent() {
  const controller = new AbortController();
  const signal = controller.signal;
  const counts = { added: 0, removed: 0, peak: 0 };
  const live = new Set<unknown>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  type Listener = EventListenerOrEventListenerObject;
  signal.addEventListener = ((type: string, listener: Listener, options?: AddEventListenerOptions | boolean) => {
    if (type === 'abort') {
      counts.added++;
      live.add(listener);
      counts.peak = Math.max(counts.peak, live.size);
    }
    add(type, listener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((type: string, listener: Listener, options?: EventListenerOptions | boolean) => {
    if (type === 'abort' && live.delete(listener)) counts.removed++;
    remove(type, listener, options);
  }) as typeof signal.removeEventListener;
  return { controller, signal, counts, live };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe(`no listener left on a long-lived parent after ${USES} uses`, () => {
  it('linkSignal, including links whose child was aborted', () => {
    const parent = longLivedParent();
    for (let i = 0; i < USES; i++) {
      const link = linkSignal(parent.signal);
      if (i % 2 === 0) link.abort(new Error('child done early'));
      link.dispose();
    }
    expect(parent.counts.added).toBe(USES); // the wrapper did see the traffic
    expect(parent.live.size).toBe(0);
    expect(abortListeners(parent.signal)).toBe(0);
  });

  it('withTimeout, on success, throw and timeout', async () => {
    const parent = longLivedParent();
    for (let i = 0; i < USES; i++) {
      const kind = i % 3;
      const run = withTimeout(
        10,
        async ({ signal }) => {
          if (kind === 0) return 'ok';
          if (kind === 1) throw new Error('boom');
          return untilAborted(signal);
        },
        { signal: parent.signal },
      ).catch((e: unknown) => e);
      if (kind === 2) await vi.advanceTimersByTimeAsync(10);
      const result = await run;
      if (kind === 2) expect(isTimeoutError(result)).toBe(true);
    }
    expect(parent.counts.added).toBe(USES);
    expect(parent.live.size).toBe(0);
    expect(abortListeners(parent.signal)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('Deadline and its children, disposed before and after expiry', () => {
    const parent = longLivedParent();
    for (let i = 0; i < USES; i++) {
      const deadline = Deadline.after(100, { signal: parent.signal });
      const child = deadline.child({ fraction: 0.5 });
      if (i % 2 === 0) vi.advanceTimersByTime(100);
      child.dispose();
      deadline.dispose();
    }
    expect(parent.live.size).toBe(0);
    expect(abortListeners(parent.signal)).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('Scope and gather, including required failures and queued tasks', async () => {
    const parent = longLivedParent();
    for (let i = 0; i < USES / 2; i++) {
      const scope = new Scope({ signal: parent.signal, limit: 1 });
      const a = scope.spawn(async () => 1);
      const b = scope.spawn(async () => 2);
      await Promise.all([a, b]);
      await scope.join();
      scope.dispose();
      await gather(
        [
          { required: true, run: async () => Promise.reject(new Error('required failed')) },
          { run: ({ signal }) => untilAborted(signal) },
          { run: async () => 'queued' },
        ],
        { signal: parent.signal, limit: 2 },
      );
    }
    expect(parent.counts.added).toBe(USES);
    expect(parent.live.size).toBe(0);
    expect(abortListeners(parent.signal)).toBe(0);
  });

  it('Semaphore.acquire, granted after a wait or rejected by maxWaitMs', async () => {
    const parent = longLivedParent();
    const sem = new Semaphore({ limit: 1, maxWaitMs: 50 });
    for (let i = 0; i < USES; i++) {
      const holder = await sem.acquire(parent.signal);
      const waiter = sem.acquire(parent.signal).catch((e: unknown) => e);
      if (i % 2 === 0) {
        holder();
        const release = await waiter;
        (release as () => void)();
      } else {
        await vi.advanceTimersByTimeAsync(50);
        expect(isRejectedError(await waiter)).toBe(true);
        holder();
      }
    }
    expect(parent.counts.added).toBe(USES); // one per wait
    expect(parent.live.size).toBe(0);
    expect(abortListeners(parent.signal)).toBe(0);
    expect(sem.running).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sleep, woken by its timer', async () => {
    const parent = longLivedParent();
    for (let i = 0; i < USES; i++) {
      const nap = sleep(5, parent.signal);
      await vi.advanceTimersByTimeAsync(5);
      await nap;
    }
    expect(parent.live.size).toBe(0);
    expect(abortListeners(parent.signal)).toBe(0);
  });

  it('the parent still works afterwards: one abort reaches a fresh user', async () => {
    const parent = longLivedParent();
    for (let i = 0; i < 100; i++) linkSignal(parent.signal).dispose();
    const link = linkSignal(parent.signal);
    const reason = new Error('shutdown');
    parent.controller.abort(reason);
    expect(link.signal.reason).toBe(reason);
  });
});
