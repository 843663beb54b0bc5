import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getEventListeners } from 'node:events';
import { linkListeners, linkSignal, shareSignal, sharedListeners, sleep, subscribe, unsubscribe } from '../../src/lib/abort.ts';
import { Semaphore } from '../../src/lib/semaphore.ts';
import { abortListeners, track } from './helpers.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('linkSignal', () => {
  it("aborts the child with the parent's reason, unchanged", () => {
    const parent = new AbortController();
    const link = linkSignal(parent.signal);
    const reason = { why: 'client left' };
    parent.abort(reason);
    expect(link.signal.reason).toBe(reason);
    link.dispose();
  });

  it('aborting the child leaves the parent alone', () => {
    const parent = new AbortController();
    const link = linkSignal(parent.signal);
    link.abort(new Error('child only'));
    expect(link.signal.aborted).toBe(true);
    expect(parent.signal.aborted).toBe(false);
    link.dispose();
  });

  it('dispose() removes the listener from the parent, and the parent no longer reaches the child', () => {
    const parent = new AbortController();
    const link = linkSignal(parent.signal);
    expect(abortListeners(parent.signal)).toBe(1);
    link.dispose();
    link.dispose();
    expect(abortListeners(parent.signal)).toBe(0);
    parent.abort();
    expect(link.signal.aborted).toBe(false);
  });

  it('an already aborted parent gives an aborted child and adds no listener', () => {
    const reason = new Error('gone');
    const parent = AbortSignal.abort(reason);
    const link = linkSignal(parent);
    expect(link.signal.reason).toBe(reason);
    link.abort(new Error('ignored'));
    expect(link.signal.reason).toBe(reason);
    expect(abortListeners(parent)).toBe(0);
  });

  it('a second parent (a shutdown cutoff) aborts the child with its own reason, and dispose() removes both listeners', () => {
    const client = new AbortController();
    const cutoff = new AbortController();
    const link = linkSignal(client.signal, cutoff.signal);
    expect([abortListeners(client.signal), abortListeners(cutoff.signal)]).toEqual([1, 1]);
    const reason = new Error('the server stopped waiting');
    cutoff.abort(reason);
    expect(link.signal.reason).toBe(reason);
    client.abort(new Error('later'));
    expect(link.signal.reason).toBe(reason);
    link.dispose();
    expect([abortListeners(client.signal), abortListeners(cutoff.signal)]).toEqual([0, 0]);
  });

  it('an already aborted second parent gives an aborted child and adds no listener', () => {
    const client = new AbortController();
    const reason = new Error('cut off');
    const link = linkSignal(client.signal, AbortSignal.abort(reason));
    expect(link.signal.reason).toBe(reason);
    expect(abortListeners(client.signal)).toBe(0);
  });

  it('without a parent it is a plain controller', () => {
    const link = linkSignal();
    const reason = new Error('stop');
    link.abort(reason);
    expect(link.signal.reason).toBe(reason);
    link.dispose();
  });
});

