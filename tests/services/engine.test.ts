import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { Engine, InvalidInputError, type AggregateResult, type RequestInput } from '../../src/services/engine/index.ts';
import type { Fetcher } from '../../src/services/upstream/index.ts';
import { fakeFetcher, json, type Handler, type RecordedCall } from './fake-fetcher.ts';
import { endpointOf, planOf } from './fixtures.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const ENV = { USERS_KEY: 'secret-users-key' };

function dashboardConfig(): TributaryConfigInput {
  return {
    upstreams: {
      users: {
        baseUrl: 'http://users.test',
        headers: { 'X-Api-Key': '${USERS_KEY}' },
        forwardHeaders: ['X-Tenant', 'x-api-key', 'connection', 'host'],
      },
      orders: { baseUrl: 'http://orders.test/api' },
      recs: { baseUrl: 'http://recs.test' },
      catalog: { baseUrl: 'http://catalog.test', timeoutMs: 200 },
    },
    endpoints: [
      {
        path: '/v1/dashboard/:userId',
        deadlineMs: 1000,
        maxConcurrency: 8,
        input: { query: { ids: { type: 'array', items: { type: 'string' }, maxItems: 50 } } },
        calls: {
          profile: { upstream: 'users', path: '/users/{params.userId}', required: true },
          orders: { upstream: 'orders', path: '/orders', query: { user: '{params.userId}' }, timeoutMs: 100 },
          recs: { upstream: 'recs', path: '/recs/{params.userId}', query: { seen: '{query.ids}' }, fallback: [] },
          items: { upstream: 'catalog', path: '/items/{item}', each: '{query.ids}' },
          manager: { upstream: 'users', path: '/users/{calls.profile.managerId}' },
        },
      },
    ],
  };
}

function setup(handler?: Handler, config: TributaryConfigInput = dashboardConfig()) {
  const fake = fakeFetcher(handler);
  const plan = planOf(config, ENV);
  const engine = new Engine(plan, fake.fetcher);
  return { fake, plan, engine, endpoint: endpointOf(plan) };
}

const input = (over: Partial<RequestInput> = {}): RequestInput => ({ params: { userId: '42' }, query: { ids: ['a', 'b'] }, ...over });

/** A healthy upstream: the profile names a manager, everything else echoes its target. */
const healthy = (c: RecordedCall): Response => json(c.target === 'users.test/users/42' ? { managerId: '1' } : { from: c.target });

/** Answers after `ms` of (fake) time. */
const after = (ms: number, response: () => Response) => new Promise<Response>((r) => setTimeout(() => r(response()), ms));

/** Tracks whether a promise has settled. */
function watch<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  return { settled: () => settled, promise };
}

