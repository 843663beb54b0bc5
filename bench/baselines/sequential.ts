/**
 * Baseline "sequential": one await after another (where the asyncio articles start), with
 * undici.request on its default keep-alive dispatcher. Latency is the sum of the upstreams'.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { request } from 'undici';

const USERS_URL = process.env.USERS_URL;
const ORDERS_URL = process.env.ORDERS_URL;
const RECS_URL = process.env.RECS_URL;
const TIMEOUT_MS = 1000;

async function getJson(url: string): Promise<unknown> {
  const { statusCode, body } = await request(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`${url} answered ${statusCode}`);
  }
  return body.json();
}

const app = new Hono();

app.get('/v1/agg/:id', async (c) => {
  const id = c.req.param('id');
  try {
    const user = await getJson(`${USERS_URL}/users/${id}`);
    const orders = await getJson(`${ORDERS_URL}/orders/${id}`);
    const recs = await getJson(`${RECS_URL}/recs/${id}`);
    return c.json({ data: { user, orders, recs } });
  } catch (error) {
    return c.json({ error: String(error) }, 502);
  }
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' });
