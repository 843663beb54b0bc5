import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp, type AppDeps } from '../../src/app.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json, type Handler, type RecordedCall } from '../services/fake-fetcher.ts';

const SECRET = 'secret-users-key-5f1c';
const ENV = { USERS_KEY: SECRET };

function config(): TributaryConfigInput {
  return {
    upstreams: {
      users: { baseUrl: 'http://users.test', headers: { 'x-api-key': '${USERS_KEY}' } },
      orders: { baseUrl: 'http://orders.test' },
      recs: { baseUrl: 'http://recs.test' },
      catalog: { baseUrl: 'http://catalog.test' },
      files: { baseUrl: 'http://files.test/v2' },
    },
    endpoints: [
      {
        path: '/v1/dashboard/:userId',
        deadlineMs: 1000,
        input: {
          params: { userId: { type: 'string', pattern: '^[0-9]+$' } },
          query: {
            ids: { type: 'array', items: { type: 'string' }, maxItems: 5 },
            limit: { type: 'integer', minimum: 1 },
          },
        },
        calls: {
          profile: { upstream: 'users', path: '/users/{params.userId}', required: true },
          orders: { upstream: 'orders', path: '/orders', query: { user: '{params.userId}', limit: '{query.limit}' }, timeoutMs: 100 },
          recs: { upstream: 'recs', path: '/recs/{params.userId}', fallback: [] },
          items: { upstream: 'catalog', path: '/items/{item}', each: '{query.ids}' },
        },
      },
      {
        path: '/v1/files/:id',
        input: { query: { name: { type: 'string', required: true } } },
        calls: { file: { upstream: 'files', path: '/files/{params.id}/{query.name}', required: true } },
      },
      {
        method: 'POST',
        path: '/v1/search',
        input: { body: { term: { type: 'string', required: true, minLength: 1 }, page: { type: 'integer' } } },
        calls: { hits: { upstream: 'catalog', method: 'POST', path: '/search', body: { q: '{body.term}', page: '{body.page}' } } },
      },
    ],
  };
}

/** A healthy set of upstreams: every call answers with where it went. */
const healthy: Handler = (c: RecordedCall) => json({ at: c.target });

function setup(handler: Handler = healthy, options: { cfg?: TributaryConfigInput; deps?: Partial<AppDeps> } = {}) {
  const fake = fakeFetcher(handler);
  const logs: { message: string; error: unknown }[] = [];
  const { app } = createApp({
    plan: compilePlan(options.cfg ?? config(), ENV),
    fetcher: fake.fetcher,
    log: (message, error) => logs.push({ message, error }),
    ...options.deps,
  });
  return { app, fake, logs };
}

const byTarget = (prefix: string, response: () => Response, otherwise: Handler = healthy): Handler =>
  (c) => (c.target.startsWith(prefix) ? response() : otherwise(c));