describe('Engine: fan-out', () => {
  it('starts every independent call at once, before any answers', async () => {
    const { fake, engine, endpoint } = setup();
    const run = watch(engine.run(endpoint, input()));
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.calls.map((c) => c.target)).toEqual([
      'users.test/users/42',
      'orders.test/api/orders',
      'recs.test/recs/42',
      'catalog.test/items/a',
      'catalog.test/items/b',
    ]);
    expect(fake.calls.every((c) => !c.settled)).toBe(true);
    expect(run.settled()).toBe(false);
    for (const c of fake.calls) c.respond(json({ from: c.target }));
    await vi.advanceTimersByTimeAsync(0);
    fake.to('users.test/users/')[1]?.respond(json({ id: 'm' }));
    await run.promise;
  });

  it('a dependent call waits for its dependency and gets its field', async () => {
    const { fake, engine, endpoint } = setup();
    const run = engine.run(endpoint, input({ query: {} }));
    await vi.advanceTimersByTimeAsync(50);
    expect(fake.to('users.test')).toHaveLength(1);
    fake.to('users.test/users/42')[0]?.respond(json({ id: '42', managerId: 'm/7' }));
    await vi.advanceTimersByTimeAsync(0);
    // The dependency's value is encoded like any other.
    expect(fake.to('users.test').map((c) => c.url)).toEqual(['http://users.test/users/42', 'http://users.test/users/m%2F7']);
    for (const c of fake.calls) c.respond(json('ok'));
    const result = await run;
    expect(result.data.manager).toBe('ok');
  });

  it('data keys follow declaration order, not arrival order', async () => {
    const { fake, engine, endpoint } = setup();
    const run = engine.run(endpoint, input());
    await vi.advanceTimersByTimeAsync(0);
    // Answer in reverse order, the dependency last.
    for (const c of [...fake.calls].reverse()) {
      c.respond(json(c.target.endsWith('/42') && c.target.startsWith('users') ? { managerId: '1' } : c.target));
      await vi.advanceTimersByTimeAsync(1);
    }
    fake.to('users.test/users/1')[0]?.respond(json('boss'));
    const result = await run;
    expect(Object.keys(result.data)).toEqual(['profile', 'orders', 'recs', 'items', 'manager']);
    expect(result.data.items).toEqual(['catalog.test/items/a', 'catalog.test/items/b']);
    expect(result).toMatchObject({ errors: [], complete: true, failed: undefined });
    expect(JSON.stringify(result.data)).toBe(
      JSON.stringify({
        profile: { managerId: '1' },
        orders: 'orders.test/api/orders',
        recs: 'recs.test/recs/42',
        items: ['catalog.test/items/a', 'catalog.test/items/b'],
        manager: 'boss',
      }),
    );
  });

  it('query arrays become repeated parameters upstream', async () => {
    const { fake, engine, endpoint } = setup(() => json({}));
    await engine.run(endpoint, input({ query: { ids: ['1', '2', '3'] } }));
    expect(fake.to('recs.test')[0]?.url).toBe('http://recs.test/recs/42?seen=1&seen=2&seen=3');
    expect(fake.to('orders.test')[0]?.url).toBe('http://orders.test/api/orders?user=42');
  });

  it('respects the per-request maxConcurrency, each elements included', async () => {
    const config = dashboardConfig();
    const endpoint = config.endpoints[0];
    if (endpoint) endpoint.maxConcurrency = 3;
    const { fake, engine } = setup((c) => after(10, () => healthy(c)), config);
    const plan = planOf(config, ENV);
    const ids = Array.from({ length: 12 }, (_, i) => `id${i}`);
    const run = engine.run(endpointOf(plan), input({ query: { ids } }));
    await vi.advanceTimersByTimeAsync(500);
    const result = await run;
    expect(fake.peak()).toBe(3);
    // profile, orders, recs, 12 items, manager
    expect(fake.calls).toHaveLength(16);
    expect(result.complete).toBe(true);
  });

  it("respects an upstream's maxConcurrency across concurrent requests", async () => {
    const config = dashboardConfig();
    config.upstreams.catalog = { baseUrl: 'http://catalog.test', maxConcurrency: 2 };
    const { fake, engine, endpoint } = setup((c) => after(10, () => healthy(c)), config);
    const ids = ['1', '2', '3', '4', '5'];
    const runs = Promise.all([engine.run(endpoint, input({ query: { ids } })), engine.run(endpoint, input({ query: { ids } }))]);
    await vi.advanceTimersByTimeAsync(500);
    const results = await runs;
    expect(fake.to('catalog.test')).toHaveLength(10);
    expect(fake.peakFor('catalog.test')).toBe(2);
    // Other upstreams were not held back by the catalog's bulkhead.
    expect(fake.peak()).toBeGreaterThan(2);
    expect(results.every((r) => r.complete)).toBe(true);
  });
});

