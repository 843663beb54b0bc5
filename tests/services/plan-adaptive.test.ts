import { describe, expect, it } from 'vitest';
import { compilePlan, ConfigError } from '../../src/services/plan/index.ts';

function plan(upstream: Record<string, unknown>) {
  return compilePlan({
    upstreams: { users: { baseUrl: 'http://127.0.0.1:4001', ...upstream } },
    endpoints: [{ path: '/x', calls: { a: { upstream: 'users', path: '/a' } } }],
  });
}

function refusal(upstream: Record<string, unknown>): string[] {
  try {
    plan(upstream);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the config to be refused');
}

describe('compilePlan: adaptive concurrency', () => {
  it('"maxConcurrency": "adaptive" gets the default bounds, and the pool is sized for the maximum', () => {
    const users = plan({ maxConcurrency: 'adaptive' }).upstreams.get('users');
    expect(users?.adaptive).toEqual({ min: 4, max: 512, initial: 32 });
    expect(users?.maxConcurrency).toBe(512);
  });

  it('"adaptiveConcurrency" alone turns it on with its own bounds, defaults for the rest', () => {
    const users = plan({ adaptiveConcurrency: { min: 2, max: 100 } }).upstreams.get('users');
    expect(users?.adaptive).toEqual({ min: 2, max: 100, initial: 32 });
  });

  it('a fixed limit stays fixed, 64 when unset', () => {
    expect(plan({}).upstreams.get('users')).toMatchObject({ adaptive: undefined, maxConcurrency: 64 });
    expect(plan({ maxConcurrency: 8 }).upstreams.get('users')).toMatchObject({ adaptive: undefined, maxConcurrency: 8 });
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
