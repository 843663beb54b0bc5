import { describe, expect, it } from 'vitest';
import { call, expectAggregateShape, gateway, upstreamScope, type ErrorEntry } from './harness.ts';

/** An endpoint `/v1/x` with a fast `ok` call beside the call under test. */
function withOne(base: string, under: Record<string, unknown>, upstream: Record<string, unknown> = {}, deadlineMs = 2000) {
  return gateway({
    upstreams: { u: { baseUrl: base, timeoutMs: 1000, ...upstream } },
    endpoints: [
      {
        path: '/v1/x',
        deadlineMs,
        calls: { ok: { upstream: 'u', path: '/json/ok' }, under: { upstream: 'u', ...under } as never },
      },
    ],
  });
}

const errorOf = (errors: ErrorEntry[], name: string): ErrorEntry | undefined => errors.find((e) => e.call === name);

describe('optional call failures: 200 with a partial answer', () => {
  it('a call slower than its timeout is a `timeout` error; the answer does not wait for it', async () => {
    const up = upstreamScope('timeout');
    const gw = withOne(up.base, { path: '/delay/1500/slow', timeoutMs: 100 });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expectAggregateShape(res.body);
    expect(res.body.meta.complete).toBe(false);
    expect(res.body.data.ok.id).toBe('ok');
    expect(res.body.data.under).toBeNull();
    expect(res.body.errors).toEqual([
      { call: 'under', upstream: 'u', code: 'timeout', message: expect.stringContaining('100 ms'), attempts: 1 },
    ]);
    expect(res.ms).toBeLessThan(1000);
  });

  it('a failed optional call with a fallback puts the fallback in data and still lists the error', async () => {
    const up = upstreamScope('fallback');
    const gw = withOne(up.base, { path: '/delay/1500/slow', timeoutMs: 80, fallback: [] });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(res.body.data.under).toEqual([]);
    expect(errorOf(res.body.errors, 'under')?.code).toBe('timeout');
  });

  it('a 5xx is `http_status` with the upstream status', async () => {
    const up = upstreamScope('5xx');
    const gw = withOne(up.base, { path: '/status/500' });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(errorOf(res.body.errors, 'under')).toMatchObject({ code: 'http_status', status: 500, attempts: 1 });
    expect(res.body.data.ok.id).toBe('ok');
  });

  it('a 4xx is `http_status` too', async () => {
    const up = upstreamScope('4xx');
    const gw = withOne(up.base, { path: '/status/404' });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(errorOf(res.body.errors, 'under')).toMatchObject({ code: 'http_status', status: 404 });
  });

  it('a body that is not JSON is `invalid_response`', async () => {
    const up = upstreamScope('badjson');
    const gw = withOne(up.base, { path: '/badjson' });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(errorOf(res.body.errors, 'under')?.code).toBe('invalid_response');
    expect(res.body.data.under).toBeNull();
  });

  it.each([
    ['with content-length', '/huge/20000'],
    ['chunked, no content-length', '/huge/200000?chunked=1'],
  ])('a body over maxBodyBytes is `invalid_response` (%s)', async (_, path) => {
    const up = upstreamScope('huge');
    const gw = withOne(up.base, { path: path.split('?')[0], query: path.includes('?') ? { chunked: '1' } : {} }, { maxBodyBytes: 10_000 });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    const error = errorOf(res.body.errors, 'under');
    expect(error?.code).toBe('invalid_response');
    expect(error?.message).toContain('10000');
  });

  it('a body just under maxBodyBytes is accepted', async () => {
    const up = upstreamScope('huge-ok');
    const gw = withOne(up.base, { path: '/huge/9000', query: { chunked: '1' } }, { maxBodyBytes: 10_000 });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect((res.body.data.under.pad as string).length).toBe(9000 - '{"pad":""}'.length);
  });

  it('an optional call cut by the deadline is `deadline_exceeded`, still 200', async () => {
    const up = upstreamScope('deadline-optional');
    // The upstream timeout (1000) is longer than the deadline (200): the deadline ends it.
    const gw = withOne(up.base, { path: '/delay/1500/slow' }, {}, 200);
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(errorOf(res.body.errors, 'under')?.code).toBe('deadline_exceeded');
    expect(res.ms).toBeLessThan(800);
  });
});