describe('Engine: failures', () => {
  it('a required failure cancels running siblings (their fetch aborts) and gives failed', async () => {
    const { fake, engine, endpoint } = setup();
    const run = engine.run(endpoint, input());
    await vi.advanceTimersByTimeAsync(0);
    const siblings = fake.calls.filter((c) => !c.target.startsWith('users.test'));
    expect(siblings).toHaveLength(4);
    fake.to('users.test/users/42')[0]?.respond(json({ error: 'down' }, 500));
    const result = await run;
    expect(siblings.every((c) => c.signal.aborted)).toBe(true);
    expect(result.failed).toEqual({ call: 'profile', code: 'http_status' });
    expect(result.complete).toBe(false);
    expect(result.data).toEqual({ profile: null, orders: null, recs: [], items: [null, null], manager: null });
    expect(result.errors[0]).toEqual({
      call: 'profile',
      upstream: 'users',
      code: 'http_status',
      status: 500,
      message: 'profile: users answered 500',
      attempts: 1,
    });
    const codes = result.errors.map((e) => `${e.call}${e.item === undefined ? '' : `[${e.item}]`}:${e.code}`);
    expect(codes).toEqual(['profile:http_status', 'orders:cancelled', 'recs:cancelled', 'items[0]:cancelled', 'items[1]:cancelled', 'manager:cancelled']);
    // The dependent call never reached its upstream.
    expect(fake.to('users.test')).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never resolves while a cancelled call is still running', async () => {
    let finishStubborn!: () => void;
    // A transport that ignores the abort for a while (as a slow runtime might).
    const stubborn: Fetcher = (url) => {
      if (url.startsWith('http://users.test')) return Promise.resolve(json({}, 500));
      return new Promise((resolve) => {
        finishStubborn = () => resolve(json('late'));
      });
    };
    const config = dashboardConfig();
    const endpoint = config.endpoints[0];
    if (endpoint) endpoint.calls = { profile: endpoint.calls.profile!, orders: endpoint.calls.orders! };
    const plan = planOf(config, ENV);
    const run = watch(new Engine(plan, stubborn).run(endpointOf(plan), input()));
    await vi.advanceTimersByTimeAsync(50);
    expect(run.settled()).toBe(false);
    finishStubborn();
    const result = await run.promise;
    expect(result.failed?.call).toBe('profile');
  });

  it('an optional failure without fallback: null in data, listed in errors, 200-worthy', async () => {
    const { engine, endpoint } = setup((c) => (c.target.startsWith('orders') ? json({}, 503) : healthy(c)));
    const result = await engine.run(endpoint, input({ query: { ids: [] } }));
    expect(result.data.orders).toBeNull();
    expect(result.errors).toEqual([
      { call: 'orders', upstream: 'orders', code: 'http_status', status: 503, message: 'orders: orders answered 503', attempts: 1 },
    ]);
    expect(result.failed).toBeUndefined();
    expect(result.complete).toBe(false);
  });

  it('an optional failure with a fallback: the fallback in data, the error still listed', async () => {
    const { engine, endpoint } = setup((c) => {
      if (c.target.startsWith('recs')) throw new TypeError('fetch failed');
      return healthy(c);
    });
    const result = await engine.run(endpoint, input({ query: { ids: [] } }));
    expect(result.data.recs).toEqual([]);
    expect(result.errors).toEqual([
      { call: 'recs', upstream: 'recs', code: 'network', message: 'recs: could not reach recs', attempts: 1 },
    ]);
    expect(result.failed).toBeUndefined();
  });

  it('each -> an array of per-item outcomes; per-item errors carry the item index', async () => {
    const { engine, endpoint } = setup((c) => {
      if (c.target === 'catalog.test/items/b') return json({ error: 'no such item' }, 404);
      return healthy(c);
    });
    const result = await engine.run(endpoint, input({ query: { ids: ['a', 'b', 'c'] } }));
    expect(result.data.items).toEqual([{ from: 'catalog.test/items/a' }, null, { from: 'catalog.test/items/c' }]);
    expect(result.errors).toEqual([
      { call: 'items', upstream: 'catalog', code: 'http_status', status: 404, message: 'items[b]: catalog answered 404', attempts: 1, item: 1 },
    ]);
    expect(result.reports.filter((r) => r.call === 'items').map((r) => [r.item, r.outcome])).toEqual(
      expect.arrayContaining([
        [0, 'ok'],
        [1, 'error'],
        [2, 'ok'],
      ]),
    );
  });

  it('each with a fallback puts it in place of each failed item', async () => {
    const config = dashboardConfig();
    const calls = config.endpoints[0]?.calls;
    if (calls) calls.items = { upstream: 'catalog', path: '/items/{item}', each: '{query.ids}', fallback: { missing: true } };
    const { engine, endpoint } = setup((c) => (c.target.endsWith('/a') ? json({}, 500) : c.target.startsWith('catalog') ? json('x') : healthy(c)), config);
    const result = await engine.run(endpoint, input({ query: { ids: ['a', 'b'] } }));
    expect(result.data.items).toEqual([{ missing: true }, 'x']);
    expect(result.errors.map((e) => [e.call, e.item])).toEqual([['items', 0]]);
  });

  it('per-try timeout -> timeout, deadline -> deadline_exceeded on the required call', async () => {
    const { fake, engine, endpoint } = setup();
    const run = engine.run(endpoint, input({ query: { ids: ['a'] } }));
    await vi.advanceTimersByTimeAsync(100);
    // orders (100 ms) has timed out, the others still run.
    expect(fake.to('orders.test')[0]?.signal.aborted).toBe(true);
    expect(fake.to('users.test')[0]?.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    const result = await run;
    const byCall = Object.fromEntries(result.errors.map((e) => [e.call, e]));
    expect(byCall.orders).toMatchObject({ code: 'timeout', message: 'orders did not answer within 100 ms', attempts: 1 });
    expect(byCall.items).toMatchObject({ code: 'timeout', message: 'items[a] did not answer within 200 ms', item: 0 });
    expect(byCall.profile).toMatchObject({ code: 'deadline_exceeded', message: "profile did not finish within the request's deadline" });
    expect(result.failed).toEqual({ call: 'profile', code: 'deadline_exceeded' });
    // The calls' budget is 95% of the endpoint's deadline: time is left to answer.
    expect(result.durationMs).toBeGreaterThanOrEqual(940);
    expect(result.durationMs).toBeLessThan(1000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a required call still queued when the deadline passes fails the request', async () => {
    const config: TributaryConfigInput = {
      upstreams: { slow: { baseUrl: 'http://slow.test' }, users: { baseUrl: 'http://users.test' } },
      endpoints: [
        {
          path: '/v1/x',
          deadlineMs: 500,
          maxConcurrency: 1,
          calls: {
            slow: { upstream: 'slow', path: '/slow' },
            profile: { upstream: 'users', path: '/me', required: true },
          },
        },
      ],
    };
    const { fake, engine, endpoint } = setup(undefined, config);
    const run = engine.run(endpoint, { params: {}, query: {} });
    await vi.advanceTimersByTimeAsync(600);
    const result = await run;
    expect(fake.to('users.test')).toHaveLength(0);
    expect(result.data.profile).toBeNull();
    // The required call did not run: the request cannot be a success (a 504, by DESIGN section 2).
    expect(result.failed).toEqual({ call: 'profile', code: 'deadline_exceeded' });
  });

  it('a required call whose dependency timed out fails the request as a timeout (504), not 502', async () => {
    const config: TributaryConfigInput = {
      upstreams: { users: { baseUrl: 'http://users.test' } },
      endpoints: [
        {
          path: '/v1/x',
          deadlineMs: 1000,
          calls: {
            session: { upstream: 'users', path: '/session', timeoutMs: 100 },
            profile: { upstream: 'users', path: '/users/{calls.session.userId}', required: true },
          },
        },
      ],
    };
    const { fake, engine, endpoint } = setup(undefined, config);
    const run = engine.run(endpoint, { params: {}, query: {} });
    await vi.advanceTimersByTimeAsync(150);
    const result = await run;
    expect(fake.calls).toHaveLength(1);
    expect(result.errors.map((e) => [e.call, e.code])).toEqual([
      ['session', 'timeout'],
      ['profile', 'cancelled'],
    ]);
    expect(result.failed).toEqual({ call: 'profile', code: 'timeout' });
  });

  it("the caller's abort cancels every call and the run still resolves", async () => {
    const { fake, engine, endpoint } = setup();
    const controller = new AbortController();
    const run = engine.run(endpoint, input(), controller.signal);
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    const result = await run;
    expect(fake.calls.every((c) => c.signal.aborted)).toBe(true);
    expect(result.errors.every((e) => e.code === 'cancelled')).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('bodies are always consumed or cancelled, whatever the outcome', async () => {
    const { fake, engine, endpoint } = setup((c) => {
      if (c.target.startsWith('orders')) return json({ e: 1 }, 500);
      if (c.target.startsWith('recs')) return new Response('not json');
      if (c.target.endsWith('/a')) return new Response('x'.repeat(2 * 1024 * 1024));
      return json({ managerId: '3' });
    });
    const result = await engine.run(endpoint, input());
    expect(result.errors.map((e) => `${e.call}:${e.code}`)).toEqual(['orders:http_status', 'recs:invalid_response', 'items:invalid_response']);
    expect(fake.bodies.length).toBe(fake.calls.length);
    expect(fake.allBodiesReleased()).toBe(true);
  });
});

describe('Engine: headers', () => {
  it('forwards only allowlisted client headers; configured headers win; hop-by-hop never', async () => {
    const { fake, engine, endpoint } = setup(healthy);
    const headers = new Headers({
      'x-tenant': 'acme',
      'x-api-key': 'from-the-client',
      authorization: 'Bearer client-token',
      cookie: 'sid=1',
      connection: 'close',
    });
    await engine.run(endpoint, input({ headers, query: { ids: [] } }));
    const users = fake.to('users.test/users/42')[0]?.headers;
    expect(users?.get('x-tenant')).toBe('acme');
    expect(users?.get('x-api-key')).toBe('secret-users-key');
    expect(users?.get('authorization')).toBeNull();
    expect(users?.get('cookie')).toBeNull();
    expect(users?.get('connection')).toBeNull();
    expect(users?.get('accept')).toBe('application/json');
    // An upstream without an allowlist gets no client header, and not another upstream's secret.
    const orders = fake.to('orders.test')[0]?.headers;
    expect(orders?.get('x-tenant')).toBeNull();
    expect(orders?.get('x-api-key')).toBeNull();
    expect(orders?.get('authorization')).toBeNull();
  });

  it('a POST call sends its body template as JSON, keeping types', async () => {
    const config: TributaryConfigInput = {
      upstreams: { search: { baseUrl: 'http://search.test' } },
      endpoints: [
        {
          method: 'POST',
          path: '/v1/search/:scope',
          input: { body: { term: { type: 'string', required: true }, limit: { type: 'integer' }, tags: { type: 'array' } } },
          calls: {
            hits: {
              upstream: 'search',
              method: 'POST',
              path: '/search',
              body: { q: '{body.term}', limit: '{body.limit}', tags: '{body.tags}', scope: 'in:{params.scope}', v: 2 },
            },
          },
        },
      ],
    };
    const { fake, engine, endpoint } = setup(() => json([]), config);
    await engine.run(endpoint, { params: { scope: 'all' }, query: {}, body: { term: 'shoes', limit: 5, tags: ['a', 'b'] } });
    const [call] = fake.calls;
    expect(call?.method).toBe('POST');
    expect(call?.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(call?.body ?? '')).toEqual({ q: 'shoes', limit: 5, tags: ['a', 'b'], scope: 'in:all', v: 2 });
  });
});

describe('Engine: unsafe values', () => {
  it('throws InvalidInputError for an unsafe input path value, before any call', async () => {
    const { fake, engine, endpoint } = setup(() => json({}));
    await expect(engine.run(endpoint, input({ params: { userId: '..' } }))).rejects.toThrow(InvalidInputError);
    try {
      await engine.run(endpoint, input({ query: { ids: ['ok', '.'] } }));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).issues).toEqual([
        { field: 'query.ids.1', message: expect.stringContaining('not a usable path segment') },
      ]);
    }
    expect(fake.calls).toHaveLength(0);
  });

  it('an unsafe value from another call fails only the dependent call, without calling', async () => {
    const { fake, engine, endpoint } = setup((c) => json(c.target === 'users.test/users/42' ? { managerId: '..' } : {}));
    const result = await engine.run(endpoint, input({ query: { ids: [] } }));
    expect(fake.to('users.test')).toHaveLength(1);
    expect(result.errors).toEqual([
      expect.objectContaining({ call: 'manager', code: 'invalid_response', attempts: 0, message: expect.stringContaining('{calls.profile.managerId}') }),
    ]);
    expect(result.failed).toBeUndefined();
  });

  it('a lone surrogate from another call fails the dependent call, not the whole request', async () => {
    // Valid JSON that decodes to a string no URL can carry.
    const { engine, endpoint } = setup((c) =>
      c.target === 'users.test/users/42' ? new Response('{"managerId":"\\ud800"}') : json({}),
    );
    let result: AggregateResult | undefined;
    let thrown: unknown;
    try {
      result = await engine.run(endpoint, input({ query: { ids: [] } }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeUndefined();
    expect(result?.errors).toEqual([expect.objectContaining({ call: 'manager', code: 'invalid_response' })]);
  });

  it('an each over an optional array the client did not send makes no calls and no error', async () => {
    const { fake, engine, endpoint } = setup(healthy);
    const result = await engine.run(endpoint, input({ query: {} }));
    expect(fake.to('catalog.test')).toHaveLength(0);
    expect(result.data.items).toEqual([]);
    expect(result.errors).toEqual([]);
    expect(result.complete).toBe(true);
  });
});
