/** Configs shared by the in-process tracing tests: a dashboard fan-out and an `each` endpoint. */
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';

export interface DashboardOptions {
  /** The endpoint's per-request limit. */
  maxConcurrency?: number;
  /** The `users` upstream's process-wide bulkhead. */
  usersConcurrency?: number;
  /** Per-try timeout of the `recs` call. */
  recsTimeoutMs?: number;
  /** Whether `profile` is required (a failure cancels its siblings). */
  profileRequired?: boolean;
}

/**
 * GET /v1/dashboard/:userId: profile (users), orders, recs, and `manager`, which depends on
 * profile. GET /v1/items?ids=...: one catalog call per id.
 */
export function dashboardConfig(options: DashboardOptions = {}): TributaryConfigInput {
  return {
    upstreams: {
      users: { baseUrl: 'http://users.test', maxConcurrency: options.usersConcurrency ?? 64 },
      orders: { baseUrl: 'http://orders.test', headers: { authorization: 'Bearer do-not-log-me' } },
      recs: { baseUrl: 'http://recs.test' },
      catalog: { baseUrl: 'http://catalog.test' },
    },
    endpoints: [
      {
        path: '/v1/dashboard/:userId',
        deadlineMs: 2000,
        maxConcurrency: options.maxConcurrency ?? 16,
        calls: {
          profile: { upstream: 'users', path: '/users/{params.userId}', required: options.profileRequired ?? true },
          orders: {
            upstream: 'orders',
            path: '/orders',
            // `api_key` and `session` look secret and must not reach url.full; `user` may.
            query: { user: '{params.userId}', api_key: 'k-123-secret', session: 's-456-secret' },
          },
          recs: { upstream: 'recs', path: '/recs/{params.userId}', fallback: [], timeoutMs: options.recsTimeoutMs ?? 1000 },
        },
      },
      {
        path: '/v1/users/:userId/with-manager',
        deadlineMs: 2000,
        maxConcurrency: options.maxConcurrency ?? 16,
        calls: {
          profile: { upstream: 'users', path: '/users/{params.userId}', required: true },
          manager: { upstream: 'users', path: '/users/{calls.profile.managerId}' },
          other: { upstream: 'orders', path: '/orders' },
        },
      },
      {
        path: '/v1/items',
        deadlineMs: 5000,
        input: { query: { ids: { type: 'array', maxItems: 500, required: true } } },
        calls: { items: { upstream: 'catalog', path: '/items/{item}', each: '{query.ids}' } },
      },
    ],
  };
}
