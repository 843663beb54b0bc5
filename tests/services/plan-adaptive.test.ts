import { describe, expect, it } from 'vitest';
import { refusalOf, upstreamOf } from './fixtures.ts';

/** The issues for an upstream `users` with these settings. */
const refusal = (settings: Record<string, unknown>): string[] =>
  refusalOf({
    upstreams: { users: { baseUrl: 'http://users.test', ...settings } },
    endpoints: [{ path: '/x', calls: { a: { upstream: 'users', path: '/a' } } }],
  });

describe('compilePlan: adaptive concurrency', () => {
  it('"maxConcurrency": "adaptive" gets the default bounds, and the pool is sized for the maximum', () => {
    const users = upstreamOf({ maxConcurrency: 'adaptive' });
    expect(users?.adaptive).toEqual({ min: 4, max: 512, initial: 32 });
    expect(users?.maxConcurrency).toBe(512);
  });

  it('"adaptiveConcurrency" alone turns it on with its own bounds, defaults for the rest', () => {
    const users = upstreamOf({ adaptiveConcurrency: { min: 2, max: 100 } });
    expect(users?.adaptive).toEqual({ min: 2, max: 100, initial: 32 });
  });

  it('a fixed limit stays fixed, 64 when unset', () => {
    expect(upstreamOf({})).toMatchObject({ adaptive: undefined, maxConcurrency: 64 });
    expect(upstreamOf({ maxConcurrency: 8 })).toMatchObject({ adaptive: undefined, maxConcurrency: 8 });
  });

  it('refuses a number in maxConcurrency next to adaptiveConcurrency, naming the upstream', () => {
    expect(refusal({ maxConcurrency: 50, adaptiveConcurrency: { max: 100 } })).toEqual([
      expect.stringMatching(/^upstream "users": "maxConcurrency": 50 and "adaptiveConcurrency" contradict each other/),
    ]);
  });

  it('refuses bounds out of order, naming the field', () => {
    expect(refusal({ adaptiveConcurrency: { min: 10, initial: 5, max: 100 } })).toEqual([
      'upstream "users", field "adaptiveConcurrency": needs min <= initial <= max, got min 10, initial 5, max 100',
    ]);
  });

  it('refuses a maxConcurrency that is neither a number nor "adaptive"', () => {
    expect(refusal({ maxConcurrency: 'auto' }).join('\n')).toMatch(/maxConcurrency/);
  });
});
