import { describe, expect, it } from 'vitest';
import { call, gateway, upstreamScope } from './harness.ts';

/** An upstream answer with nesting and an array of objects: the echo of this POST body. */
const ORDER = { items: [{ id: 'a1', qty: 2, secret: 'x' }, { id: 'b2', qty: 1, secret: 'y' }], address: { city: 'Paris', zip: '75001' } };

describe('response shaping: pick', () => {
  it('keeps only the picked paths of a call, nested structure kept and missing paths left out', async () => {
    const up = upstreamScope('pick');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/pick',
          calls: { order: { upstream: 'u', method: 'POST', path: '/json/o1', body: ORDER, pick: ['id', 'body.address.city', 'body.nothing', 'body.items.id'] } },
        },
      ],
    });
    const res = await call(gw, '/v1/pick');
    expect(res.status).toBe(200);
    expect(res.body.data.order).toEqual({ id: 'o1', body: { address: { city: 'Paris' }, items: [{ id: 'a1' }, { id: 'b2' }] } });
  });

  it('applies pick to each element of an each call, and leaves a fallback as it is', async () => {
    const up = upstreamScope('pick-each');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/items',
          input: { query: { ids: { type: 'array', items: { type: 'string' } } } },
          calls: { item: { upstream: 'u', path: '/json/{item}', each: '{query.ids}', pick: ['id'], fallback: { gone: true } } },
        },
      ],
    });
    const res = await call(gw, '/v1/items?ids=1,2');
    expect(res.body.data.item).toEqual([{ id: '1' }, { id: '2' }]);
  });

  it('lets dependent calls use fields that pick leaves out of data', async () => {
    const up = upstreamScope('pick-dep');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/dep',
          calls: {
            first: { upstream: 'u', method: 'POST', path: '/json/f', body: ORDER, pick: ['id'] },
            second: { upstream: 'u', path: '/json/{calls.first.body.address.city}', pick: ['id'] },
          },
        },
      ],
    });
    const res = await call(gw, '/v1/dep');
    expect(res.body.data).toEqual({ first: { id: 'f' }, second: { id: 'Paris' } });
  });
});

describe('response shaping: the response template', () => {
  it('makes data the rendered template, keeping the JSON type of a single ref', async () => {
    const up = upstreamScope('tpl');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/users/:userId',
          calls: { order: { upstream: 'u', method: 'POST', path: '/json/{params.userId}', body: ORDER } },
          response: {
            id: '{params.userId}',
            city: '{calls.order.body.address.city}',
            items: '{calls.order.body.items}',
            firstItem: '{calls.order.body.items.0.id}',
            qty: '{calls.order.body.items.1.qty}',
            label: 'user {params.userId} in {calls.order.body.address.city}',
            nested: { count: ['{calls.order.body.items.0.qty}'] },
          },
        },
      ],
    });
    const res = await call(gw, '/v1/users/42');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      id: '42',
      city: 'Paris',
      items: ORDER.items,
      firstItem: 'a1',
      qty: 1,
      label: 'user 42 in Paris',
      nested: { count: [2] },
    });
    expect(res.body.meta.complete).toBe(true);
  });

  it('gives null for a missing path or index, and an empty text inside mixed text', async () => {
    const up = upstreamScope('tpl-missing');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/missing',
          calls: { order: { upstream: 'u', method: 'POST', path: '/json/o', body: ORDER } },
          response: { third: '{calls.order.body.items.2.id}', none: '{calls.order.body.nope}', text: '[{calls.order.body.items.9.id}]' },
        },
      ],
    });
    const res = await call(gw, '/v1/missing');
    expect(res.body.data).toEqual({ third: null, none: null, text: '[]' });
  });

  it('gives a failed call its fallback, or null, and leaves errors and meta as they are', async () => {
    const up = upstreamScope('tpl-failed');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/failed',
          calls: {
            ok: { upstream: 'u', path: '/json/ok' },
            withFallback: { upstream: 'u', path: '/status/500', fallback: { items: [] } },
            without: { upstream: 'u', path: '/status/503' },
          },
          response: { id: '{calls.ok.id}', list: '{calls.withFallback.items}', all: '{calls.withFallback}', other: '{calls.without}', deep: '{calls.without.x}' },
        },
      ],
    });
    const res = await call(gw, '/v1/failed');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ id: 'ok', list: [], all: { items: [] }, other: null, deep: null });
    expect(res.body.errors.map((e) => [e.call, e.status])).toEqual([['withFallback', 500], ['without', 503]]);
    expect(res.body.meta.complete).toBe(false);
  });

  it('sees a picked call as data holds it', async () => {
    const up = upstreamScope('tpl-pick');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/tpl-pick',
          calls: { order: { upstream: 'u', method: 'POST', path: '/json/o', body: ORDER, pick: ['body.items.id'] } },
          response: { order: '{calls.order}', ids: '{calls.order.body.items}' },
        },
      ],
    });
    const res = await call(gw, '/v1/tpl-pick');
    expect(res.body.data).toEqual({ order: { body: { items: [{ id: 'a1' }, { id: 'b2' }] } }, ids: [{ id: 'a1' }, { id: 'b2' }] });
  });
});

