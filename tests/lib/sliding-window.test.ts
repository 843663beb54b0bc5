import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SlidingWindow } from '../../src/lib/sliding-window.ts';

let now = 0;
const clock = (): number => now;

beforeEach(() => {
  now = 0;
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SlidingWindow', () => {
  it('sums what was added to each field, separately', () => {
    const window = new SlidingWindow<'calls' | 'retries'>({ windowMs: 10_000, clock });
    window.add('calls');
    window.add('calls', 4);
    window.add('retries', 2);
    expect(window.sum('calls')).toBe(5);
    expect(window.sum('retries')).toBe(2);
  });

  it('a field never added sums to 0', () => {
    const window = new SlidingWindow<'calls' | 'retries'>({ windowMs: 10_000, clock });
    window.add('calls');
    expect(window.sum('retries')).toBe(0);
  });

  it('keeps counts while they are inside the window and forgets them once it has moved past', () => {
    const window = new SlidingWindow<'calls'>({ windowMs: 10_000, buckets: 10, clock });
    window.add('calls', 3);
    now = 9_999;
    expect(window.sum('calls')).toBe(3);
    now = 10_000;
    expect(window.sum('calls')).toBe(0);
  });

  it('forgets old buckets one at a time as the clock moves', () => {
    const window = new SlidingWindow<'calls'>({ windowMs: 10_000, buckets: 10, clock });
    for (let second = 0; second < 10; second++) {
      now = second * 1000;
      window.add('calls');
    }
    expect(window.sum('calls')).toBe(10);
    now = 10_000;
    expect(window.sum('calls')).toBe(9); // second 0 left
    now = 14_500;
    expect(window.sum('calls')).toBe(5); // seconds 5 to 9 remain
    now = 18_999;
    expect(window.sum('calls')).toBe(1);
    now = 19_000;
    expect(window.sum('calls')).toBe(0); // second 9's bucket is a whole window old
  });

  it('a count added late in its bucket is kept at least windowMs minus one bucket, and at most windowMs', () => {
    const window = new SlidingWindow<'calls'>({ windowMs: 1000, buckets: 4, clock });
    now = 249; // the end of the first 250 ms bucket
    window.add('calls');
    now = 999; // 750 ms later, one bucket short of the window
    expect(window.sum('calls')).toBe(1);
    now = 1000;
    expect(window.sum('calls')).toBe(0);
  });

  it('reuses a bucket when the ring comes round, without the counts it held a window ago', () => {
    const window = new SlidingWindow<'calls'>({ windowMs: 1000, buckets: 2, clock });
    window.add('calls', 7);
    now = 1000; // the same slot of the ring, one window later
    window.add('calls');
    expect(window.sum('calls')).toBe(1);
  });

  it('after a long idle time, starts from zero', () => {
    const window = new SlidingWindow<'calls'>({ windowMs: 1000, clock });
    window.add('calls', 5);
    now = 86_400_000;
    expect(window.sum('calls')).toBe(0);
    window.add('calls');
    expect(window.sum('calls')).toBe(1);
  });

  it('reset() forgets every count, and counting goes on after it', () => {
    const window = new SlidingWindow<'calls' | 'failures'>({ windowMs: 1000, clock });
    window.add('calls', 3);
    window.add('failures');
    window.reset();
    expect(window.sum('calls')).toBe(0);
    expect(window.sum('failures')).toBe(0);
    window.add('calls');
    expect(window.sum('calls')).toBe(1);
  });

  it('works with a clock that does not start at zero, even a negative one', () => {
    now = -12_300; // the start of a 100 ms bucket
    const window = new SlidingWindow<'calls'>({ windowMs: 1000, buckets: 10, clock });
    window.add('calls');
    now += 999;
    expect(window.sum('calls')).toBe(1);
    now += 1;
    expect(window.sum('calls')).toBe(0);
  });

  it('reads performance.now() when no clock is given', () => {
    vi.useFakeTimers(); // fakes performance.now too
    const window = new SlidingWindow<'calls'>({ windowMs: 1000 });
    window.add('calls');
    vi.advanceTimersByTime(999);
    expect(window.sum('calls')).toBe(1);
    vi.advanceTimersByTime(1);
    expect(window.sum('calls')).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // nothing scheduled: buckets expire on read
  });

  it('refuses a window that is not a positive finite length, or a bucket count that is not whole', () => {
    expect(() => new SlidingWindow({ windowMs: 0 })).toThrow(RangeError);
    expect(() => new SlidingWindow({ windowMs: Number.NaN })).toThrow(RangeError);
    expect(() => new SlidingWindow({ windowMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => new SlidingWindow({ windowMs: 1000, buckets: 0 })).toThrow(RangeError);
    expect(() => new SlidingWindow({ windowMs: 1000, buckets: 2.5 })).toThrow(RangeError);
  });
});
