/**
 * Code-first use: hand-written Hono routes that use Tributary's engine and primitives
 * directly, for the endpoints a config cannot express (custom shaping, custom status rules).
 *
 * - `/v1/profile-card/:id` runs a compiled plan with `new Engine(plan, fetcher).run(...)`:
 *   same deadline, limits, bulkheads and error codes as a configured endpoint, your own response.
 * - `/v1/status` needs no config at all: `gather` from `src/lib` fans out hand-written calls
 *   under a limit and a deadline and returns one outcome per call.
 *
 * Run it, with `npm run example-upstreams` serving the URLs below in another terminal:
 *   npx node examples/code-first.ts
 */
import { Hono } from 'hono';
import { Deadline, gather, TributaryError, type Outcome } from '../src/lib/index.ts';
import { defineConfig } from '../src/services/config-schema.ts';
import { Engine } from '../src/services/engine/index.ts';
import { compilePlan, type Env } from '../src/services/plan/index.ts';
import type { Fetcher } from '../src/services/upstream/index.ts';

export const UPSTREAMS = {
  users: 'http://127.0.0.1:4001',
  orders: 'http://127.0.0.1:4002',
} as const;

/** The plan the profile card runs: compiled (and so validated) once, when the app is built. */
const cardConfig = defineConfig({
  upstreams: {
    users: { baseUrl: UPSTREAMS.users, timeoutMs: 300, headers: { 'x-api-key': '${USERS_API_KEY}' } },
    orders: { baseUrl: UPSTREAMS.orders, timeoutMs: 300 },
  },
  endpoints: [
    {
      path: '/internal/profile-card/:id',
      deadlineMs: 800,
      calls: {
        user: { upstream: 'users', path: '/users/{params.id}', required: true },
        orders: { upstream: 'orders', path: '/orders', query: { user: '{params.id}' }, fallback: [] },
      },
    },
  ],
});

interface User {
  id: string;
  name: string;
}

/**
 * Builds the app over an injected transport: `fetch` in production, a fake in tests.
 *
 * @example
 * const app = createCodeFirstApp(fetch, process.env);
 * const res = await app.request('/v1/profile-card/42');
 */
export function createCodeFirstApp(fetcher: Fetcher, env: Env): Hono {
  const plan = compilePlan(cardConfig, env);
  const engine = new Engine(plan, fetcher);
  const card = plan.endpoints.find((e) => e.path === '/internal/profile-card/:id');
  if (!card) throw new Error('the profile card endpoint is missing from its plan');

  const app = new Hono();

  app.get('/v1/profile-card/:id', async function profileCard(c) {
    const id = c.req.param('id');
    if (!/^[0-9]+$/.test(id)) return c.json({ error: 'id must be a number' }, 400);
    const result = await engine.run(card, { params: { id }, query: {} }, c.req.raw.signal);
    // Our own status rule: no user, no card.
    if (result.failed) return c.json({ error: `${result.failed.call} failed (${result.failed.code})` }, 502);
    const user = result.data.user as User;
    const orders = result.data.orders as unknown[];
    return c.json({ name: user.name, orderCount: orders.length, partial: !result.complete });
  });

  app.get('/v1/status', async function status(c) {
    // The request's budget; the client leaving ends it early too.
    const deadline = Deadline.after(500, { signal: c.req.raw.signal });
    try {
      const names = Object.keys(UPSTREAMS) as (keyof typeof UPSTREAMS)[];
      const outcomes = await gather(
        names.map((name) => ({ name, run: ({ signal }) => getJson(fetcher, `${UPSTREAMS[name]}/healthz`, signal) })),
        { limit: 4, signal: deadline.signal },
      );
      const report = Object.fromEntries(names.map((name, i) => [name, describe(outcomes[i])]));
      const allUp = outcomes.every((o) => o.status === 'ok');
      return c.json({ up: allUp, upstreams: report }, allUp ? 200 : 503);
    } finally {
      deadline.dispose();
    }
  });

  return app;
}

/** A small JSON GET: a non-2xx answer becomes an `http_status` error and its body is released. */
async function getJson(fetcher: Fetcher, url: string, signal: AbortSignal): Promise<unknown> {
  const response = await fetcher(url, { method: 'GET', signal, headers: { accept: 'application/json' } });
  if (response.status < 200 || response.status > 299) {
    await response.body?.cancel();
    throw new TributaryError('http_status', `${url} answered ${response.status}`, { status: response.status });
  }
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body ?? []) text += decoder.decode(chunk, { stream: true });
  return JSON.parse(text + decoder.decode()) as unknown;
}

function describe(outcome: Outcome<unknown> | undefined): string {
  if (!outcome) return 'unknown';
  if (outcome.status === 'ok') return 'up';
  const error = outcome.status === 'error' ? outcome.error : outcome.reason;
  return error instanceof TributaryError ? error.code : 'down';
}

if (import.meta.main) {
  const { serve } = await import('@hono/node-server');
  const app = createCodeFirstApp(fetch, { USERS_API_KEY: process.env.USERS_API_KEY ?? 'dev-key' });
  serve({ fetch: app.fetch, port: 8788, hostname: '127.0.0.1' }, (info) => {
    console.log(`code-first example on http://127.0.0.1:${info.port}/v1/profile-card/42 and /v1/status`);
  });
}
