import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTimer } from '../../src/lib/timer.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('startTimer', () => {
  it('fires once after ms', () => {
    const fire = vi.fn();
    startTimer(fire, 250);
    vi.advanceTimersByTime(249);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(fire).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancel stops it and leaves no timer', () => {
    const fire = vi.fn();
    const cancel = startTimer(fire, 250);
    cancel();
    cancel();
    vi.advanceTimersByTime(1000);
    expect(fire).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a delay above 2^31-1 ms fires on time, not after 1 ms, and can be cancelled mid-way', () => {
    const fire = vi.fn();
    const ms = 5_000_000_000;
    startTimer(fire, ms);
    vi.advanceTimersByTime(ms - 1);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);

    const other = vi.fn();
    const cancel = startTimer(other, ms);
    vi.advanceTimersByTime(2 ** 31); // past the first step: a re-armed timer is pending
    cancel();
    vi.advanceTimersByTime(ms);
    expect(other).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('Infinity never fires and arms no timer; negative and NaN fire on the next turn', () => {
    const never = vi.fn();
    startTimer(never, Number.POSITIVE_INFINITY);
    expect(vi.getTimerCount()).toBe(0);
    const soon = vi.fn();
    startTimer(soon, -5);
    startTimer(soon, Number.NaN);
    vi.advanceTimersByTime(0);
    expect(soon).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(1e12);
    expect(never).not.toHaveBeenCalled();
  });
});
