import { describe, expect, it } from 'vitest';
import { call, gateway, upstreamScope, type UpstreamScope } from './harness.ts';

/**
 * Whatever a client puts in a templated value, the upstream call stays on the configured host
 * and inside its path: the value arrives as exactly one path segment (or the gateway refuses
 * with 4xx before calling). The test upstream records the raw request target it received.
 */
function injectionGateway(up: UpstreamScope) {
  return gateway({
    upstreams: { u: { baseUrl: up.base } },
    endpoints: [
      {
        path: '/v1/inj/:id',
        input: { query: { q: { type: 'string' } } },
        calls: { echo: { upstream: 'u', path: '/json/{params.id}', query: { q: '{query.q}' } } },
      },
      {
        path: '/v1/injq',
        input: { query: { seg: { type: 'string', required: true } } },
        calls: { echo: { upstream: 'u', path: '/json/{query.seg}' } },
      },
      {
        path: '/v1/injdep/:id',
        calls: {
          first: { upstream: 'u', path: '/json/first', query: { next: '{params.id}' } },
          second: { upstream: 'u', path: '/json/{calls.first.query.next}' },
        },
      },
      {
        path: '/v1/injdep2',
        input: { query: { next: { type: 'string', required: true } } },
        calls: {
          first: { upstream: 'u', path: '/json/first', query: { next: '{query.next}' } },
          second: { upstream: 'u', path: '/json/{calls.first.query.next}' },
        },
      },
    ],
  });
}

interface Echo {
  id: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
}

/** The upstream saw one request, on its own host, with `value` as the one segment after /json/. */
async function expectOneSegment(up: UpstreamScope, echo: Echo, value: string): Promise<void> {
  const scopePath = new URL(up.base).pathname;
  expect(echo.id).toBe(value);
  expect(echo.path.startsWith(`${scopePath}/json/`)).toBe(true);
  const rest = echo.path.slice(`${scopePath}/json/`.length).split('?')[0] as string;
  expect(rest).not.toContain('/');
  expect(rest).not.toMatch(/[\r\n#@]/);
  expect(echo.headers.host).toBe(new URL(up.base).host);
  const stats = await up.stats();
  expect(stats.byRoute).toEqual({ json: stats.requests });
  for (const seen of stats.paths) expect(seen.startsWith(`${scopePath}/json/`)).toBe(true);
}

describe('path-template injection', () => {
  it.each([
    ['..%2F..%2F__stats', '../../__stats'],
    ['%2F__reset', '/__reset'],
    ['a%2F..%2F..%2Fhang', 'a/../../hang'],
    ['%40evil.com', '@evil.com'],
    ['@evil.com', '@evil.com'],
    ['user%3Apass%40evil.com%3A80', 'user:pass@evil.com:80'],
    ['%0D%0AHost%3A%20evil.com%0D%0A', '\r\nHost: evil.com\r\n'],
    ['x%3Fq%3Devil%26admin%3D1', 'x?q=evil&admin=1'],
    ['x%23fragment', 'x#fragment'],
    ['%252F..%252F', '%2F..%2F'],
    ['%5C..%5Cwin', '\\..\\win'],
    ['%E0%A4%A', '%E0%A4%A'],
    ['%', '%'],
    ['a%00b', 'a\u0000b'],
  ])('a path param %s stays one segment on the configured host', async (raw, value) => {
    const up = upstreamScope('inj');
    const res = await call<{ data: { echo: Echo } }>(injectionGateway(up), `/v1/inj/${raw}`);
    expect(res.status).toBe(200);
    const echo = res.body.data.echo;
    await expectOneSegment(up, echo, value);
    expect(echo.query).toEqual({});
    expect((await up.stats()).requests).toBe(1);
  });

  it.each(['..', '.', '%2E%2E', '%2e.'])('a path param that normalises to a dot segment (%s) never reaches the upstream', async (raw) => {
    const up = upstreamScope('inj-dot');
    const res = await call<unknown>(injectionGateway(up), `/v1/inj/${raw}`);
    // The client URL itself collapses `..`: no route matches, or the value is refused.
    expect([400, 404]).toContain(res.status);
    expect((await up.stats()).requests).toBe(0);
  });

  it.each(['..', '.', ''])('a query value %j used in a path is refused with 400 naming the field', async (seg) => {
    const up = upstreamScope('inj-q');
    const res = await call<{ error: { code: string; issues: { field: string }[] } }>(
      injectionGateway(up),
      `/v1/injq?seg=${encodeURIComponent(seg)}`,
    );
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    expect(res.body.error.issues.map((i) => i.field)).toContain('query.seg');
    expect((await up.stats()).requests).toBe(0);
  });

  it.each(['../..', '/etc/passwd', 'http://evil.com/', '..\r\n'])('a query value %j used in a path stays one segment', async (seg) => {
    const up = upstreamScope('inj-q-ok');
    const res = await call<{ data: { echo: Echo } }>(injectionGateway(up), `/v1/injq?seg=${encodeURIComponent(seg)}`);
    expect(res.status).toBe(200);
    await expectOneSegment(up, res.body.data.echo, seg);
  });

  it('an `each` element that is a dot segment is refused with 400 naming its index', async () => {
    const up = upstreamScope('inj-each');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/items',
          input: { query: { ids: { type: 'array', items: { type: 'string' }, required: true } } },
          calls: { items: { upstream: 'u', path: '/json/{item}', each: '{query.ids}' } },
        },
      ],
    });
    const res = await call<{ error: { issues: { field: string }[] } }>(gw, '/v1/items?ids=a,..,b');
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i) => i.field)).toEqual(['query.ids.1']);
    expect((await up.stats()).requests).toBe(0);
    const ok = await call<{ data: { items: Echo[] } }>(gw, `/v1/items?ids=${encodeURIComponent('a/b')}&ids=${encodeURIComponent('../c')}`);
    expect(ok.status).toBe(200);
    expect(ok.body.data.items.map((e) => e.id)).toEqual(['a/b', '../c']);
    await expectOneSegment(up, ok.body.data.items[1] as Echo, '../c');
  });

  it('a query template value cannot add parameters', async () => {
    const up = upstreamScope('inj-query');
    const res = await call<{ data: { echo: Echo } }>(
      injectionGateway(up),
      `/v1/inj/a?q=${encodeURIComponent('x&admin=1#frag\r\nX-Evil: 1')}`,
    );
    expect(res.status).toBe(200);
    const echo = res.body.data.echo;
    expect(echo.query).toEqual({ q: 'x&admin=1#frag\r\nX-Evil: 1' });
    expect(echo.headers['x-evil']).toBeUndefined();
    await expectOneSegment(up, echo, 'a');
  });

  it.each([
    ['..%2F..%2F__stats', '../../__stats'],
    ['%40evil.com', '@evil.com'],
  ])('a value from another call (%s) stays one segment too', async (raw, value) => {
    const up = upstreamScope('inj-dep');
    const res = await call<{ data: { second: Echo } }>(injectionGateway(up), `/v1/injdep/${raw}`);
    expect(res.status).toBe(200);
    await expectOneSegment(up, res.body.data.second, value);
    expect((await up.stats()).requests).toBe(2);
  });

  it.each(['..', '.'])('a value %j from another call fails that call as invalid_response, without a request', async (next) => {
    const up = upstreamScope('inj-dep-dot');
    const res = await call(injectionGateway(up), `/v1/injdep2?next=${next}`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([expect.objectContaining({ call: 'second', code: 'invalid_response' })]);
    const stats = await up.stats();
    expect(stats.requests).toBe(1);
    expect(stats.paths[0]).toContain('/json/first');
  });
});
