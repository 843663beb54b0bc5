/**
 * Baseline "naive": Hono + Promise.all + the global fetch, as a first hand-written BFF looks.
 * GET /v1/agg/:id calls users, orders and recs at once and merges them.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const USERS_URL = process.env.USERS_URL;
const ORDERS_URL = process.env.ORDERS_URL;
const RECS_URL = process.env.RECS_URL;
const TIMEOUT_MS = 1000;

async function getJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}

const app = new Hono();

app.get('/v1/agg/:id', async (c) => {
  const id = c.req.param('id');
  try {
    const [user, orders, recs] = await Promise.all([
      getJson(`${USERS_URL}/users/${id}`),
      getJson(`${ORDERS_URL}/orders/${id}`),
      getJson(`${RECS_URL}/recs/${id}`),
    ]);
    return c.json({ data: { user, orders, recs } });
  } catch (error) {
    return c.json({ error: String(error) }, 502);
  }
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' });