describe('required call failures: 502/504 with the same body shape', () => {
  function requiredGateway(base: string, under: Record<string, unknown>, deadlineMs = 3000) {
    return gateway({
      upstreams: { u: { baseUrl: base, timeoutMs: 2000 } },
      endpoints: [
        {
          path: '/v1/r',
          deadlineMs,
          calls: {
            main: { upstream: 'u', required: true, ...under } as never,
            sibling: { upstream: 'u', path: '/delay/1500/sibling' },
          },
        },
      ],
    });
  }

  it.each([500, 503])('a required %i answers 502 and cancels the sibling still running', async (code) => {
    const up = upstreamScope(`required-${code}`);
    const res = await call(requiredGateway(up.base, { path: `/status/${code}` }), '/v1/r');
    expect(res.status).toBe(502);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expectAggregateShape(res.body);
    expect(res.body.meta.complete).toBe(false);
    expect(errorOf(res.body.errors, 'main')).toMatchObject({ code: 'http_status', status: code });
    expect(errorOf(res.body.errors, 'sibling')?.code).toBe('cancelled');
    expect(res.body.data).toEqual({ main: null, sibling: null });
    // The sibling would take 1500 ms; it was cancelled, not awaited.
    expect(res.ms).toBeLessThan(1000);
  });

  it('a required call that times out answers 504', async () => {
    const up = upstreamScope('required-timeout');
    const res = await call(requiredGateway(up.base, { path: '/delay/1500/main', timeoutMs: 100 }), '/v1/r');
    expect(res.status).toBe(504);
    expectAggregateShape(res.body);
    expect(errorOf(res.body.errors, 'main')?.code).toBe('timeout');
    expect(errorOf(res.body.errors, 'sibling')?.code).toBe('cancelled');
    expect(res.ms).toBeLessThan(1000);
  });

  it('a required call cut by the request deadline answers 504 `deadline_exceeded`', async () => {
    const up = upstreamScope('required-deadline');
    const res = await call(requiredGateway(up.base, { path: '/delay/1500/main' }, 200), '/v1/r');
    expect(res.status).toBe(504);
    expectAggregateShape(res.body);
    expect(errorOf(res.body.errors, 'main')?.code).toBe('deadline_exceeded');
    expect(res.ms).toBeLessThan(800);
  });

  it('a required call still queued behind the per-request limit when the deadline passes answers 504', async () => {
    const up = upstreamScope('required-queued');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, timeoutMs: 1000 } },
      endpoints: [
        {
          path: '/v1/q',
          deadlineMs: 200,
          maxConcurrency: 1,
          calls: { slow: { upstream: 'u', path: '/delay/1500/slow' }, main: { upstream: 'u', path: '/json/main', required: true } },
        },
      ],
    });
    const res = await call(gw, '/v1/q');
    // `main` never ran: the request cannot be a success.
    expect(errorOf(res.body.errors, 'main')?.code).toBe('deadline_exceeded');
    expect(res.body.data.main).toBeNull();
    expect(res.status).toBe(504);
    expect((await up.stats()).byRoute.json ?? 0).toBe(0);
  });

  it('a required call with invalid JSON answers 502 `invalid_response`', async () => {
    const up = upstreamScope('required-badjson');
    const res = await call(requiredGateway(up.base, { path: '/badjson' }), '/v1/r');
    expect(res.status).toBe(502);
    expect(errorOf(res.body.errors, 'main')?.code).toBe('invalid_response');
  });

  it('a failed required call with a fallback still fails the request', async () => {
    const up = upstreamScope('required-fallback');
    const res = await call(requiredGateway(up.base, { path: '/status/500', fallback: { id: 'none' } }), '/v1/r');
    expect(res.status).toBe(502);
    expect(res.body.data.main).toEqual({ id: 'none' });
  });

  it('when every call succeeds the answer is 200 and complete', async () => {
    const up = upstreamScope('required-ok');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [{ path: '/v1/r', calls: { main: { upstream: 'u', path: '/json/m', required: true }, other: { upstream: 'u', path: '/json/o' } } }],
    });
    const res = await call(gw, '/v1/r');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('true');
    expect(res.body.meta.complete).toBe(true);
    expect(res.body.errors).toEqual([]);
  });
});

