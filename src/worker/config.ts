/**
 * The config bundled with the Worker. Workers have no file system, so the config is part of
 * the bundle: edit this module (or make it re-export a JSON file:
 * `import config from '../../tributary.json' with { type: 'json' }`) and redeploy.
 *
 * Base URLs and secret headers are `${NAME}` placeholders, filled from the Worker's variables
 * and secrets (`[vars]` in wrangler.toml, `wrangler secret put NAME`, `--var NAME:value` in
 * dev) when the plan is compiled.
 *
 * This is the built-in demo (the same endpoints as the Node demo in src/node/demo.ts), with its
 * upstreams named by USERS_URL, ORDERS_URL, RECS_URL and CATALOG_URL; `npm run dev:worker`
 * starts the demo upstreams and sets them.
 */
import { defineConfig } from '../services/config-schema.ts';

export default defineConfig({
  upstreams: {
    users: { baseUrl: '${USERS_URL}', timeoutMs: 500, maxConcurrency: 50 },
    orders: { baseUrl: '${ORDERS_URL}', timeoutMs: 500, maxConcurrency: 50 },
    recs: { baseUrl: '${RECS_URL}', timeoutMs: 250, maxConcurrency: 50 },
    catalog: { baseUrl: '${CATALOG_URL}', timeoutMs: 1000, maxConcurrency: 100 },
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
        profile: { upstream: 'users', path: '/users/{params.userId}', required: true },
        orders: { upstream: 'orders', path: '/orders', query: { user: '{params.userId}' }, timeoutMs: 300 },
        recs: { upstream: 'recs', path: '/recs/{params.userId}', fallback: [] },
      },
    },
    {
      method: 'GET',
      path: '/v1/items',
      description: 'One catalog call per id, at most maxConcurrency at a time.',
      deadlineMs: 5000,
      maxConcurrency: 10,
      input: { query: { ids: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9-]{1,32}$' }, maxItems: 500, required: true } } },
      calls: { items: { upstream: 'catalog', path: '/items/{item}', each: '{query.ids}' } },
    },
    {
      method: 'GET',
      path: '/v1/users/:userId/with-manager',
      description: 'The manager call waits for the user call and uses its managerId.',
      deadlineMs: 1500,
      input: { params: { userId: { type: 'string', pattern: '^[0-9]+$' } } },
      calls: {
        user: { upstream: 'users', path: '/users/{params.userId}', required: true },
        manager: { upstream: 'users', path: '/users/{calls.user.managerId}' },
      },
    },
  ],
});
