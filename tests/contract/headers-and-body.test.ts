import { describe, expect, it } from 'vitest';
import { call, gateway, upstreamScope } from './harness.ts';

interface Echo {
  id: string;
  method: string;
  headers: Record<string, string>;
  body?: unknown;
  query: Record<string, string | string[]>;
}

describe('headers sent upstream', () => {
  it('forwards only allowlisted client headers; configured headers (from the environment) win', async () => {
    const up = upstreamScope('headers');
    const gw = gateway(
      {
        upstreams: {
          u: {
            baseUrl: up.base,
            headers: { 'X-Api-Key': '${TEST_API_KEY}' },
            forwardHeaders: ['X-User', 'x-api-key', 'connection'],
          },
          plain: { baseUrl: up.base },
        },
        endpoints: [{ path: '/v1/h', calls: { a: { upstream: 'u', path: '/json/a' }, b: { upstream: 'plain', path: '/json/b' } } }],
      },
      { TEST_API_KEY: 'from-env' },
    );
    const res = await call<{ data: { a: Echo; b: Echo } }>(gw, '/v1/h', {
      headers: { 'x-user': 'u1', 'x-api-key': 'from-client', authorization: 'Bearer client', cookie: 'c=1', 'x-other': 'no' },
    });
    expect(res.status).toBe(200);
    const a = res.body.data.a.headers;
    expect(a['x-user']).toBe('u1');
    expect(a['x-api-key']).toBe('from-env');
    expect(a.authorization).toBeUndefined();
    expect(a['x-other']).toBeUndefined();
    expect(a.accept).toContain('application/json');
    const b = res.body.data.b.headers;
    expect(b['x-user']).toBeUndefined();
    expect(b['x-api-key']).toBeUndefined();
    expect(b.authorization).toBeUndefined();
    const seen = (await up.stats()).paths.length;
    expect(seen).toBe(2);
  });
});

describe('request bodies', () => {
  const config = (base: string) => ({
    upstreams: { u: { baseUrl: base } },
    endpoints: [
      {
        method: 'POST' as const,
        path: '/v1/orders/:userId',
        input: {
          params: { userId: { type: 'string' as const, pattern: '^[0-9]+$' } },
          body: {
            sku: { type: 'string' as const, required: true },
            qty: { type: 'integer' as const, minimum: 1, required: true },
            tags: { type: 'array' as const, items: { type: 'string' as const } },
          },
        },
        calls: {
          create: {
            upstream: 'u',
            method: 'POST' as const,
            path: '/json/{params.userId}',
            body: { sku: '{body.sku}', qty: '{body.qty}', tags: '{body.tags}', note: 'user {params.userId}', fixed: 1 },
            required: true,
          },
        },
      },
    ],
  });

  it('renders the body template, keeping JSON types for whole-value references', async () => {
    const up = upstreamScope('body');
    const res = await call<{ data: { create: Echo } }>(gateway(config(up.base)), '/v1/orders/7', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'a-1', qty: 3, tags: ['x', 'y'] }),
    });
    expect(res.status).toBe(200);
    const echo = res.body.data.create;
    expect(echo.method).toBe('POST');
    expect(echo.headers['content-type']).toContain('application/json');
    expect(echo.body).toEqual({ sku: 'a-1', qty: 3, tags: ['x', 'y'], note: 'user 7', fixed: 1 });
  });

  it.each([
    ['not JSON', '{"sku": ', ['body']],
    ['not an object', '[1,2]', ['body']],
    ['wrong fields', JSON.stringify({ sku: 5, qty: 0 }), ['body.qty', 'body.sku']],
  ])('a body that is %s is a 400 naming the fields, and nothing is called', async (_, body, fields) => {
    const up = upstreamScope('body-bad');
    const res = await call<{ error: { code: string; issues: { field: string }[] } }>(gateway(config(up.base)), '/v1/orders/7', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.issues.map((i) => i.field).sort()).toEqual(fields);
    expect((await up.stats()).requests).toBe(0);
  });
});

describe('CORS', () => {
  const endpoints = [{ path: '/v1/c', calls: { a: { upstream: 'u', path: '/json/a' } } }];

  it('sends no CORS headers by default', async () => {
    const up = upstreamScope('cors-none');
    const gw = gateway({ upstreams: { u: { baseUrl: up.base } }, endpoints });
    const res = await gw.app.request('/v1/c', { headers: { origin: 'https://app.example' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    await res.body?.cancel();
  });

  it('allows the configured origins only, and exposes the aggregate headers', async () => {
    const up = upstreamScope('cors');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints,
      cors: { origins: ['https://app.example'] },
    });
    const ok = await gw.app.request('/v1/c', { headers: { origin: 'https://app.example' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(ok.headers.get('access-control-expose-headers') ?? '').toContain('x-aggregate-complete');
    await ok.body?.cancel();
    const other = await gw.app.request('/v1/c', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).not.toBe('https://evil.example');
    await other.body?.cancel();
    const preflight = await gw.app.request('/v1/c', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });
});
