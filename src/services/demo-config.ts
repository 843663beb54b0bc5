import { defineConfig, type TributaryConfigInput } from './config-schema.ts';

/** Where the demo's four upstreams are: URLs, or `${NAME}` placeholders filled from the environment. */
export interface DemoUrls {
  users: string;
  orders: string;
  recs: string;
  catalog: string;
}

/**
 * The built-in demo's endpoints, shared by the Node demo (real loopback URLs) and the Worker
 * (`${USERS_URL}`-style placeholders): a dashboard whose optional call times out, an `each`
 * over up to 500 ids, and a call that depends on another.
 */
/** What the demo's users upstream answers: `{ id, name, managerId }`. */
const user = {
  type: 'object',
  properties: {
    id: { type: 'string', required: true },
    name: { type: 'string', required: true },
    managerId: { type: 'string', nullable: true },
  },
} as const;

export function demoConfig(urls: DemoUrls): TributaryConfigInput {
  return defineConfig({
    upstreams: {
      users: { baseUrl: urls.users, timeoutMs: 500, maxConcurrency: 50 },
      orders: { baseUrl: urls.orders, timeoutMs: 500, maxConcurrency: 50 },
      recs: { baseUrl: urls.recs, timeoutMs: 250, maxConcurrency: 50 },
      catalog: { baseUrl: urls.catalog, timeoutMs: 1000, maxConcurrency: 100 },
    },
    endpoints: [
      {
        method: 'GET',
        path: '/v1/dashboard/:userId',
        description: 'Profile, orders and recommendations at once; recs is too slow and falls back to [].',
        deadlineMs: 1500,
        maxConcurrency: 8,
        input: { params: { userId: { type: 'string', pattern: '^[0-9]+$' } } },
        calls: {
          profile: { upstream: 'users', path: '/users/{params.userId}', required: true, schema: user },
          orders: {
            upstream: 'orders',
            path: '/orders',
            query: { user: '{params.userId}' },
            timeoutMs: 300,
            schema: { type: 'array', items: { type: 'object', properties: { id: { type: 'string', required: true }, total: { type: 'number', required: true } } } },
          },
          recs: {
            upstream: 'recs',
            path: '/recs/{params.userId}',
            fallback: [],
            schema: { type: 'array', items: { type: 'object', properties: { id: { type: 'string', required: true } } } },
          },
        },
      },
      {
        method: 'GET',
        path: '/v1/items',
        description: 'One catalog call per id, at most maxConcurrency at a time.',
        deadlineMs: 5000,
        maxConcurrency: 10,
        input: { query: { ids: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9-]{1,32}$' }, maxItems: 500, required: true } } },
        calls: {
          items: {
            upstream: 'catalog',
            path: '/items/{item}',
            each: '{query.ids}',
            schema: {
              type: 'object',
              properties: { id: { type: 'string', required: true }, name: { type: 'string', required: true }, price: { type: 'number', required: true } },
            },
          },
        },
      },
      {
        method: 'GET',
        path: '/v1/users/:userId/with-manager',
        description: 'The manager call waits for the user call and uses its managerId.',
        deadlineMs: 1500,
        input: { params: { userId: { type: 'string', pattern: '^[0-9]+$' } } },
        calls: {
          user: { upstream: 'users', path: '/users/{params.userId}', required: true, schema: user },
          manager: { upstream: 'users', path: '/users/{calls.user.managerId}', schema: user },
        },
      },
    ],
  });
}
