import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';

function app() {
  const fake = fakeFetcher(() => json({ ok: true }));
  const plan = compilePlan({
    upstreams: { u: { baseUrl: 'http://u.test' } },
    endpoints: [
      {
        path: '/items',
        input: { query: { ids: { type: 'array', items: { type: 'integer' }, maxItems: 10_000 } } },
        calls: { a: { upstream: 'u', path: '/a' } },
      },
      {
        method: 'POST',
        path: '/orders',
        input: { body: { lines: { type: 'array', items: { type: 'integer' } } } },
        calls: { a: { upstream: 'u', path: '/a' } },
      },
    ],
  });
  return { app: createApp({ plan, fetcher: fake.fetcher, log: () => {} }).app, fake };
}

type Invalid = { error: { code: string; issues: { field: string; message: string }[] } };

describe('hostile input gets a short 400, never a 500 or a huge body', () => {
  it('a query list of 7,000 invalid values lists 20 issues and counts the rest', async () => {
    const { app: gateway, fake } = app();
    const ids = new Array(7000).fill('x').join(',');
    const res = await gateway.request(`/items?ids=${ids}`);
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text.length).toBeLessThan(4096);
    const body = JSON.parse(text) as Invalid;
    expect(body.error.issues).toHaveLength(21);
    expect(body.error.issues.at(-1)).toEqual({ field: 'request', message: 'and 6980 more issues' });
    expect(fake.calls).toHaveLength(0);
  });

  it('a 1 MB body of 250,000 invalid elements in an array with no maxItems is one issue', async () => {
    const { app: gateway } = app();
    const lines = new Array(250_000).fill('"x"').join(',');
    const res = await gateway.request('/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"lines":[${lines}]}`,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Invalid;
    expect(body.error.issues).toEqual([{ field: 'body.lines', message: 'must have at most 100 elements' }]);
  });
});
