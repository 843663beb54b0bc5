import { describe, expect, it } from 'vitest';
import { compileConfig, compilePlan } from '../../src/services/plan/index.ts';

function config(endpoint: Record<string, unknown>): unknown {
  return {
    upstreams: { u: { baseUrl: 'http://127.0.0.1:4001' } },
    endpoints: [
      {
        path: '/v1/users/:userId',
        input: { query: { ids: { type: 'array', items: { type: 'string' } } } },
        calls: {
          profile: { upstream: 'u', path: '/users/{params.userId}', required: true },
          orders: { upstream: 'u', path: '/orders', pick: ['items.id', 'total'] },
        },
        ...endpoint,
      },
    ],
  };
}

const issuesOf = (raw: unknown): string[] => compileConfig(raw).issues;

describe('plan: response templates', () => {
  it('compiles a response template whose refs name input fields and calls', () => {
    const plan = compilePlan(config({ response: { id: '{params.userId}', user: '{calls.profile}', first: '{calls.orders.items.0.id}' } }));
    expect(plan.endpoints[0]?.response).toBeDefined();
  });

  it('refuses, all at once, refs to unknown calls, undeclared fields and {item}, naming the endpoint and field', () => {
    const issues = issuesOf(config({ response: { a: '{calls.profle.name}', b: '{query.nope}', c: ['{item}'] } }));
    expect(issues).toEqual([
      'endpoint GET /v1/users/:userId, field "response": {calls.profle.name} names no call of this endpoint (calls: profile, orders); did you mean "profile"?',
      'endpoint GET /v1/users/:userId, field "response": {query.nope} names no declared query field (declared: ids)',
      'endpoint GET /v1/users/:userId, field "response": {item} is only available in a call with "each"',
    ]);
  });

  it('refuses a ref into a field that the call\'s pick leaves out', () => {
    const issues = issuesOf(config({ response: { ok: '{calls.orders.items.3.id}', bad: '{calls.orders.items.0.name}' } }));
    expect(issues).toEqual([
      'endpoint GET /v1/users/:userId, field "response": {calls.orders.items.0.name} asks for "name", which the "pick" of call "orders" leaves out',
    ]);
  });

  it('refuses a malformed placeholder and a response that is not an object', () => {
    expect(issuesOf(config({ response: { a: '{calls.profile' } }))).toEqual([
      'endpoint GET /v1/users/:userId, field "response": unclosed "{" in "{calls.profile"',
    ]);
    expect(issuesOf(config({ response: '{calls.profile}' })).join('\n')).toMatch(/response/);
  });
});

describe('plan: pick, statusMap and cacheControl', () => {
  it('refuses every pick path with an empty or invalid segment', () => {
    const raw = config({});
    (raw as any).endpoints[0].calls.orders.pick = ['items..id', 'a b'];
    expect(issuesOf(raw)).toEqual([
      'endpoint GET /v1/users/:userId, call "orders", field "pick": "items..id" is not a path of field names separated by "." (empty segment)',
      'endpoint GET /v1/users/:userId, call "orders", field "pick": "a b" is not a path of field names separated by "." ("a b")',
    ]);
  });

  it('refuses a statusMap on an optional call, and statuses that are not 4xx or 5xx', () => {
    const raw = config({});
    (raw as any).endpoints[0].calls.orders.statusMap = { '404': 404 };
    (raw as any).endpoints[0].calls.profile.statusMap = { '200': 404, '404': 200, abc: 400 };
    expect(issuesOf(raw)).toEqual([
      'endpoint GET /v1/users/:userId, call "profile", field "statusMap": "200" is not an upstream error status (400-599)',
      'endpoint GET /v1/users/:userId, call "profile", field "statusMap".404: 200 is not an error status the gateway can answer (400-599)',
      'endpoint GET /v1/users/:userId, call "profile", field "statusMap": "abc" is not an upstream error status (400-599)',
      'endpoint GET /v1/users/:userId, call "orders", field "statusMap": only a required call decides the request\'s status (add "required": true)',
    ]);
  });

  it('refuses a cacheControl that would break the header', () => {
    expect(issuesOf(config({ cacheControl: 'public\r\nx-evil: 1' }))).toEqual([
      'endpoint GET /v1/users/:userId, field "cacheControl": must be printable ASCII on one line',
    ]);
  });
});