interface Body {
  data: Record<string, unknown>;
  errors: { call: string; upstream: string; code: string; message: string; attempts: number; status?: number; item?: number }[];
  meta: { complete: boolean; durationMs: number };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('response contract', () => {
  it('200 when every call is ok: body, headers, declaration order', async () => {
    const { app } = setup();
    const res = await app.request('/v1/dashboard/42?ids=a,b&limit=3');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-aggregate-complete')).toBe('true');
    expect(res.headers.get('server-timing')).toMatch(/^total;dur=\d+(\.\d+)?, fanout;dur=\d+(\.\d+)?$/);
    const text = await res.text();
    const body = JSON.parse(text) as Body;
    expect(Object.keys(body)).toEqual(['data', 'errors', 'meta']);
    expect(Object.keys(body.data)).toEqual(['profile', 'orders', 'recs', 'items']);
    expect(body.data).toEqual({
      profile: { at: 'users.test/users/42' },
      orders: { at: 'orders.test/orders' },
      recs: { at: 'recs.test/recs/42' },
      items: [{ at: 'catalog.test/items/a' }, { at: 'catalog.test/items/b' }],
    });
    expect(body.errors).toEqual([]);
    expect(body.meta).toEqual({ complete: true, durationMs: expect.any(Number) });
    expect(Number.isInteger(body.meta.durationMs)).toBe(true);
  });

  it('200 with complete=false when only optional calls failed; the fallback is in data', async () => {
    const { app } = setup(byTarget('recs.test', () => json({}, 503), byTarget('orders.test', () => json({}, 500))));
    const res = await app.request('/v1/dashboard/42?ids=a');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    const body = (await res.json()) as Body;
    expect(body.data.recs).toEqual([]);
    expect(body.data.orders).toBeNull();
    expect(body.errors).toEqual([
      { call: 'orders', upstream: 'orders', code: 'http_status', status: 500, message: 'orders: orders answered 500', attempts: 1 },
      { call: 'recs', upstream: 'recs', code: 'http_status', status: 503, message: 'recs: recs answered 503', attempts: 1 },
    ]);
    expect(body.meta.complete).toBe(false);
  });

  it.each([
    ['http_status', () => json({ error: 'boom' }, 500)],
    ['network', () => {
      throw new TypeError('fetch failed');
    }],
    ['invalid_response', () => new Response('<html>')],
  ])('502 when a required call fails with %s, same body shape', async (code, respond) => {
    const { app } = setup(byTarget('users.test', respond));
    const res = await app.request('/v1/dashboard/42');
    expect(res.status).toBe(502);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(res.headers.get('server-timing')).toMatch(/total;dur=.*fanout;dur=/);
    const body = (await res.json()) as Body;
    expect(Object.keys(body)).toEqual(['data', 'errors', 'meta']);
    expect(body.data.profile).toBeNull();
    expect(body.errors[0]).toMatchObject({ call: 'profile', upstream: 'users', code });
    expect(body.meta.complete).toBe(false);
  });

  it('504 when a required call times out', async () => {
    const cfg = config();
    const profile = cfg.endpoints[0]?.calls.profile;
    if (profile) profile.timeoutMs = 30;
    const { app } = setup((c) => (c.target.startsWith('users.test') ? 'hold' : json({})), { cfg });
    const res = await app.request('/v1/dashboard/42?ids=a');
    expect(res.status).toBe(504);
    const body = (await res.json()) as Body;
    expect(body.errors[0]).toMatchObject({ call: 'profile', code: 'timeout', message: 'profile did not answer within 30 ms' });
  });

  it('504 when the deadline runs out on a required call', async () => {
    const cfg = config();
    const endpoint = cfg.endpoints[0];
    if (endpoint) {
      endpoint.deadlineMs = 80;
      delete endpoint.calls.orders?.timeoutMs;
    }
    const { app } = setup((c) => (c.target.startsWith('users.test') ? 'hold' : json({})), { cfg });
    const res = await app.request('/v1/dashboard/42?ids=a');
    expect(res.status).toBe(504);
    const body = (await res.json()) as Body;
    expect(body.errors[0]).toMatchObject({ call: 'profile', code: 'deadline_exceeded' });
    expect(body.meta.durationMs).toBeLessThan(1000);
  });

  it('504 when the deadline passes while a required call is still queued', async () => {
    const cfg: TributaryConfigInput = {
      upstreams: { slow: { baseUrl: 'http://slow.test' }, users: { baseUrl: 'http://users.test' } },
      endpoints: [
        {
          path: '/v1/me',
          deadlineMs: 80,
          maxConcurrency: 1,
          calls: { slow: { upstream: 'slow', path: '/slow' }, profile: { upstream: 'users', path: '/me', required: true } },
        },
      ],
    };
    const { app, fake } = setup((c) => (c.target.startsWith('slow.test') ? 'hold' : json({ me: 1 })), { cfg });
    const res = await app.request('/v1/me');
    const body = (await res.json()) as Body;
    expect(fake.to('users.test')).toHaveLength(0);
    expect(body.data.profile).toBeNull();
    // The required call never ran: answering 200 would present a failure as a success.
    expect(res.status).toBe(504);
  });

  it('an each over an optional list the client left out gives [] and a complete answer', async () => {
    const { app, fake } = setup();
    const res = await app.request('/v1/dashboard/42');
    const body = (await res.json()) as Body;
    expect(fake.to('catalog.test')).toHaveLength(0);
    expect(body.data.items).toEqual([]);
    expect(body.errors).toEqual([]);
    expect(res.headers.get('x-aggregate-complete')).toBe('true');
  });
});

describe('input validation', () => {
  async function issuesOf(res: Response): Promise<{ field: string; message: string }[]> {
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; issues: { field: string; message: string }[] } };
    expect(body.error.code).toBe('invalid_request');
    return body.error.issues;
  }

  it('400 naming a param that does not match its pattern; no upstream is called', async () => {
    const { app, fake } = setup();
    const issues = await issuesOf(await app.request('/v1/dashboard/abc'));
    expect(issues).toEqual([{ field: 'params.userId', message: expect.stringContaining('^[0-9]+$') }]);
    expect(fake.calls).toHaveLength(0);
  });