describe('a link under a link', () => {
  it('adds no EventTarget listener to its parent, and an abort at the top reaches the bottom with its reason', () => {
    const client = new AbortController();
    const deadline = linkSignal(client.signal);
    const scope = linkSignal(deadline.signal);
    const calls = [linkSignal(scope.signal), linkSignal(scope.signal), linkSignal(scope.signal)];
    expect(getEventListeners(deadline.signal, 'abort')).toHaveLength(0);
    expect(getEventListeners(scope.signal, 'abort')).toHaveLength(0);
    expect([linkListeners(deadline.signal), linkListeners(scope.signal)]).toEqual([1, 3]);
    // The client's signal is not a link's: the deadline listens on it as EventTarget.
    expect(linkListeners(client.signal)).toBeUndefined();
    expect(getEventListeners(client.signal, 'abort')).toHaveLength(1);
    const reason = new Error('client left');
    client.abort(reason);
    for (const link of [deadline, scope, ...calls]) expect(link.signal.reason).toBe(reason);
    for (const link of [...calls, scope, deadline]) link.dispose();
    expect([abortListeners(client.signal), abortListeners(deadline.signal), abortListeners(scope.signal)]).toEqual([0, 0, 0]);
  });

  it("dispose() takes the child off its parent link: the parent's abort no longer reaches it", () => {
    const parent = linkSignal();
    const child = linkSignal(parent.signal);
    expect(abortListeners(parent.signal)).toBe(1);
    child.dispose();
    child.dispose();
    expect(abortListeners(parent.signal)).toBe(0);
    parent.abort(new Error('stop'));
    expect(child.signal.aborted).toBe(false);
  });

  it("runs the signal's own EventTarget listeners first, then subscribers in the order they came; one that throws does not stop the rest", async () => {
    const link = linkSignal();
    const order: string[] = [];
    const thrown = new Error('a listener failed');
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on('uncaughtException', onUncaught);
    try {
      subscribe(link.signal, () => order.push('first'));
      subscribe(link.signal, () => {
        throw thrown;
      });
      subscribe(link.signal, () => order.push('third'));
      link.signal.addEventListener('abort', () => order.push('event target'));
      link.abort(new Error('stop'));
      link.abort(new Error('again'));
      expect(order).toEqual(['event target', 'first', 'third']);
      await vi.runAllTimersAsync();
      expect(uncaught).toEqual([thrown]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(linkListeners(link.signal)).toBe(0);
  });

  it('a subscriber removed by an earlier one is not called; one added after the abort never is (as EventTarget)', () => {
    const link = linkSignal();
    const called: string[] = [];
    const later = (): void => {
      called.push('later');
    };
    subscribe(link.signal, () => {
      called.push('first');
      unsubscribe(link.signal, later);
    });
    subscribe(link.signal, later);
    link.abort(new Error('stop'));
    subscribe(link.signal, () => called.push('after the abort'));
    expect(called).toEqual(['first']);
    expect(linkListeners(link.signal)).toBe(0);
  });

  it('keeps the order they came in after the first one leaves and another comes', () => {
    const link = linkSignal();
    const order: string[] = [];
    const a = (): void => {
      order.push('a');
    };
    subscribe(link.signal, a);
    subscribe(link.signal, () => order.push('b'));
    unsubscribe(link.signal, a);
    subscribe(link.signal, () => order.push('c'));
    expect(abortListeners(link.signal)).toBe(2);
    link.abort(new Error('stop'));
    expect(order).toEqual(['b', 'c']);
  });

  it('shareSignal leaves a link alone: its link already calls its listeners without one EventTarget listener each', () => {
    const link = linkSignal();
    shareSignal(link.signal);
    expect(sharedListeners(link.signal)).toBeUndefined();
    const children = Array.from({ length: 20 }, () => linkSignal(link.signal));
    expect(getEventListeners(link.signal, 'abort')).toHaveLength(0);
    expect(abortListeners(link.signal)).toBe(20);
    const reason = new Error('cancelled');
    link.abort(reason);
    for (const child of children) expect(child.signal.reason).toBe(reason);
  });
});

describe('shareSignal', () => {
  it('children linked to a shared signal abort with its reason, in the order they linked; disposed ones do not', () => {
    const parent = new AbortController();
    shareSignal(parent.signal);
    const order: number[] = [];
    const links = Array.from({ length: 5 }, (_, i) => {
      const link = linkSignal(parent.signal);
      link.signal.addEventListener('abort', () => order.push(i));
      return link;
    });
    links[2]?.dispose();
    // One real listener on the parent, however many children.
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    expect(sharedListeners(parent.signal)).toBe(4);
    const reason = new Error('deadline');
    parent.abort(reason);
    expect(order).toEqual([0, 1, 3, 4]);
    expect(links[0]?.signal.reason).toBe(reason);
    expect(links[2]?.signal.aborted).toBe(false);
    expect(sharedListeners(parent.signal)).toBe(0);
  });

  it('a child linked before its parent was shared still leaves no listener behind', () => {
    const parent = new AbortController();
    const early = linkSignal(parent.signal);
    shareSignal(parent.signal);
    early.dispose();
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    expect(sharedListeners(parent.signal)).toBe(0);
  });

  it('children that dispose leave the hub empty; a signal already aborted is not shared', () => {
    const parent = new AbortController();
    shareSignal(parent.signal);
    for (let i = 0; i < 100; i++) linkSignal(parent.signal).dispose();
    expect(sharedListeners(parent.signal)).toBe(0);
    const aborted = AbortSignal.abort(new Error('gone'));
    shareSignal(aborted);
    expect(sharedListeners(aborted)).toBeUndefined();
    expect(linkSignal(aborted).signal.reason).toBe(aborted.reason);
  });

  it('a semaphore waiter on a shared signal leaves when it aborts, and after its grant', async () => {
    const scope = new AbortController();
    shareSignal(scope.signal);
    const semaphore = new Semaphore({ limit: 1 });
    const first = await semaphore.acquire(scope.signal);
    const granted = semaphore.acquire(scope.signal);
    expect(sharedListeners(scope.signal)).toBe(1);
    first();
    (await granted)();
    expect(sharedListeners(scope.signal)).toBe(0);
    const held = await semaphore.acquire(scope.signal);
    const waiting = semaphore.acquire(scope.signal);
    const reason = new Error('cancelled');
    scope.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(semaphore.waiting).toBe(0);
    held();
  });
});

describe('sleep', () => {
  it('resolves after ms and leaves no timer or listener', async () => {
    const controller = new AbortController();
    const nap = track(sleep(100, controller.signal));
    await vi.advanceTimersByTimeAsync(99);
    expect(nap.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(nap.settled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(controller.signal)).toBe(0);
  });

  it('rejects at once with signal.reason on abort and clears its timer', async () => {
    const controller = new AbortController();
    const nap = sleep(10_000, controller.signal);
    const reason = new Error('woken');
    controller.abort(reason);
    await expect(nap).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once for an already aborted signal', async () => {
    const reason = new Error('late');
    await expect(sleep(100, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });
});
