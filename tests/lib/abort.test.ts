import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { linkSignal, sleep } from '../../src/lib/abort.ts';
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