describe('more failure shapes', () => {
  it('a body that arrives slower than the timeout is a `timeout` too (the timeout covers the body)', async () => {
    const up = upstreamScope('slowbody');
    const gw = withOne(up.base, { path: '/slowbody/1500', timeoutMs: 100 });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(errorOf(res.body.errors, 'under')?.code).toBe('timeout');
    expect(res.ms).toBeLessThan(1000);
  });

  it('`each`: failed elements are null (or the fallback) in place, each error names its item index', async () => {
    const up = upstreamScope('each-fail');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base } },
      endpoints: [
        {
          path: '/v1/codes',
          input: { query: { codes: { type: 'array', items: { type: 'string', pattern: '^[0-9]{3}$' }, required: true } } },
          calls: {
            plain: { upstream: 'u', path: '/status/{item}', each: '{query.codes}' },
            withFallback: { upstream: 'u', path: '/status/{item}', each: '{query.codes}', fallback: { status: 'unknown' } },
          },
        },
      ],
    });
    const res = await call(gw, '/v1/codes?codes=200,500,201,404');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(res.body.data.plain).toEqual([{ status: 200 }, null, { status: 201 }, null]);
    expect(res.body.data.withFallback).toEqual([{ status: 200 }, { status: 'unknown' }, { status: 201 }, { status: 'unknown' }]);
    expect(res.body.errors.map((e) => [e.call, e.item, e.code, e.status])).toEqual([
      ['plain', 1, 'http_status', 500],
      ['plain', 3, 'http_status', 404],
      ['withFallback', 1, 'http_status', 500],
      ['withFallback', 3, 'http_status', 404],
    ]);
  });

  it('a full bulkhead queue rejects the overflow with `rejected`', async () => {
    const up = upstreamScope('rejected');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, maxConcurrency: 1, maxQueue: 1, timeoutMs: 1000 } },
      endpoints: [
        {
          path: '/v1/three',
          deadlineMs: 2000,
          calls: {
            a: { upstream: 'u', path: '/delay/100/a' },
            b: { upstream: 'u', path: '/delay/100/b' },
            c: { upstream: 'u', path: '/delay/100/c' },
          },
        },
      ],
    });
    const res = await call(gw, '/v1/three');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([expect.objectContaining({ call: 'c', code: 'rejected', attempts: 0 })]);
    expect(res.body.data.a.id).toBe('a');
    expect(res.body.data.b.id).toBe('b');
    expect((await up.stats()).requests).toBe(2);
  });

  it('waiting longer than maxQueueWaitMs for a bulkhead slot is `rejected`', async () => {
    const up = upstreamScope('rejected-wait');
    const gw = gateway({
      upstreams: { u: { baseUrl: up.base, maxConcurrency: 1, maxQueueWaitMs: 50, timeoutMs: 1000 } },
      endpoints: [
        {
          path: '/v1/two',
          deadlineMs: 2000,
          calls: { a: { upstream: 'u', path: '/delay/300/a' }, b: { upstream: 'u', path: '/json/b' } },
        },
      ],
    });
    const res = await call(gw, '/v1/two');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([expect.objectContaining({ call: 'b', code: 'rejected' })]);
    expect((await up.stats()).requests).toBe(1);
  });

  it('a redirect is not followed: `http_status` with the 3xx status', async () => {
    const up = upstreamScope('redirect');
    const gw = withOne(up.base, { path: '/status/302' });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(errorOf(res.body.errors, 'under')).toMatchObject({ code: 'http_status', status: 302 });
  });

  it('a 204 with no body is ok, with null in data', async () => {
    const up = upstreamScope('204');
    const gw = withOne(up.base, { path: '/status/204' });
    const res = await call(gw, '/v1/x');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.under).toBeNull();
  });
});
