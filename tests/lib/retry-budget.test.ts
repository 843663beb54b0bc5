import { beforeEach, describe, expect, it } from 'vitest';
import { RetryBudget } from '../../src/lib/retry-budget.ts';

let now = 0;
const clock = (): number => now;

beforeEach(() => {
  now = 0;
});

/** Every call fails and wants `wanted` retries; returns how many the budget let through. */
function outage(budget: RetryBudget, calls: number, wanted: number): number {
  let retries = 0;
  for (let i = 0; i < calls; i++) {
    budget.recordCall();
    for (let r = 0; r < wanted; r++) if (budget.tryRetry()) retries++;
  }
  return retries;
}

describe('RetryBudget', () => {
  it('during a total outage, retries stay within ratio times the calls plus the minimum', () => {
    // minPerSecond 1 over a 10 s window: 10 retries whatever the traffic.
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, clock });
    const retries = outage(budget, 100, 2);
    expect(retries).toBeLessThanOrEqual(0.2 * 100 + 10);
    expect(retries).toBe(30); // and the whole budget was usable
    expect(budget.counts).toEqual({ calls: 100, retries: 30, allowed: 30, windowMs: 10_000 });
  });

  it('a quiet upstream can still be retried up to the minimum', () => {
    const budget = new RetryBudget({ ratio: 0.1, minPerSecond: 0.5, windowMs: 4000, clock });
    expect(outage(budget, 1, 5)).toBe(2); // 0.1 of one call, plus 0.5/s over 4 s
  });

  it('a refused retry spends nothing', () => {
    const budget = new RetryBudget({ ratio: 0.5, minPerSecond: 0, clock });
    budget.recordCall();
    budget.recordCall();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    expect(budget.tryRetry()).toBe(false);
    expect(budget.counts.retries).toBe(1);
    budget.recordCall();
    budget.recordCall();
    expect(budget.tryRetry()).toBe(true); // two more calls paid for exactly one more retry
    expect(budget.tryRetry()).toBe(false);
  });

  it('refills as the window slides past the retries spent', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 1, windowMs: 10_000, clock });
    expect(outage(budget, 20, 2)).toBe(10);
    expect(budget.tryRetry()).toBe(false);
    now = 5_000;
    expect(budget.tryRetry()).toBe(false); // the spent retries are still in the window
    now = 10_000;
    expect(budget.counts).toMatchObject({ calls: 0, retries: 0 });
    expect(budget.tryRetry()).toBe(true);
  });

  it('retries earned by calls expire with those calls', () => {
    const budget = new RetryBudget({ ratio: 1, minPerSecond: 0, windowMs: 1000, clock });
    budget.recordCall();
    now = 1000;
    expect(budget.tryRetry()).toBe(false);
  });

  it('ratio 0 with minimum 0 allows no retry at all', () => {
    const budget = new RetryBudget({ ratio: 0, minPerSecond: 0, clock });
    expect(outage(budget, 1000, 3)).toBe(0);
    expect(budget.counts).toEqual({ calls: 1000, retries: 0, allowed: 0, windowMs: 10_000 });
  });

  it('a ratio that is not exact in binary still pays for its whole retries', () => {
    // 0.7 * 90 is 62.99999999999999 in floating point: the 63rd retry is still paid for.
    const budget = new RetryBudget({ ratio: 0.7, minPerSecond: 0, clock });
    expect(outage(budget, 90, 1)).toBe(63);
    expect(budget.counts.allowed).toBe(63);
  });

  it('counts report calls, retries spent and the retries the window allows', () => {
    const budget = new RetryBudget({ ratio: 0.25, minPerSecond: 0.2, windowMs: 5000, clock });
    for (let i = 0; i < 6; i++) budget.recordCall();
    budget.tryRetry();
    expect(budget.counts).toEqual({ calls: 6, retries: 1, allowed: 2, windowMs: 5000 }); // 1.5 + 1
  });

  it('refuses a negative or non-finite ratio or minimum', () => {
    expect(() => new RetryBudget({ ratio: -0.1, minPerSecond: 0 })).toThrow(RangeError);
    expect(() => new RetryBudget({ ratio: Number.NaN, minPerSecond: 0 })).toThrow(RangeError);
    expect(() => new RetryBudget({ ratio: 0.2, minPerSecond: -1 })).toThrow(RangeError);
    expect(() => new RetryBudget({ ratio: 0.2, minPerSecond: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 0 })).toThrow(RangeError);
  });
});