  it('400 for a non-number integer query, too many array items, all together', async () => {
    const { app, fake } = setup();
    const issues = await issuesOf(await app.request('/v1/dashboard/x1?limit=abc&ids=1,2,3,4,5,6'));
    expect(issues.map((i) => i.field).sort()).toEqual(['params.userId', 'query.ids', 'query.limit']);
    expect(issues.find((i) => i.field === 'query.ids')?.message).toMatch(/5/);
    expect(fake.calls).toHaveLength(0);
  });

  it.each(['1.5', '', '0'])('400 for limit=%j (integer, minimum 1)', async (limit) => {
    const { app } = setup();
    const issues = await issuesOf(await app.request(`/v1/dashboard/42?limit=${limit}`));
    expect(issues.map((i) => i.field)).toEqual(['query.limit']);
  });

  it('400 for an invalid JSON body on a POST endpoint, and for wrong field types', async () => {
    const { app, fake } = setup();
    const bad = await app.request('/v1/search', { method: 'POST', body: '{"term": ', headers: { 'content-type': 'application/json' } });
    expect(await issuesOf(bad)).toEqual([{ field: 'body', message: expect.any(String) }]);
    const array = await app.request('/v1/search', { method: 'POST', body: '[1]', headers: { 'content-type': 'application/json' } });
    expect(await issuesOf(array)).toEqual([{ field: 'body', message: 'must be a JSON object' }]);
    const typed = await app.request('/v1/search', {
      method: 'POST',
      body: JSON.stringify({ page: 'two' }),
      headers: { 'content-type': 'application/json' },
    });
    expect((await issuesOf(typed)).map((i) => i.field).sort()).toEqual(['body.page', 'body.term']);
    expect(fake.calls).toHaveLength(0);
  });

