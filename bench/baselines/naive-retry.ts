/**
 * Baseline "naive-retry" (scenario 6): Hono + undici.request through one shared keep-alive Agent,
 * like `tuned`, with the retry loop people write by hand: up to 3 requests in all (one try, two
 * retries) on a network error or a 5xx, exponential backoff with full jitter (50 ms, then up to
 * 100 ms), and no retry budget and no breaker: every failed call is retried, whatever the others saw.
 *
 *   GET /v1/ok/:id      OK_URL/items/:id       (readiness and warm-up)
 *   GET /v1/flaky/:id   FLAKY_URL/items/:id
 *   GET /v1/down/:id    DOWN_URL/items/:id
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Agent, request } from 'undici';

const TARGETS: Record<string, string | undefined> = { ok: process.env.OK_URL, flaky: process.env.FLAKY_URL, down: process.env.DOWN_URL };
const TIMEOUT_MS = 1000;
const ATTEMPTS = 3;
const BACKOFF_MS = 50;

const agent = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson(url: string): Promise<unknown> {
  const { statusCode, body } = await request(url, { dispatcher: agent, signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (statusCode !== 200) {
    await body.dump();
    throw Object.assign(new Error(`${url} answered ${statusCode}`), { statusCode });
  }
  return body.json();
}

async function withRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      const retryable = status === undefined || status >= 500;
      if (!retryable || attempt >= ATTEMPTS) throw error;
      await sleep(Math.random() * BACKOFF_MS * 2 ** (attempt - 1));
    }
  }
}

const app = new Hono();

app.get('/v1/:target/:id', async (c) => {
  const base = TARGETS[c.req.param('target')];
  if (!base) return c.json({ error: 'not found' }, 404);
  try {
    const item = await withRetry(() => getJson(`${base}/items/${c.req.param('id')}`));
    return c.json({ data: { item } });
  } catch (error) {
    return c.json({ error: String(error) }, 502);
  }
});

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' });
