import { describe, expect, expectTypeOf, it } from 'vitest';
import { defineConfig, type TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan, ConfigError } from '../../src/services/plan/index.ts';

/** A small valid config; tests change one thing and expect one refusal. */
function base(): { upstreams: Record<string, Record<string, unknown>>; endpoints: Record<string, unknown>[] } {
  return {
    upstreams: {
      users: { baseUrl: 'http://127.0.0.1:4001', headers: { 'x-api-key': '${USERS_KEY}' } },
      orders: { baseUrl: 'http://127.0.0.1:4002/api/', timeoutMs: 300 },
    },
    endpoints: [
      {
        path: '/v1/dashboard/:userId',
        deadlineMs: 1500,
        input: {
          params: { userId: { type: 'string', pattern: '^[0-9]+$' } },
          query: { ids: { type: 'array', items: { type: 'string' }, maxItems: 50 }, limit: { type: 'integer' } },
        },
        calls: {
          profile: { upstream: 'users', path: '/users/{params.userId}', required: true },
          orders: { upstream: 'orders', path: '/orders', query: { user: '{params.userId}', limit: '{query.limit}' } },
          items: { upstream: 'orders', path: '/items/{item}', each: '{query.ids}' },
          manager: { upstream: 'users', path: '/users/{calls.profile.managerId}' },
        },
      },
    ],
  };
}

const env = { USERS_KEY: 'k-123' };
type Config = ReturnType<typeof base>;
type Calls = Record<string, Record<string, unknown>>;
const calls = (config: Config, endpoint = 0): Calls => config.endpoints[endpoint]?.calls as Calls;

