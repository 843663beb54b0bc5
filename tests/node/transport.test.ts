import { describe, expect, it } from 'vitest';
import { connectionsByOrigin } from '../../src/node/transport.ts';
import { compilePlan } from '../../src/services/plan/index.ts';

describe('Node transport: sockets per origin', () => {
  it('an origin shared by several upstreams gets the sum of their bulkheads, so none queues inside the pool', () => {
    const plan = compilePlan({
      upstreams: {
        users: { baseUrl: 'http://api.test/users', maxConcurrency: 40 },
        orders: { baseUrl: 'http://api.test/orders', maxConcurrency: 24 },
        recs: { baseUrl: 'http://recs.test', maxConcurrency: 8 },
      },
      endpoints: [{ path: '/x', calls: { a: { upstream: 'users', path: '/a' } } }],
    });
    const connections = connectionsByOrigin(plan);
    expect(connections('http://api.test')).toBe(64);
    expect(connections('http://recs.test:80')).toBe(8);
    expect(connections('http://elsewhere.test')).toBe(128);
  });
});
