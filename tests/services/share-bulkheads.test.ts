import { describe, expect, it } from 'vitest';
import { compilePlan, shareBulkheads } from '../../src/services/plan/index.ts';

const plan = compilePlan({
  upstreams: {
    big: { baseUrl: 'http://big.test', maxConcurrency: 50 },
    small: { baseUrl: 'http://small.test', maxConcurrency: 3 },
    adaptive: { baseUrl: 'http://adaptive.test', adaptiveConcurrency: { min: 4, max: 100, initial: 32 } },
  },
  endpoints: [{ path: '/v1/x', calls: { a: { upstream: 'big', path: '/a' }, b: { upstream: 'small', path: '/b' } } }],
});

describe('shareBulkheads', () => {
  it("gives each of N processes its share of every upstream's bulkhead, rounded down but at least 1", () => {
    const shared = shareBulkheads(plan, 4);
    expect(shared.upstreams.get('big')?.maxConcurrency).toBe(12);
    expect(shared.upstreams.get('small')?.maxConcurrency).toBe(1);
  });

  it("divides an adaptive limit's bounds and start the same way", () => {
    expect(shareBulkheads(plan, 4).upstreams.get('adaptive')?.adaptive).toEqual({ min: 1, max: 25, initial: 8 });
  });

  it('points the calls at the shared upstreams, and leaves the plan it was given unchanged', () => {
    const shared = shareBulkheads(plan, 2);
    expect(shared.endpoints[0]?.calls.map((c) => c.upstream.maxConcurrency)).toEqual([25, 1]);
    expect(plan.upstreams.get('big')?.maxConcurrency).toBe(50);
    expect(plan.endpoints[0]?.calls[0]?.upstream.maxConcurrency).toBe(50);
  });

  it('is the same plan for one process, and refuses a count that is not a whole number >= 1', () => {
    expect(shareBulkheads(plan, 1)).toBe(plan);
    expect(() => shareBulkheads(plan, 0)).toThrow(RangeError);
    expect(() => shareBulkheads(plan, 1.5)).toThrow(RangeError);
  });
});