/** The compiler's issues for `raw`; fails the test if it compiled. */
function refusal(raw: unknown, environment: Record<string, string> = env): string[] {
  try {
    compilePlan(raw, environment);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the config to be refused');
}

describe('compilePlan: a valid config', () => {
  it('compiles with defaults filled in and env substituted', () => {
    const plan = compilePlan(base(), env);
    const users = plan.upstreams.get('users');
    expect(users).toMatchObject({
      base: 'http://127.0.0.1:4001',
      origin: 'http://127.0.0.1:4001',
      timeoutMs: 1000,
      maxConcurrency: 64,
      maxQueue: 1000,
      maxBodyBytes: 1024 * 1024,
      headers: { 'x-api-key': 'k-123' },
    });
    expect(users?.forwardHeaders.size).toBe(0);
    // The trailing slash of a base path is dropped, the path kept.
    expect(plan.upstreams.get('orders')?.base).toBe('http://127.0.0.1:4002/api');

    const [endpoint] = plan.endpoints;
    expect(endpoint?.id).toBe('GET /v1/dashboard/:userId');
    expect(endpoint?.maxConcurrency).toBe(16);
    expect(endpoint?.calls.map((c) => c.name)).toEqual(['profile', 'orders', 'items', 'manager']);
    const byName = new Map(endpoint?.calls.map((c) => [c.name, c]));
    expect(byName.get('profile')).toMatchObject({ method: 'GET', required: true, timeoutMs: 1000, fallback: undefined });
    // The call inherits its upstream's timeout.
    expect(byName.get('orders')?.timeoutMs).toBe(300);
    expect(byName.get('items')?.each?.text).toBe('query.ids');
    expect(byName.get('items')?.maxItems).toBe(1000);
    expect(byName.get('manager')?.dependsOn).toEqual(['profile']);
    expect(byName.get('orders')?.dependsOn).toEqual([]);
    expect(plan.cors).toEqual({ origins: [], credentials: false, maxAgeSeconds: 600 });
  });

  it('substitutes ${ENV} in headers and baseUrl, several per value', () => {
    const config = base();
    config.upstreams.users = {
      baseUrl: 'http://${USERS_HOST}:4001',
      headers: { Authorization: 'Bearer ${TOKEN_A}.${TOKEN_B}' },
    };
    const plan = compilePlan(config, { USERS_HOST: '10.0.0.7', TOKEN_A: 'aa', TOKEN_B: 'bb' });
    const users = plan.upstreams.get('users');
    expect(users?.base).toBe('http://10.0.0.7:4001');
    // Header names are lower-cased once, at compile time.
    expect(users?.headers).toEqual({ authorization: 'Bearer aa.bb' });
  });

  it('a fallback of null or false is kept (it is a value, not "no fallback")', () => {
    const config = base();
    calls(config).orders = { upstream: 'orders', path: '/orders', fallback: null };
    calls(config).items = { upstream: 'orders', path: '/items', fallback: false };
    const plan = compilePlan(config, env);
    const byName = new Map(plan.endpoints[0]?.calls.map((c) => [c.name, c]));
    expect(byName.get('orders')?.fallback).toEqual({ value: null });
    expect(byName.get('items')?.fallback).toEqual({ value: false });
  });
});

describe('compilePlan: refusals name the endpoint, call and field', () => {
  it('an unknown upstream', () => {
    const config = base();
    calls(config).orders = { upstream: 'billing', path: '/orders' };
    const issues = refusal(config);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain('endpoint GET /v1/dashboard/:userId');
    expect(issues[0]).toContain('call "orders"');
    expect(issues[0]).toContain('field "upstream"');
    expect(issues[0]).toContain('unknown upstream "billing"');
    expect(issues[0]).toContain('known: users, orders');
  });

  it('an upstream named like a property every object has', () => {
    const config = base();
    calls(config).orders = { upstream: 'toString', path: '/orders' };
    expect(refusal(config)).toEqual([expect.stringMatching(/call "orders", field "upstream": unknown upstream "toString"/)]);
  });

  it('a dependency cycle, showing the cycle', () => {
    const config = base();
    calls(config).a = { upstream: 'users', path: '/a/{calls.c.id}' };
    calls(config).b = { upstream: 'users', path: '/b/{calls.a.id}' };
    calls(config).c = { upstream: 'users', path: '/c', query: { x: '{calls.b.id}' } };
    const issues = refusal(config);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toContain('endpoint GET /v1/dashboard/:userId');
    expect(issues[0]).toMatch(/cycle: a -> c -> b -> a/);
  });

  it('a call that refers to itself', () => {
    const config = base();
    calls(config).orders = { upstream: 'orders', path: '/orders/{calls.orders.next}' };
    expect(refusal(config)).toEqual([
      expect.stringMatching(/call "orders", field "path": \{calls\.orders\.next\} refers to the call itself/),
    ]);
  });

  it('a template naming a missing param', () => {
    const config = base();
    calls(config).profile = { upstream: 'users', path: '/users/{params.id}' };
    const [issue] = refusal(config);
    expect(issue).toMatch(/endpoint GET \/v1\/dashboard\/:userId, call "profile", field "path"/);
    expect(issue).toContain('{params.id} names no declared params field (declared: userId)');
  });

  it('a template naming a missing query field', () => {
    const config = base();
    calls(config).orders = { upstream: 'orders', path: '/orders', query: { page: '{query.page}' } };
    const [issue] = refusal(config);
    expect(issue).toMatch(/call "orders", field "query.page": \{query.page\} names no declared query field \(declared: ids, limit\)/);
  });

  it('a template naming a missing call', () => {
    const config = base();
    calls(config).manager = { upstream: 'users', path: '/users/{calls.profil.managerId}' };
    const [issue] = refusal(config);
    expect(issue).toMatch(/call "manager", field "path": \{calls.profil.managerId\} names no call of this endpoint/);
    expect(issue).toContain('calls: profile, orders, items, manager');
  });

  it('{item} without each', () => {
    const config = base();
    calls(config).orders = { upstream: 'orders', path: '/orders/{item}' };
    expect(refusal(config)).toEqual([expect.stringMatching(/call "orders", field "path": \{item\} is only available in a call with "each"/)]);
  });

  it('each over a scalar field, or over something that is not one reference', () => {
    const config = base();
    calls(config).items = { upstream: 'orders', path: '/items/{item}', each: '{query.limit}' };
    calls(config).more = { upstream: 'orders', path: '/more/{item}', each: 'ids: {query.ids}' };
    const issues = refusal(config);
    expect(issues).toContainEqual(expect.stringMatching(/call "items", field "each": \{query.limit\} is not an array field/));
    expect(issues).toContainEqual(expect.stringMatching(/call "more", field "each": must be exactly one reference/));
  });

  it('an optional query field or an array inside a path', () => {
    const config = base();
    calls(config).orders = { upstream: 'orders', path: '/orders/{query.limit}' };
    calls(config).items = { upstream: 'orders', path: '/items/{query.ids}' };
    const issues = refusal(config);
    expect(issues).toContainEqual(expect.stringMatching(/call "orders", field "path": .*optional and cannot be part of a path/));
    expect(issues).toContainEqual(expect.stringMatching(/call "items", field "path": .*is an array and cannot be part of a path/));
  });

  it('a malformed template', () => {
    const config = base();
    calls(config).orders = { upstream: 'orders', path: '/orders/{params.userId' };
    calls(config).items = { upstream: 'orders', path: '/items/{header.x}' };
    const issues = refusal(config);
    expect(issues).toContainEqual(expect.stringMatching(/call "orders", field "path": unclosed "\{"/));
    expect(issues).toContainEqual(expect.stringMatching(/call "items", field "path": "\{header.x\}" .*must start with params\./));
  });

  it('a call timeout longer than its endpoint deadline', () => {
    const config = base();
    calls(config).orders = { upstream: 'orders', path: '/orders', timeoutMs: 2000 };
    expect(refusal(config)).toEqual([
      expect.stringMatching(
        /endpoint GET \/v1\/dashboard\/:userId, call "orders", field "timeoutMs": 2000 ms is longer than the endpoint's deadline of 1500 ms/,
      ),
    ]);
  });

  it.each([
    ['ftp://127.0.0.1/x', /must be http or https, got ftp:/],
    ['file:///etc/passwd', /must be http or https, got file:/],
    ['127.0.0.1:4001', /must be http or https|is not a valid URL/],
    ['not a url', /"not a url" is not a valid URL/],
    ['http://user:pass@127.0.0.1:4001', /must not carry credentials, a query or a fragment/],
    ['http://127.0.0.1:4001/?key=1', /must not carry credentials, a query or a fragment/],
    ['http://127.0.0.1:4001/#top', /must not carry credentials, a query or a fragment/],
  ])('an invalid base URL: %s', (baseUrl, message) => {
    const config = base();
    config.upstreams.orders = { baseUrl };
    const issues = refusal(config);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^upstream "orders", field "baseUrl"/);
    expect(issues[0]).toMatch(message);
  });

  it('a missing ${ENV} variable in upstream headers, without leaking other values', () => {
    const issues = refusal(base(), {});
    expect(issues).toEqual(['upstream "users", header "x-api-key": environment variable USERS_KEY is not set']);
  });

  it('a duplicate endpoint', () => {
    const config = base();
    config.endpoints.push({ method: 'GET', path: '/v1/dashboard/:userId', calls: { a: { upstream: 'users', path: '/a' } } });
    expect(refusal(config)).toContainEqual(
      'endpoint GET /v1/dashboard/:userId: declared twice (another endpoint has the same method and path)',
    );
  });

  it('a duplicate endpoint whose path only renames a parameter', () => {
    const config = base();
    config.endpoints.push({ method: 'GET', path: '/v1/dashboard/:id', calls: { a: { upstream: 'users', path: '/a' } } });
    expect(refusal(config)).toContainEqual(
      'endpoint GET /v1/dashboard/:id: declared twice (another endpoint has the same method and path)',
    );
  });

  it('a zod-level error (wrong type) with a readable path', () => {
    const config = base();
    calls(config).orders = { upstream: 'orders', path: '/orders', timeoutMs: '300' };
    const [issue] = refusal(config);
    expect(issue).toMatch(/^endpoint GET \/v1\/dashboard\/:userId, call "orders", field "timeoutMs": /);
    expect(issue).toMatch(/number/);
  });

  it('zod-level errors in upstreams and unknown keys are readable too', () => {
    const config = base();
    config.upstreams.users = { baseUrl: 'http://127.0.0.1:4001', maxConcurrency: 0, retries: 3 };
    const issues = refusal(config);
    expect(issues).toContainEqual(expect.stringMatching(/^upstream "users", field "maxConcurrency": /));
    expect(issues).toContainEqual(expect.stringMatching(/^upstream "users": .*retries/));
  });

  it('reports several problems together', () => {
    const config = base();
    calls(config).orders = { upstream: 'billing', path: '/orders', timeoutMs: 5000 };
    calls(config).manager = { upstream: 'users', path: '/users/{calls.nobody.id}' };
    config.upstreams.orders = { baseUrl: 'ftp://x' };
    const issues = refusal(config, {});
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/upstream "users", header "x-api-key": environment variable USERS_KEY/),
        expect.stringMatching(/upstream "orders", field "baseUrl": must be http or https/),
        expect.stringMatching(/call "orders", field "upstream": unknown upstream "billing"/),
        expect.stringMatching(/call "orders", field "timeoutMs": 5000 ms/),
        expect.stringMatching(/call "manager", field "path": \{calls.nobody.id\} names no call/),
      ]),
    );
    // The error message lists each issue on its own line.
    try {
      compilePlan(config, {});
    } catch (error) {
      expect((error as Error).message.split('\n').length).toBe(issues.length + 1);
    }
  });
});

describe('defineConfig', () => {
  it('types a TS config and returns it unchanged', () => {
    const config = defineConfig({
      upstreams: { users: { baseUrl: 'http://127.0.0.1:4001' } },
      endpoints: [{ path: '/v1/users/:id', calls: { user: { upstream: 'users', path: '/users/{params.id}', required: true } } }],
    });
    expectTypeOf(config).toEqualTypeOf<TributaryConfigInput>();
    // Defaults stay optional in the input type, and the config compiles.
    expect(compilePlan(config).endpoints[0]?.calls[0]?.required).toBe(true);
  });

  it('rejects a wrong field at type-check time', () => {
    // @ts-expect-error: timeoutMs is a number
    defineConfig({ upstreams: { u: { baseUrl: 'http://x', timeoutMs: '5' } }, endpoints: [] });
    // @ts-expect-error: an unknown method
    defineConfig({ upstreams: {}, endpoints: [{ method: 'TRACE', path: '/x', calls: {} }] });
  });
});
