import { describe, expect, it } from 'vitest';
import { call, gateway, upstreamScope } from './harness.ts';

interface ErrorBody {
  error: { code: string; message: string; issues?: { field: string; message: string }[]; requestId?: string };
}

describe('response shape', () => {
  it('keeps data and errors in declaration order, not arrival order', async () => {
    const up = upstreamScope('order');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 2000 } },
      endpoints: [
        {
          path: '/v1/order',
          deadlineMs: 3000,
          calls: {
            // Finish in the order z, y, x; fail in the order q, p.
            x: { upstream: 'u', path: '/delay/150/x' },
            p: { upstream: 'u', path: '/status/500', query: { delay: '120' } },
            y: { upstream: 'u', path: '/delay/80/y' },
            q: { upstream: 'u', path: '/status/503', query: { delay: '10' } },
            z: { upstream: 'u', path: '/json/z' },
          },
        },
      ],
    });
    const res = await call(gw, '/v1/order');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.data)).toEqual(['x', 'p', 'y', 'q', 'z']);
    expect(res.body.errors.map((e) => e.call)).toEqual(['p', 'q']);
    // The upstream really finished them in the other order.
    const log = (await up.stats()).log;
    const end = (part: string) => log.find((e) => e.path.includes(part))?.endedAt ?? Number.NaN;
    expect(end('/json/z')).toBeLessThan(end('/delay/80/y'));
    expect(end('/delay/80/y')).toBeLessThan(end('/delay/150/x'));
  });

  it('sends server-timing with total and fanout, and meta.durationMs', async () => {
    const up = upstreamScope('timing');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/t', calls: { a: { upstream: 'u', path: '/delay/50/a' } } }],
    });
    const res = await call(gw, '/v1/t');
    expect(res.status).toBe(200);
    const timing = res.headers.get('server-timing') ?? '';
    const total = /(?:^|,\s*)total;dur=(\d+(?:\.\d+)?)/.exec(timing);
    const fanout = /(?:^|,\s*)fanout;dur=(\d+(?:\.\d+)?)/.exec(timing);
    expect(total, timing).not.toBeNull();
    expect(fanout, timing).not.toBeNull();
    expect(Number(total?.[1])).toBeGreaterThanOrEqual(45);
    expect(Number(fanout?.[1])).toBeLessThanOrEqual(Number(total?.[1]));
    expect(res.body.meta.durationMs).toBeGreaterThanOrEqual(45);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('answers 400 naming every offending field, before calling any upstream', async () => {
    const up = upstreamScope('invalid');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/users/:userId',
          input: {
            params: { userId: { type: 'string', pattern: '^[0-9]+$' } },
            query: { limit: { type: 'integer', maximum: 50 }, ids: { type: 'array', items: { type: 'string' }, maxItems: 2 } },
          },
          calls: { user: { upstream: 'u', path: '/json/{params.userId}' } },
        },
      ],
    });
    const res = await call<ErrorBody>(gw, '/v1/users/abc?limit=500&ids=1,2,3');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_request');
    const fields = (res.body.error.issues ?? []).map((i) => i.field).sort();
    expect(fields).toEqual(['params.userId', 'query.ids', 'query.limit']);
    expect((await up.stats()).requests).toBe(0);

    const ok = await call(gw, '/v1/users/7?limit=5');
    expect(ok.status).toBe(200);
    expect(ok.body.data.user.id).toBe('7');
  });

  it('a missing required query field is a 400 naming it', async () => {
    const up = upstreamScope('missing');
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
    const res = await call<ErrorBody>(gw, '/v1/items');
    expect(res.status).toBe(400);
    expect(res.body.error.issues?.map((i) => i.field)).toEqual(['query.ids']);
  });

  it('answers an unknown route with a 404 JSON body', async () => {
    const up = upstreamScope('404');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/known', calls: { a: { upstream: 'u', path: '/json/a' } } }],
    });
    const res = await call<ErrorBody>(gw, '/v1/unknown');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body.error.code).toBe('not_found');
    const wrongMethod = await call<ErrorBody>(gw, '/v1/known', { method: 'POST' });
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.body.error.code).toBe('not_found');
  });

  it('answers GET /healthz', async () => {
    const up = upstreamScope('health');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/known', calls: { a: { upstream: 'u', path: '/json/a' } } }],
    });
    const res = await call<{ status: string }>(gw, '/healthz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });
});
