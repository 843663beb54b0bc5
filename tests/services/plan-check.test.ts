/** `tributary check`'s core: every problem in one pass, "did you mean", worst cases and the critical path. */
import { describe, expect, it } from 'vitest';
import { didYouMean } from '../../src/services/plan/did-you-mean.ts';
import { envNames, standInEnv } from '../../src/services/plan/env-names.ts';
import { callWorstCase, checkConfig, compileConfig, compilePlan, ConfigError, criticalPath, type CompiledCall, type RetryOn } from '../../src/services/plan/index.ts';

const upstream = { baseUrl: 'http://127.0.0.1:4001', timeoutMs: 500 };

/** The compiler's issues for `raw`; fails the test if it compiled. */
function refusal(raw: unknown, env: Record<string, string> = {}): string[] {
  try {
    compilePlan(raw, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the config to be refused');
}

describe('did you mean', () => {
  it.each([
    ['timeoutMS', 'timeoutMs'],
    ['atempts', 'attempts'],
    ['requred', 'required'],
    ['maxConcurency', 'maxConcurrency'],
    ['after', 'afterMs'],
  ])('suggests the known name closest to "%s"', (typed, meant) => {
    expect(didYouMean(typed, ['baseUrl', 'timeoutMs', 'attempts', 'required', 'maxConcurrency', 'afterMs'])).toBe(meant);
  });

  it('suggests nothing when no known name is close', () => {
    expect(didYouMean('colour', ['baseUrl', 'timeoutMs', 'headers'])).toBeUndefined();
    expect(didYouMean('on', ['one', 'timeoutMs'])).toBe('one');
    expect(didYouMean('x', ['baseUrl'])).toBeUndefined();
  });
});

describe('compilePlan: schema and plan problems in one pass', () => {
  const config = {
    upstreams: { users: { ...upstream, timeoutMS: 500 }, orders: { baseUrl: 'ftp://x' } },
    endpoints: [
      {
        path: '/v1/d/:userId',
        calls: {
          profile: { upstream: 'users', path: '/users/{params.userId}', requred: true },
          orders: { upstream: 'order', path: '/orders', query: { u: '{params.user}' } },
          manager: { upstream: 'users', path: '/users/{calls.profile.managerId}' },
          history: { upstream: 'users', path: '/h/{calls.profle.id}' },
        },
      },
    ],
  };

  it('reports a mistyped field and the plan problems of the rest together', () => {
    expect(refusal(config)).toEqual([
      'upstream "users": Unrecognized key: "timeoutMS"; did you mean "timeoutMs"?',
      'endpoint GET /v1/d/:userId, call "profile": Unrecognized key: "requred"; did you mean "required"?',
      'upstream "orders", field "baseUrl": must be http or https, got ftp:',
      'endpoint GET /v1/d/:userId, call "orders", field "upstream": unknown upstream "order" (known: users, orders); did you mean "orders"?',
      'endpoint GET /v1/d/:userId, call "orders", field "query.u": {params.user} names no declared params field (declared: userId); did you mean "userId"?',
      'endpoint GET /v1/d/:userId, call "history", field "path": {calls.profle.id} names no call of this endpoint (calls: profile, orders, manager, history); did you mean "profile"?',
    ]);
  });

  it('does not call an upstream or a call "unknown" because it failed the schema', () => {
    // users and profile have fields of the wrong type; manager uses both and is otherwise fine.
    const issues = refusal({
      upstreams: { users: { ...upstream, timeoutMs: 'fast' } },
      endpoints: [
        {
          path: '/v1/d/:userId',
          calls: {
            profile: { upstream: 'users', path: '/users/{params.userId}', required: 'yes' },
            manager: { upstream: 'users', path: '/users/{calls.profile.managerId}' },
          },
        },
      ],
    });
    expect(issues).toEqual([
      expect.stringMatching(/^upstream "users", field "timeoutMs": /),
      expect.stringMatching(/^endpoint GET \/v1\/d\/:userId, call "profile", field "required": /),
    ]);
  });

  it('checks what holds a mistyped field as if the field were not there', () => {
    const issues = refusal({
      upstreams: { users: { ...upstream, timeoutMS: 500, headers: { 'x-api-key': '${USERS_KEY}' } }, broken: { baseUrl: 'ftp://x' } },
      endpoints: [
        {
          path: '/x',
          calls: { a: { upstream: 'broken', path: '/a/{calls.b.id}', requred: true }, b: { upstream: 'broken', path: '/b/{calls.a.id}' } },
        },
      ],
    });
    expect(issues).toEqual([
      'upstream "users": Unrecognized key: "timeoutMS"; did you mean "timeoutMs"?',
      'endpoint GET /x, call "a": Unrecognized key: "requred"; did you mean "required"?',
      'upstream "users", header "x-api-key": environment variable USERS_KEY is not set',
      'upstream "broken", field "baseUrl": must be http or https, got ftp:',
      // Neither call compiles without its upstream; their cycle is found all the same.
      'endpoint GET /x: calls depend on each other in a cycle: a -> b -> a',
    ]);
  });

  it('names the nearest known field wherever the mistyped one is', () => {
    const issues = refusal({
      upstreams: { u: { ...upstream, retry: { atempts: 3 } } },
      endpoint: [],
      endpoints: [{ path: '/x', input: { query: { q: { type: 'string', patern: 'x' } } }, calls: { a: { upstream: 'u', path: '/a', hedge: { maxExtar: 1 } } } }],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        'config: Unrecognized key: "endpoint"; did you mean "endpoints"?',
        'upstream "u", field "retry": Unrecognized key: "atempts"; did you mean "attempts"?',
        'endpoint GET /x, field "input.query.q": Unrecognized key: "patern"; did you mean "pattern"?',
        'endpoint GET /x, call "a", field "hedge": Unrecognized key: "maxExtar"; did you mean "maxExtra"?',
      ]),
    );
  });

  it('still compiles what is valid: compileConfig returns it with the problems', () => {
    const { plan, issues } = compileConfig({
      upstreams: { u: upstream, bad: { baseUrl: 1 } },
      endpoints: [
        { path: '/ok', calls: { a: { upstream: 'u', path: '/a' } } },
        { path: '/bad', deadlineMs: 'soon', calls: { a: { upstream: 'u', path: '/a' } } },
      ],
    });
    expect(plan.endpoints.map((e) => e.id)).toEqual(['GET /ok']);
    expect([...plan.upstreams.keys()]).toEqual(['u']);
    expect(issues).toEqual([expect.stringMatching(/^upstream "bad", field "baseUrl": /), expect.stringMatching(/^endpoint GET \/bad, field "deadlineMs": /)]);
  });
});

describe('worst-case time of a call', () => {
  const call = (extra: Partial<CompiledCall> = {}) => ({ name: 'c', timeoutMs: 300, retry: undefined, hedge: undefined, ...extra });
  const retry = (on: RetryOn[]) => ({ attempts: 3, backoffMs: 50, maxBackoffMs: 1000, on: new Set(on), budgetRatio: 0.2, budgetMinPerSecond: 5 });

  it('is its per-try timeout without retries', () => {
    expect(callWorstCase(call())).toEqual({ call: 'c', worstMs: 300, detail: undefined });
  });

  it('counts every attempt and the longest jittered backoffs between them', () => {
    // 3 × 300 ms, then backoffs of at most 50 and 100 ms.
    expect(callWorstCase(call({ retry: retry(['timeout', 'network']) }))).toEqual({ call: 'c', worstMs: 1050, detail: '3 × 300 ms + 150 ms of backoff' });
  });

  it('counts maxBackoffMs per retry when a Retry-After (429, 5xx) may ask for it', () => {
    expect(callWorstCase(call({ retry: retry(['timeout', '5xx']) })).worstMs).toBe(3 * 300 + 2 * 1000);
  });

  it('counts a hedged call\'s timeout once', () => {
    expect(callWorstCase(call({ hedge: { after: { ms: 50 }, maxExtra: 2 } }))).toEqual({ call: 'c', worstMs: 300, detail: 'hedged: the timeout once' });
  });
});

describe('critical path', () => {
  const plan = (deadlineMs: number) =>
    compilePlan({
      upstreams: { fast: { baseUrl: 'http://127.0.0.1:4001', timeoutMs: 200 }, slow: { baseUrl: 'http://127.0.0.1:4002', timeoutMs: 700 } },
      endpoints: [
        {
          path: '/x',
          deadlineMs,
          calls: {
            a: { upstream: 'fast', path: '/a' },
            b: { upstream: 'fast', path: '/b/{calls.a.id}' },
            c: { upstream: 'fast', path: '/c/{calls.b.id}', retry: { attempts: 2, backoffMs: 10, on: ['timeout'] } },
            alone: { upstream: 'slow', path: '/alone' },
          },
        },
      ],
    }).endpoints[0]!;

  it('is the dependency chain whose worst cases add up to the most', () => {
    // a 200 + b 200 + c (2 × 200 + 10) = 810 ms, longer than alone's 700 ms.
    expect(criticalPath(plan(2000))).toEqual({ calls: ['a', 'b', 'c'], worstMs: 810, deadlineMs: 2000, budgetMs: 1900, fits: true });
  });

  it('does not fit when it outlasts 95% of the deadline, and checkConfig warns', () => {
    expect(criticalPath(plan(850)).fits).toBe(false); // 810 ms > 807.5 ms
    const result = checkConfig(
      {
        upstreams: { fast: { baseUrl: 'http://127.0.0.1:4001', timeoutMs: 400 } },
        endpoints: [{ path: '/x', deadlineMs: 800, calls: { a: { upstream: 'fast', path: '/a' }, b: { upstream: 'fast', path: '/b/{calls.a.id}' } } }],
      },
      {},
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings).toEqual([expect.stringMatching(/^endpoint GET \/x: the chain a -> b can take up to 800 ms at worst, more than the 760 ms its calls get \(95% of the 800 ms deadline\)/)]);
  });

  it('checkConfig lists each endpoint\'s calls, their dependencies and worst cases, with no warning when the path fits', () => {
    const result = checkConfig(
      {
        upstreams: { u: upstream },
        endpoints: [{ path: '/x/:id', calls: { a: { upstream: 'u', path: '/a/{params.id}', required: true }, b: { upstream: 'u', path: '/b/{calls.a.id}', fallback: null } } }],
      },
      {},
    );
    expect(result.warnings).toEqual([]);
    expect(result.endpoints).toEqual([
      {
        id: 'GET /x/:id',
        calls: [
          expect.objectContaining({ name: 'a', upstream: 'u', method: 'GET', path: '/a/{params.id}', required: true, dependsOn: [], worst: expect.objectContaining({ worstMs: 500 }) }),
          expect.objectContaining({ name: 'b', hasFallback: true, dependsOn: ['a'] }),
        ],
        criticalPath: { calls: ['a', 'b'], worstMs: 1000, deadlineMs: 2000, budgetMs: 1900, fits: true },
      },
    ]);
  });
});

describe('variables a config needs', () => {
  const raw = { upstreams: { a: { baseUrl: '${A_URL}', headers: { authorization: 'Bearer ${A_TOKEN}' } }, b: { baseUrl: 'http://b.example:${B_PORT}/api' } }, endpoints: [] };

  it('lists every ${NAME} once, in order of use', () => {
    expect(envNames(raw)).toEqual(['A_URL', 'A_TOKEN', 'B_PORT']);
  });

  it('stands in for unknown values with ones that compile where each is used', () => {
    expect(standInEnv(raw, ['A_URL', 'A_TOKEN', 'B_PORT'])).toEqual({ A_URL: 'https://a-url.secret.invalid', A_TOKEN: 'secret-value', B_PORT: '8443' });
    expect(compileConfig(raw, standInEnv(raw, envNames(raw))).issues).toEqual([]);
  });
});