describe('template refs by array index', () => {
  /** `orders` answers ORDER (under `body`); `next` is a call that uses it. */
  const indexed = (label: string, next: Record<string, unknown>) => {
    const up = upstreamScope(label);
    return gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/index', calls: { orders: { upstream: 'u', method: 'POST', path: '/json/list', body: ORDER }, next: { upstream: 'u', ...next } as never } }],
    });
  };

  it('uses a nested field of an array element in a dependent call path', async () => {
    const gw = indexed('index', { path: '/json/{calls.orders.body.items.0.id}', query: { qty: '{calls.orders.body.items.1.qty}' } });
    const res = await call(gw, '/v1/index');
    expect(res.body.data.next.id).toBe('a1');
    expect(res.body.data.next.query).toEqual({ qty: '1' });
  });

  it('fails the dependent call with invalid_response, naming the ref, when the index is missing from its path', async () => {
    const gw = indexed('index-missing', { path: '/json/{calls.orders.body.items.5.id}', query: { qty: '{calls.orders.body.items.7.qty}' } });
    const res = await call(gw, '/v1/index');
    expect(res.status).toBe(200);
    expect(res.body.data.next).toBeNull();
    expect(res.body.errors).toEqual([
      expect.objectContaining({ call: 'next', code: 'invalid_response', message: 'next: {calls.orders.body.items.5.id} is missing, not a string or number', attempts: 0 }),
    ]);
  });

  it('leaves out a query parameter whose index is missing', async () => {
    const gw = indexed('index-query', { path: '/json/q', query: { qty: '{calls.orders.body.items.7.qty}', first: '{calls.orders.body.items.0.id}' } });
    const res = await call(gw, '/v1/index');
    expect(res.body.data.next.query).toEqual({ first: 'a1' });
  });
});

describe('status mapping', () => {
  const config = (base: string) => ({
    upstreams: { u: { baseUrl: base } },
    endpoints: [
      {
        path: '/v1/users/:code',
        calls: {
          profile: { upstream: 'u', path: '/status/{params.code}', required: true, statusMap: { '404': 404, '401': 401, '403': 403 } },
          recs: { upstream: 'u', path: '/json/recs' },
        },
      },
    ],
  });

  it('answers a mapped upstream status of a required call with that status and the usual body', async () => {
    const gw = gateway(config(upstreamScope('status-map').base));
    const res = await call(gw, '/v1/users/404');
    expect(res.status).toBe(404);
    expect(Object.keys(res.body).sort()).toEqual(['data', 'errors', 'meta']);
    expect(res.body.errors[0]).toEqual(expect.objectContaining({ call: 'profile', code: 'http_status', status: 404 }));
    expect(res.body.meta.complete).toBe(false);
    expect((await call(gw, '/v1/users/403')).status).toBe(403);
  });

  it('keeps 502 for an upstream status the map does not name', async () => {
    const gw = gateway(config(upstreamScope('status-unmapped').base));
    const res = await call(gw, '/v1/users/500');
    expect(res.status).toBe(502);
    expect(res.body.errors[0]).toEqual(expect.objectContaining({ call: 'profile', status: 500 }));
  });
});

describe('cache headers', () => {
  const config = (base: string, path: string) => ({
    upstreams: { u: { baseUrl: base } },
    endpoints: [
      { path: '/v1/cached', cacheControl: 'public, max-age=30', calls: { a: { upstream: 'u', path } } },
      { path: '/v1/plain', calls: { a: { upstream: 'u', path: '/json/a' } } },
    ],
  });

  it('sends the endpoint cacheControl with a weak ETag, and answers 304 with no body to a matching If-None-Match', async () => {
    const up = upstreamScope('etag');
    const gw = gateway(config(up.base, '/json/a'));
    const first = await call(gw, '/v1/cached');
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('public, max-age=30');
    const etag = first.headers.get('etag') ?? '';
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    const again = await gw.app.request('/v1/cached', { headers: { 'if-none-match': `"other", ${etag}` } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('cache-control')).toBe('public, max-age=30');
    const changed = await gw.app.request('/v1/cached', { headers: { 'if-none-match': 'W/"stale"' } });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
  });

  it('lets a frontend on an allowed origin read the ETag and send If-None-Match', async () => {
    const up = upstreamScope('etag-cors');
    const origin = 'https://app.example.com';
    const gw = gateway({ ...config(up.base, '/json/a'), cors: { origins: [origin] } });
    const res = await gw.app.request('/v1/cached', { headers: { origin } });
    await res.arrayBuffer();
    expect((res.headers.get('access-control-expose-headers') ?? '').split(/,\s*/)).toContain('etag');
    const preflight = await gw.app.request('/v1/cached', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'if-none-match' },
    });
    expect((preflight.headers.get('access-control-allow-headers') ?? '').split(/,\s*/)).toContain('if-none-match');
  });

  it('sends no-store and no ETag without cacheControl, and for a partial answer', async () => {
    const up = upstreamScope('etag-partial');
    const plain = await call(gateway(config(up.base, '/json/a')), '/v1/plain');
    expect(plain.headers.get('cache-control')).toBe('no-store');
    expect(plain.headers.get('etag')).toBeNull();
    const partial = await call(gateway(config(up.base, '/status/500')), '/v1/cached');
    expect(partial.status).toBe(200);
    expect(partial.body.meta.complete).toBe(false);
    expect(partial.headers.get('cache-control')).toBe('no-store');
    expect(partial.headers.get('etag')).toBeNull();
  });
});
