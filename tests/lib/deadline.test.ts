import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadline } from '../../src/lib/deadline.ts';
import { isDeadlineError, TributaryError } from '../../src/lib/errors.ts';
import { abortListeners } from './helpers.ts';

// Fake timers also fake performance.now, which is the default clock.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Deadline', () => {
  it('abort() ends it early with the reason given; the time left is still counted by the clock', () => {
    const deadline = Deadline.after(1000);
    const reason = new TributaryError('cancelled', 'cancelled because profile failed');
    deadline.abort(reason);
    expect(deadline.signal.reason).toBe(reason);
    expect(deadline.remaining()).toBe(1000);
    // The timer still clears, and fires nothing over the first reason.
    vi.advanceTimersByTime(2000);
    expect(deadline.signal.reason).toBe(reason);
    deadline.dispose();
  });

  it('remaining() shrinks with time and never goes below 0', () => {
    const deadline = Deadline.after(1000);
    expect(deadline.remaining()).toBe(1000);
    vi.advanceTimersByTime(300);
    expect(deadline.remaining()).toBe(700);
    expect(deadline.expired).toBe(false);
    vi.advanceTimersByTime(700);
    expect(deadline.remaining()).toBe(0);
    expect(deadline.expired).toBe(true);
    vi.advanceTimersByTime(5000);
    expect(deadline.remaining()).toBe(0);
    deadline.dispose();
  });

  it('uses an injected clock', () => {
    let now = 10_000;
    const deadline = Deadline.after(500, { clock: () => now });
    now += 200;
    expect(deadline.remaining()).toBe(300);
    now += 10_000;
    expect(deadline.remaining()).toBe(0);
    deadline.dispose();
  });

  it('its signal aborts at expiry with a deadline_exceeded error, not before', () => {
    const deadline = Deadline.after(1000, { label: 'GET /v1/dashboard' });
    vi.advanceTimersByTime(999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    const reason: unknown = deadline.signal.reason;
    expect(reason).toBeInstanceOf(TributaryError);
    expect(isDeadlineError(reason)).toBe(true);
    expect((reason as Error).message).toContain('GET /v1/dashboard');
    deadline.dispose();
  });

  it('never aborts while remaining() is still above zero (fractional budgets)', () => {
    // Child budgets are fractions of what remains, so they are rarely whole milliseconds.
    const deadline = Deadline.after(100.4);
    vi.advanceTimersByTime(100);
    expect(deadline.signal.aborted).toBe(deadline.expired);
    vi.advanceTimersByTime(1);
    expect(deadline.expired).toBe(true);
    expect(deadline.signal.aborted).toBe(true);
    deadline.dispose();
  });

  it('a zero budget aborts on the next timer turn', () => {
    const deadline = Deadline.after(0);
    expect(deadline.remaining()).toBe(0);
    vi.advanceTimersByTime(0);
    expect(isDeadlineError(deadline.signal.reason)).toBe(true);
    deadline.dispose();
  });

  it('refuses a negative or NaN budget', () => {
    expect(() => Deadline.after(-1)).toThrow(RangeError);
    expect(() => Deadline.after(Number.NaN)).toThrow(RangeError);
  });

  it("a parent signal's abort passes the parent's reason through unchanged", () => {
    const parent = new AbortController();
    const deadline = Deadline.after(1000, { signal: parent.signal });
    const reason = { why: 'client disconnected' };
    parent.abort(reason);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.signal.reason).toBe(reason);
    // The later expiry does not overwrite the first reason.
    vi.advanceTimersByTime(2000);
    expect(deadline.signal.reason).toBe(reason);
    deadline.dispose();
  });

  it('an already aborted parent aborts the deadline at once', () => {
    const reason = new Error('already gone');
    const deadline = Deadline.after(1000, { signal: AbortSignal.abort(reason) });
    expect(deadline.signal.reason).toBe(reason);
    deadline.dispose();
  });

  it('child({ fraction }) takes a share of what remains', () => {
    const parent = Deadline.after(1000);
    vi.advanceTimersByTime(200);
    const child = parent.child({ fraction: 0.5 });
    expect(child.remaining()).toBe(400);
    vi.advanceTimersByTime(400);
    expect(isDeadlineError(child.signal.reason)).toBe(true);
    expect(parent.signal.aborted).toBe(false);
    child.dispose();
    parent.dispose();
  });

  it('child({ ms }) and child({ fraction: 1 }) never outlive the parent', () => {
    const parent = Deadline.after(1000);
    vi.advanceTimersByTime(100);
    const long = parent.child({ ms: 60_000 });
    const whole = parent.child({ fraction: 1 });
    expect(long.expiresAt).toBeLessThanOrEqual(parent.expiresAt);
    expect(long.remaining()).toBe(900);
    expect(whole.remaining()).toBe(900);
    vi.advanceTimersByTime(899);
    expect(long.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(parent.signal.aborted).toBe(true);
    expect(long.signal.aborted).toBe(true);
    expect(whole.signal.aborted).toBe(true);
    expect(isDeadlineError(long.signal.reason)).toBe(true);
    for (const d of [long, whole, parent]) d.dispose();
  });

  it('child({ ms, fraction }): the smaller budget wins', () => {
    const parent = Deadline.after(1000);
    const a = parent.child({ ms: 100, fraction: 0.5 });
    const b = parent.child({ ms: 800, fraction: 0.5 });
    expect(a.remaining()).toBe(100);
    expect(b.remaining()).toBe(500);
    for (const d of [a, b, parent]) d.dispose();
  });

  it('a grandchild never outlives its grandparent', () => {
    const root = Deadline.after(1000);
    const child = root.child({ fraction: 0.9 });
    const grandchild = child.child({ ms: 5000 });
    expect(grandchild.remaining()).toBe(900);
    vi.advanceTimersByTime(900);
    expect(grandchild.signal.aborted).toBe(true);
    for (const d of [grandchild, child, root]) d.dispose();
  });

  it("a child carries the client's reason when the parent's signal aborts", () => {
    const client = new AbortController();
    const parent = Deadline.after(1000, { signal: client.signal });
    const child = parent.child({ fraction: 0.5 });
    const reason = new Error('client left');
    client.abort(reason);
    expect(child.signal.reason).toBe(reason);
    child.dispose();
    parent.dispose();
  });

  it('a child of an expired deadline is expired and aborted at once', () => {
    const parent = Deadline.after(100);
    vi.advanceTimersByTime(100);
    const child = parent.child({ ms: 1000 });
    expect(child.remaining()).toBe(0);
    expect(child.signal.aborted).toBe(true);
    child.dispose();
    parent.dispose();
  });

  it('refuses a fraction outside (0, 1]; a negative ms is an empty budget', () => {
    const parent = Deadline.after(1000);
    expect(() => parent.child({ fraction: 0 })).toThrow(RangeError);
    expect(() => parent.child({ fraction: 1.5 })).toThrow(RangeError);
    const empty = parent.child({ ms: -5 });
    expect(empty.remaining()).toBe(0);
    empty.dispose();
    parent.dispose();
  });

  it('dispose() clears the timer and unlinks from the parent signal; twice is harmless', () => {
    const client = new AbortController();
    const deadline = Deadline.after(1000, { signal: client.signal });
    const child = deadline.child({ fraction: 0.5 });
    expect(vi.getTimerCount()).toBe(2);
    expect(abortListeners(client.signal)).toBe(1);
    expect(abortListeners(deadline.signal)).toBe(1);
    child.dispose();
    deadline.dispose();
    deadline.dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(abortListeners(client.signal)).toBe(0);
    expect(abortListeners(deadline.signal)).toBe(0);
    vi.advanceTimersByTime(5000);
    expect(deadline.signal.aborted).toBe(false);
  });

  it('a budget longer than the platform timer maximum (~24.8 days) does not fire early', () => {
    // setTimeout treats delays above 2^31-1 ms (and Infinity) as 1 ms.
    const long = Deadline.after(3_000_000_000);
    const endless = Deadline.after(Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(60_000);
    expect(long.signal.aborted).toBe(false);
    expect(endless.signal.aborted).toBe(false);
    expect(endless.remaining()).toBe(Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(3_000_000_000 - 60_000);
    expect(isDeadlineError(long.signal.reason)).toBe(true);
    expect(endless.signal.aborted).toBe(false);
    long.dispose();
    endless.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });
});
