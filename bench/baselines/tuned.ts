/**
 * Baseline "tuned": Hono + Promise.all + undici.request through one shared keep-alive Agent,
 * what a careful engineer writes by hand. Also the fan-out baseline:
 * GET /v1/fan?ids=1,2,3[&limit=N] calls the limited upstream once per id, all at once
 * (no limit) or through a small hand-written p-limit-style limiter.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Agent, request } from 'undici';

const USERS_URL = process.env.USERS_URL;
const ORDERS_URL = process.env.ORDERS_URL;
const RECS_URL = process.env.RECS_URL;
const LIMITED_URL = process.env.LIMITED_URL;
const TIMEOUT_MS = 1000;
const FAN_TIMEOUT_MS = 10_000;

const agent = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });

async function getJson(url: string, timeoutMs = TIMEOUT_MS): Promise<unknown> {
  const { statusCode, body } = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(timeoutMs) });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`${url} answered ${statusCode}`);
  }
  return body.json();
}

/** At most `concurrency` tasks running; the rest wait in FIFO order. A finishing task hands its slot on. */
function limiter(concurrency: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async function run<T>(task: () => Promise<T>): Promise<T> {
    if (active < concurrency) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
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

app.get('/v1/fan', async (c) => {
  const ids = (c.req.query('ids') ?? '').split(',').filter((id) => /^[0-9]+$/.test(id));
  const limit = Number(c.req.query('limit') ?? 0);
  const fetchItem = (id: string) => getJson(`${LIMITED_URL}/items/${id}`, FAN_TIMEOUT_MS);
  try {
    let items: unknown[];
    if (limit > 0) {
      const run = limiter(limit);
      items = await Promise.all(ids.map((id) => run(() => fetchItem(id))));
    } else {
      items = await Promise.all(ids.map(fetchItem));
    }
    return c.json({ data: { items } });
  } catch (error) {
    return c.json({ error: String(error) }, 502);
  }
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' });
