/**
 * The dashboard config of `dashboard.config.json`, written in TypeScript: `defineConfig` types
 * every field (a typo is a compile error), and the same zod schema validates it at start-up.
 * `tributary` is this package's own name: a config anywhere in the project imports it the same
 * way, with no relative path into src/.
 *
 * Run it (with `npm run example-upstreams` in another terminal):
 *   TRIBUTARY_CONFIG=examples/dashboard.config.ts USERS_API_KEY=secret npm start
 */
import { defineConfig } from 'tributary';

export default defineConfig({
  upstreams: {
    users: {
      baseUrl: 'http://127.0.0.1:4001',
      timeoutMs: 500,
      maxConcurrency: 50,
      // A secret from the environment, never from the client.
      headers: { 'x-api-key': '${USERS_API_KEY}' },
      // Client headers this upstream may see; every other client header stays here.
      forwardHeaders: ['accept-language', 'x-tenant'],
    },
    orders: { baseUrl: 'http://127.0.0.1:4002/api', timeoutMs: 800 },
    recs: { baseUrl: 'http://127.0.0.1:4003', timeoutMs: 300 },
    catalog: { baseUrl: 'http://127.0.0.1:4004', maxConcurrency: 20, maxQueue: 500, maxBodyBytes: 256 * 1024 },
  },
  endpoints: [
    {
      method: 'GET',
      path: '/v1/dashboard/:userId',
      description: 'Everything the dashboard page shows, in one request.',
      deadlineMs: 1500,
      maxConcurrency: 8,
      input: {
        params: { userId: { type: 'string', pattern: '^[0-9]+$' } },
        query: {
          ids: { type: 'array', items: { type: 'string', pattern: '^[A-Za-z0-9-]+$' }, maxItems: 100 },
          limit: { type: 'integer', minimum: 1, maximum: 50 },
        },
      },
      calls: {
        // Without the profile there is no dashboard: its failure answers 502 (504 on time).
        profile: { upstream: 'users', path: '/users/{params.userId}', required: true },
        // Optional, with a tighter timeout than its upstream's default.
        orders: { upstream: 'orders', path: '/orders', query: { user: '{params.userId}', limit: '{query.limit}' }, timeoutMs: 300 },
        // Optional with a fallback: an empty list when the recommender is down.
        recs: { upstream: 'recs', path: '/recs/{params.userId}', fallback: [] },
        // One call per id, under the endpoint's maxConcurrency and the catalog's bulkhead.
        items: { upstream: 'catalog', path: '/items/{item}', each: '{query.ids}', fallback: null },
        // Depends on the profile: starts when it has answered, with its field.
        manager: { upstream: 'users', path: '/users/{calls.profile.managerId}' },
      },
    },
  ],
  cors: { origins: ['http://localhost:5173'] },
});