  it('413 for a body over the size limit, naming the limit', async () => {
    const { app } = setup(healthy, { deps: { maxRequestBodyBytes: 64 } });
    const res = await app.request('/v1/search', {
      method: 'POST',
      body: JSON.stringify({ term: 'x'.repeat(200) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: { code: 'body_too_large', message: 'the request body is larger than 64 bytes' } });
  });

  it('a valid POST body reaches the upstream with its types', async () => {
    const { app, fake } = setup();
    const res = await app.request('/v1/search', {
      method: 'POST',
      body: JSON.stringify({ term: 'shoes', page: 2 }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(fake.calls[0]?.body ?? '')).toEqual({ q: 'shoes', page: 2 });
  });

  it.each(['?ids=1,2,3', '?ids=1&ids=2&ids=3', '?ids=1,2&ids=3', '?ids=1,,2,&ids=3'])('accepts %s as a list', async (query) => {
    const { app, fake } = setup();
    const res = await app.request(`/v1/dashboard/42${query}`);
    expect(res.status).toBe(200);
    expect(fake.to('catalog.test').map((c) => c.path)).toEqual(['/items/1', '/items/2', '/items/3']);
  });

  it('400 naming the field when an input value would be unsafe in an upstream path', async () => {
    const { app, fake } = setup();
    const issues = await issuesOf(await app.request('/v1/files/7?name=..'));
    expect(issues).toEqual([{ field: 'query.name', message: expect.stringContaining('not a usable path segment') }]);
    expect(fake.calls).toHaveLength(0);
  });

  it('an encoded slash in a path param stays one upstream segment', async () => {
    const { app, fake } = setup();
    const res = await app.request('/v1/files/a%2F..%2F..%2Fadmin?name=%3Fx%3D1%23y');
    expect(res.status).toBe(200);
    const url = new URL(fake.calls[0]?.url ?? '');
    expect(url.origin).toBe('http://files.test');
    expect(url.pathname).toBe('/v2/files/a%2F..%2F..%2Fadmin/%3Fx%3D1%23y');
    expect(url.search).toBe('');
  });
});

describe('errors, ids, health', () => {
  it('JSON 404 for an unknown route or method, with a request id', async () => {
    const { app } = setup();
    for (const [method, path] of [
      ['GET', '/nope'],
      ['DELETE', '/v1/dashboard/42'],
    ] as const) {
      const res = await app.request(path, { method });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('x-request-id')).toBeTruthy();
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('not_found');
    }
  });

  it('500 JSON with a request id, no stack and no secret, on an internal fault', async () => {
    // An injected clock that breaks: a fault inside the engine that is no upstream's doing.
    const clock = (): number => {
      throw new Error(`clock exploded while holding ${SECRET}`);
    };
    const { app, logs } = setup(healthy, { deps: { engine: { clock } } });
    const res = await app.request('/v1/dashboard/42', { headers: { 'x-request-id': 'req-abc.123' } });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBe('req-abc.123');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error', requestId: 'req-abc.123' } });
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('exploded');
    expect(text).not.toMatch(/\bat .*\.ts/);
    // The operator's log has the fault and the id.
    expect(logs).toHaveLength(1);
    expect(logs[0]?.message).toContain('req-abc.123');
    expect((logs[0]?.error as Error).message).toContain('exploded');
  });

  it('a 500 made up without a caller id still names a generated one', async () => {
    const clock = (): number => {
      throw new Error('broken');
    };
    const { app } = setup(healthy, { deps: { engine: { clock } } });
    const res = await app.request('/v1/dashboard/42');
    const body = (await res.json()) as { error: { requestId: string } };
    expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
  });

  it('echoes a plain x-request-id and replaces an unsafe one', async () => {
    const { app } = setup();
    const plain = await app.request('/v1/dashboard/42', { headers: { 'x-request-id': 'abc-123' } });
    expect(plain.headers.get('x-request-id')).toBe('abc-123');
    const unsafe = await app.request('/v1/dashboard/42', { headers: { 'x-request-id': 'a b<script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const long = await app.request('/healthz', { headers: { 'x-request-id': 'x'.repeat(200) } });
    expect(long.headers.get('x-request-id')).not.toBe('x'.repeat(200));
    const bad = await app.request('/v1/dashboard/abc', { headers: { 'x-request-id': 'on-400' } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-request-id')).toBe('on-400');
  });

  it('GET /healthz', async () => {
    const { app, fake } = setup();
    const res = await app.request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', endpoints: 3 });
    expect(fake.calls).toHaveLength(0);
  });

  it('client headers are not forwarded without an allowlist; configured secrets are sent', async () => {
    const { app, fake } = setup();
    await app.request('/v1/dashboard/42', { headers: { 'x-api-key': 'forged', authorization: 'Bearer t', cookie: 'a=1' } });
    const users = fake.to('users.test')[0]?.headers;
    expect(users?.get('x-api-key')).toBe(SECRET);
    expect(users?.get('authorization')).toBeNull();
    expect(users?.get('cookie')).toBeNull();
    expect(fake.to('orders.test')[0]?.headers.get('x-api-key')).toBeNull();
  });
});

describe('CORS', () => {
  const ORIGIN = 'https://app.example.com';
  const withCors = (): TributaryConfigInput => ({ ...config(), cors: { origins: [ORIGIN] } });

  it('no CORS headers by default, whatever the origin', async () => {
    const { app } = setup();
    const res = await app.request('/v1/dashboard/42', { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect([...res.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([]);
    const preflight = await app.request('/v1/dashboard/42', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('an allowed origin gets allow-origin and the exposed headers', async () => {
    const { app } = setup(healthy, { cfg: withCors() });
    const res = await app.request('/v1/dashboard/42', { headers: { origin: ORIGIN } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['x-aggregate-complete', 'server-timing', 'x-request-id']));
    expect(res.headers.get('vary')?.toLowerCase()).toContain('origin');
  });

  it('a disallowed origin gets no allow-origin', async () => {
    const { app } = setup(healthy, { cfg: withCors() });
    const res = await app.request('/v1/dashboard/42', { headers: { origin: 'https://evil.example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('preflight: allowed origin gets methods and max-age; disallowed gets no allow-origin; no upstream call', async () => {
    const { app, fake } = setup(healthy, { cfg: withCors() });
    const ok = await app.request('/v1/search', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    expect(ok.headers.get('access-control-max-age')).toBe('600');
    const denied = await app.request('/v1/search', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'POST' },
    });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    expect(fake.calls).toHaveLength(0);
  });

  it('error responses carry CORS headers too, so the frontend can read them', async () => {
    const { app } = setup(byTarget('users.test', () => json({}, 500)), { cfg: withCors() });
    for (const path of ['/v1/dashboard/abc', '/v1/dashboard/42', '/nope']) {
      const res = await app.request(path, { headers: { origin: ORIGIN } });
      expect([400, 502, 404]).toContain(res.status);
      expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    }
  });
});
