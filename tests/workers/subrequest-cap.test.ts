import { describe, expect, it } from 'vitest';
import { testWorker, upstreamScope } from './helpers.ts';

const ids = (n: number): string => Array.from({ length: n }, (_, i) => `i${i}`).join(',');

/** `/v1/items?ids=` makes one call per id, plus one plain call. */
const itemsConfig = {
  upstreams: { api: { baseUrl: '${API_URL}' } },
  endpoints: [
    {
      path: '/v1/items',
      maxConcurrency: 4,
      input: { query: { ids: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9]+$' }, maxItems: 200, required: true } } },
      calls: {
        head: { upstream: 'api', path: '/json/head' },
        items: { upstream: 'api', path: '/json/{item}', each: '{query.ids}' },
      },
    },
    {
      method: 'POST',
      path: '/v1/batch',
      input: { body: { ids: { type: 'array', items: { type: 'string' }, required: true } } },
      calls: { items: { upstream: 'api', path: '/json/{item}', each: '{body.ids}' } },
    },
    { path: '/v1/fixed', calls: { one: { upstream: 'api', path: '/json/one' } } },
  ],
} as const;

describe('the subrequest cap (TRIBUTARY_MAX_SUBREQUESTS, default 50)', () => {
  it('refuses a request that could exceed the cap with 422, before any upstream call', async () => {
    const up = upstreamScope('cap');
    const { request } = testWorker(itemsConfig as never);
    const res = await request(`/v1/items?ids=${ids(50)}`, { API_URL: up.base }, { headers: { 'x-request-id': 'r-42' } });
    expect(res.status).toBe(422);
    expect(res.headers.get('x-request-id')).toBe('r-42');
    expect(res.body).toEqual({
      error: {
        code: 'too_many_subrequests',
        message: 'GET /v1/items would make up to 51 upstream requests; this deployment allows 50 per request',
        subrequests: 51,
        limit: 50,
        calls: [
          { call: 'head', count: 1, rule: 'one' },
          { call: 'items', count: 50, rule: 'each-input' },
        ],
      },
    });
    expect((await up.stats()).requests).toBe(0);
  });

  it('lets a request that fits exactly through, and every call runs', async () => {
    const up = upstreamScope('fits');
    const { request } = testWorker(itemsConfig as never);
    const res = await request(`/v1/items?ids=${ids(49)}`, { API_URL: up.base });
    expect(res.status).toBe(200);
    expect(res.body.data.items).toHaveLength(49);
    expect((await up.stats()).requests).toBe(50);
  });

  it('takes the cap from the env (a Paid plan allows 1000)', async () => {
    const up = upstreamScope('paid');
    const { request } = testWorker(itemsConfig as never);
    const env = { API_URL: up.base, TRIBUTARY_MAX_SUBREQUESTS: '1000' };
    const res = await request(`/v1/items?ids=${ids(60)}`, env);
    expect(res.status).toBe(200);
    expect(res.body.data.items).toHaveLength(60);
    const small = await request(`/v1/items?ids=${ids(3)}`, { ...env, TRIBUTARY_MAX_SUBREQUESTS: '3' });
    expect(small.status).toBe(422);
  });

  it('counts `?ids=a&ids=b` lists and JSON body arrays the way the routes read them', async () => {
    const up = upstreamScope('forms');
    const { request } = testWorker(itemsConfig as never);
    const env = { API_URL: up.base, TRIBUTARY_MAX_SUBREQUESTS: '3' };
    expect((await request('/v1/items?ids=a&ids=b,c', env)).status).toBe(422);
    expect((await request('/v1/items?ids=a&ids=b', env)).status).toBe(200);
    const post = (list: string[]) =>
      request('/v1/batch', env, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids: list }) });
    expect((await post(['a', 'b', 'c', 'd'])).status).toBe(422);
    const ok = await post(['a', 'b', 'c']);
    expect(ok.status).toBe(200);
    expect(ok.body.data.items.map((i: { id: string }) => i.id)).toEqual(['a', 'b', 'c']);
  });

  it('leaves invalid input to the app: its 400 wins over the 422', async () => {
    const up = upstreamScope('invalid');
    const { request } = testWorker(itemsConfig as never);
    const env = { API_URL: up.base, TRIBUTARY_MAX_SUBREQUESTS: '3' };
    const bad = await request('/v1/items?ids=a,b,c,D!', env);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
    const tooMany = await request(`/v1/items?ids=${ids(201)}`, env);
    expect(tooMany.status).toBe(400);
    const badBody = await request('/v1/batch', env, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ids": [1, 2, 3, 4' });
    expect(badBody.status).toBe(400);
    expect((await up.stats()).requests).toBe(0);
  });

  it('counts `maxItems` for `each` over another call; such an endpoint is refused and the log says what to lower', async () => {
    const up = upstreamScope('each-result');
    const { request, logs } = testWorker({
      upstreams: { api: { baseUrl: '${API_URL}' } },
      endpoints: [
        {
          path: '/v1/chain',
          calls: {
            list: { upstream: 'api', path: '/json/list' },
            each: { upstream: 'api', path: '/json/{item}', each: '{calls.list.query}', maxItems: 100 },
          },
        },
      ],
    });
    const res = await request('/v1/chain', { API_URL: up.base });
    expect(res.status).toBe(422);
    expect(res.body.error.subrequests).toBe(101);
    expect(res.body.error.calls).toContainEqual({ call: 'each', count: 100, rule: 'each-result' });
    expect(logs.join('\n')).toMatch(/GET \/v1\/chain needs up to 101 subrequests.*lower "maxItems" of each/);
    expect((await up.stats()).requests).toBe(0);
  });

  it('counts every retry attempt and hedge: a request that could exceed the cap with them is refused up front', async () => {
    const up = upstreamScope('retries');
    const { request } = testWorker({
      upstreams: { api: { baseUrl: '${API_URL}', retry: { attempts: 3 } } },
      endpoints: [
        {
          path: '/v1/items',
          input: { query: { ids: { type: 'array', items: { type: 'string' }, required: true } } },
          calls: {
            head: { upstream: 'api', path: '/json/head', retry: false, hedge: { maxExtra: 1 } },
            items: { upstream: 'api', path: '/json/{item}', each: '{query.ids}' },
          },
        },
      ],
    });
    // 2 for the hedged call, 3 per element for the retried one: 2 + 16 x 3 = 50 fits, 17 does not.
    const res = await request(`/v1/items?ids=${ids(17)}`, { API_URL: up.base });
    expect(res.status).toBe(422);
    expect(res.body.error.subrequests).toBe(53);
    expect(res.body.error.calls).toEqual([
      { call: 'head', count: 2, rule: 'one', attempts: 2 },
      { call: 'items', count: 51, rule: 'each-input', attempts: 3 },
    ]);
    expect((await up.stats()).requests).toBe(0);
  });

  it('an invalid cap is a configuration problem: 500, and the log names the variable', async () => {
    const up = upstreamScope('bad-cap');
    const { request, logs } = testWorker(itemsConfig as never);
    const res = await request('/v1/fixed', { API_URL: up.base, TRIBUTARY_MAX_SUBREQUESTS: 'lots' });
    expect(res.status).toBe(500);
    expect(logs.join('\n')).toContain('TRIBUTARY_MAX_SUBREQUESTS must be a positive integer, got "lots"');
  });
});
