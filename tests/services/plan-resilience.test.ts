import { describe, expect, it } from 'vitest';
import { defineConfig } from '../../src/services/config-schema.ts';
import { compilePlan, type CompiledCall, type Plan } from '../../src/services/plan/index.ts';
import { refusalOf as refusal } from './fixtures.ts';

type Settings = Record<string, unknown>;

/** Upstream `u` with `upstream` settings, endpoint `GET /x` with the given calls (each to `u` at `/<name>` unless set). */
function config(upstream: Settings, calls: Record<string, Settings>, deadlineMs = 2000) {
  const withDefaults = Object.fromEntries(Object.entries(calls).map(([name, c]) => [name, { upstream: 'u', path: `/${name}`, ...c }]));
  return {
    upstreams: { u: { baseUrl: 'http://u.test', ...upstream } },
    endpoints: [{ path: '/x', deadlineMs, calls: withDefaults }],
  };
}

function compiled(upstream: Settings, calls: Record<string, Settings>): { plan: Plan; call: (name: string) => CompiledCall } {
  const plan = compilePlan(config(upstream, calls));
  const byName = new Map(plan.endpoints[0]?.calls.map((c) => [c.name, c]));
  return { plan, call: (name) => byName.get(name) as CompiledCall };
}

const ALL_ON = new Set(['timeout', 'network', '5xx', '429']);

describe('resilience config: what a call gets', () => {
  it('fills in every default of an empty retry, breaker and hedge', () => {
    const { plan, call } = compiled({ retry: {}, circuitBreaker: {} }, { a: {} });
    expect(call('a').retry).toEqual({ attempts: 3, backoffMs: 50, maxBackoffMs: 1000, on: ALL_ON, budgetRatio: 0.2, budgetMinPerSecond: 5 });
    const upstream = plan.upstreams.get('u');
    expect(upstream?.circuitBreaker).toEqual({ failureRatio: 0.5, minimumRequests: 20, windowMs: 10_000, openMs: 5000, halfOpenRequests: 1 });
    expect(upstream?.retryBudget).toEqual({ ratio: 0.2, minPerSecond: 5 });
    expect(call('a')).toMatchObject({ idempotent: true, hedge: undefined, useBreaker: true });

    const hedged = compiled({ hedge: {} }, { a: {} });
    expect(hedged.call('a').hedge).toEqual({ after: { ms: 50 }, maxExtra: 1 });
  });

  it('has no retry, hedge, breaker or budget when none is configured', () => {
    const { plan, call } = compiled({}, { a: {} });
    expect(call('a')).toMatchObject({ idempotent: true, retry: undefined, hedge: undefined, useBreaker: false });
    expect(plan.upstreams.get('u')).toMatchObject({ circuitBreaker: undefined, retryBudget: undefined });
  });

  it("lets a call's fields override its upstream's, keeping the rest", () => {
    const { call } = compiled(
      { retry: { attempts: 3, backoffMs: 100, on: ['5xx'] }, hedge: { afterMs: 'p95', maxExtra: 2 } },
      { more: { retry: { attempts: 5 }, hedge: false }, hedged: { retry: false, hedge: { maxExtra: 1 } } },
    );
    expect(call('more').retry).toMatchObject({ attempts: 5, backoffMs: 100, maxBackoffMs: 1000, on: new Set(['5xx']) });
    expect(call('hedged').hedge).toEqual({ after: { percentile: 95 }, maxExtra: 1 });
  });

  it('gives a call its own retry with the defaults when its upstream has none, and a default budget', () => {
    const { plan, call } = compiled({}, { a: { retry: { backoffMs: 10 } }, b: {} });
    expect(call('a').retry).toMatchObject({ attempts: 3, backoffMs: 10 });
    expect(call('b').retry).toBeUndefined();
    expect(plan.upstreams.get('u')?.retryBudget).toEqual({ ratio: 0.2, minPerSecond: 5 });
  });

  it('takes the budget from the upstream when it sets one', () => {
    const { plan } = compiled({ retry: { budgetRatio: 0.1, budgetMinPerSecond: 2 } }, { a: {} });
    expect(plan.upstreams.get('u')?.retryBudget).toEqual({ ratio: 0.1, minPerSecond: 2 });
  });

  it('switches retry or hedge off for a call that says false', () => {
    const { call } = compiled({ retry: {} }, { off: { retry: false }, on: {} });
    expect(call('off').retry).toBeUndefined();
    expect(call('on').retry?.attempts).toBe(3);
  });

  it('treats attempts of 1 as no retry (one request on the wire)', () => {
    const { plan, call } = compiled({ retry: { attempts: 1 } }, { a: {} });
    expect(call('a').retry).toBeUndefined();
    expect(plan.upstreams.get('u')?.retryBudget).toBeUndefined();
  });

  it('never retries or hedges a POST or PATCH by default', () => {
    const { plan, call } = compiled({ retry: {} }, { create: { method: 'POST' }, change: { method: 'PATCH' } });
    expect(call('create')).toMatchObject({ idempotent: false, retry: undefined, hedge: undefined });
    expect(call('change')).toMatchObject({ idempotent: false, retry: undefined });
    // Nothing retries, so nothing spends a budget.
    expect(plan.upstreams.get('u')?.retryBudget).toBeUndefined();
    expect(compiled({ hedge: {} }, { create: { method: 'POST' } }).call('create').hedge).toBeUndefined();
  });

  it('retries PUT and DELETE by default, a POST marked idempotent, and not a GET marked otherwise', () => {
    const { call } = compiled(
      { retry: {} },
      { put: { method: 'PUT' }, del: { method: 'DELETE' }, post: { method: 'POST', idempotent: true }, get: { idempotent: false } },
    );
    expect(call('put').retry?.attempts).toBe(3);
    expect(call('del').retry?.attempts).toBe(3);
    expect(call('post')).toMatchObject({ idempotent: true, retry: { attempts: 3 } });
    expect(call('get')).toMatchObject({ idempotent: false, retry: undefined });
  });

  it('lets one call opt out of its upstream breaker with circuitBreaker: false', () => {
    const { plan, call } = compiled({ circuitBreaker: {} }, { guarded: {}, health: { circuitBreaker: false } });
    expect(call('guarded').useBreaker).toBe(true);
    expect(call('health').useBreaker).toBe(false);
    // The breaker is the upstream's: still there for the other calls.
    expect(plan.upstreams.get('u')?.circuitBreaker).toBeDefined();
  });

  it.each([
    ['p90', 90],
    ['p95', 95],
    ['p99', 99],
  ] as const)('reads hedge afterMs "%s" as that percentile of recent latency', (afterMs, percentile) => {
    expect(compiled({ hedge: { afterMs } }, { a: {} }).call('a').hedge?.after).toEqual({ percentile });
  });

  it('accepts the same settings from a typed defineConfig', () => {
    const typed = defineConfig({
      upstreams: { u: { baseUrl: 'http://u.test', retry: { attempts: 2 }, circuitBreaker: { openMs: 100 } } },
      endpoints: [{ path: '/x', calls: { a: { upstream: 'u', path: '/a', method: 'POST', idempotent: true, circuitBreaker: false } } }],
    });
    expect(compilePlan(typed).endpoints[0]?.calls[0]).toMatchObject({ retry: { attempts: 2 }, useBreaker: false });
    // @ts-expect-error: afterMs is a number of ms or p90/p95/p99
    defineConfig({ upstreams: { u: { baseUrl: 'http://u.test', hedge: { afterMs: 'p50' } } }, endpoints: [] });
  });
});

describe('resilience config: refusals', () => {
  it('refuses a retry set on a POST call that is not marked idempotent, saying what to add', () => {
    const issues = refusal(config({}, { create: { method: 'POST', retry: { attempts: 2 } }, mark: { method: 'PATCH', hedge: {} } }));
    expect(issues).toEqual([
      expect.stringMatching(/^endpoint GET \/x, call "create", field "retry": a POST call is not idempotent .*add "idempotent": true/),
      expect.stringMatching(/^endpoint GET \/x, call "mark", field "hedge": a PATCH call is not idempotent .*add "idempotent": true/),
    ]);
  });

  it('refuses a retry on a call marked idempotent: false', () => {
    expect(refusal(config({}, { a: { idempotent: false, retry: {} } }))).toEqual([
      expect.stringMatching(/call "a", field "retry": the call is marked "idempotent": false/),
    ]);
  });

  it('refuses a call with both retry and hedge, naming where each came from', () => {
    expect(refusal(config({ retry: {} }, { a: { hedge: {} } }))).toEqual([
      'endpoint GET /x, call "a": uses both retry and hedge; a call uses one (retry from upstream "u", hedge from the call): ' +
        'set "retry": false or "hedge": false on the call',
    ]);
    expect(refusal(config({ retry: {}, hedge: {} }, { a: {} }))).toEqual([
      expect.stringContaining('uses both retry and hedge; a call uses one (retry from upstream "u", hedge from upstream "u")'),
    ]);
  });

  it('allows retry and hedge on one upstream when each call picks one', () => {
    const { call } = compiled({ retry: {}, hedge: {} }, { r: { hedge: false }, h: { retry: false } });
    expect(call('r')).toMatchObject({ retry: { attempts: 3 }, hedge: undefined });
    expect(call('h')).toMatchObject({ retry: undefined, hedge: { maxExtra: 1 } });
  });

  it.each([
    ['retry', { attempts: 0 }, 'retry.attempts": must be an integer from 1 to 10, got 0'],
    ['retry', { attempts: 11 }, 'retry.attempts": must be an integer from 1 to 10, got 11'],
    ['retry', { attempts: 2.5 }, 'retry.attempts": must be an integer from 1 to 10, got 2.5'],
    ['retry', { backoffMs: -1 }, 'retry.backoffMs": must be an integer of at least 0, got -1'],
    ['retry', { backoffMs: 500, maxBackoffMs: 100 }, 'retry.maxBackoffMs": 100 ms is shorter than backoffMs (500 ms)'],
    ['retry', { on: [] }, 'retry.on": must name at least one of timeout, network, 5xx, 429'],
    ['retry', { budgetRatio: 1.5 }, 'retry.budgetRatio": must be from 0 to 1, got 1.5'],
    ['retry', { budgetRatio: -0.1 }, 'retry.budgetRatio": must be from 0 to 1, got -0.1'],
    ['retry', { budgetMinPerSecond: -1 }, 'retry.budgetMinPerSecond": must be 0 or more, got -1'],
    ['circuitBreaker', { failureRatio: 0 }, 'circuitBreaker.failureRatio": must be more than 0 and at most 1, got 0'],
    ['circuitBreaker', { failureRatio: 1.2 }, 'circuitBreaker.failureRatio": must be more than 0 and at most 1, got 1.2'],
    ['circuitBreaker', { minimumRequests: 0 }, 'circuitBreaker.minimumRequests": must be an integer of at least 1, got 0'],
    ['circuitBreaker', { windowMs: 999 }, 'circuitBreaker.windowMs": must be an integer of at least 1000, got 999'],
    ['circuitBreaker', { openMs: 0 }, 'circuitBreaker.openMs": must be an integer of at least 1, got 0'],
    ['circuitBreaker', { halfOpenRequests: 0 }, 'circuitBreaker.halfOpenRequests": must be an integer of at least 1, got 0'],
    ['hedge', { maxExtra: 0 }, 'hedge.maxExtra": must be an integer from 1 to 3, got 0'],
    ['hedge', { maxExtra: 4 }, 'hedge.maxExtra": must be an integer from 1 to 3, got 4'],
    ['hedge', { afterMs: 0 }, 'hedge.afterMs": must be a positive integer of ms or "p90", "p95" or "p99", got 0'],
  ])('names the upstream and the field of an out-of-range %s setting: %j', (policy, settings, message) => {
    expect(refusal(config({ [policy]: settings }, { a: {} }))).toEqual([`upstream "u", field "${message}`]);
  });

  it('names the endpoint, call and field of an out-of-range call setting', () => {
    const issues = refusal(config({}, { a: { retry: { attempts: 20 } }, b: { retry: false, hedge: { maxExtra: 9 } } }));
    expect(issues).toEqual([
      'endpoint GET /x, call "a", field "retry.attempts": must be an integer from 1 to 10, got 20',
      'endpoint GET /x, call "b", field "hedge.maxExtra": must be an integer from 1 to 3, got 9',
    ]);
  });

  it('refuses a fixed hedge delay that is not shorter than the per-try timeout, saying why', () => {
    expect(refusal(config({ timeoutMs: 100, hedge: { afterMs: 100 } }, { a: {} }))).toEqual([
      'upstream "u", field "hedge.afterMs": 100 ms is not shorter than the upstream\'s per-try timeout of 100 ms; a hedge after the timeout never starts',
    ]);
    // The call shortens the timeout under its upstream's delay: the call is named, and where the delay came from.
    expect(refusal(config({ hedge: { afterMs: 80 } }, { a: { timeoutMs: 50 } }))).toEqual([
      'endpoint GET /x, call "a", field "hedge.afterMs": 80 ms (from upstream "u") is not shorter than the call\'s per-try timeout of 50 ms; ' +
        'a hedge after the timeout never starts',
    ]);
    // A percentile has no fixed delay to compare.
    expect(compiled({ hedge: { afterMs: 'p99' } }, { a: { timeoutMs: 10 } }).call('a').hedge).toBeDefined();
  });

  it('refuses a call-level budget that differs from its upstream (the budget is shared by the upstream)', () => {
    const [issue] = refusal(config({ retry: { budgetRatio: 0.2 } }, { a: { retry: { budgetRatio: 0.5 } } }));
    expect(issue).toMatch(/^endpoint GET \/x, call "a", field "retry.budgetRatio": 0.5 differs from upstream "u"'s 0.2; the retry budget is shared/);
    // Repeating the upstream's value is fine.
    expect(compiled({ retry: { budgetMinPerSecond: 3 } }, { a: { retry: { budgetMinPerSecond: 3 } } }).call('a').retry?.budgetMinPerSecond).toBe(3);
  });

  it('reports every resilience problem together with the others', () => {
    const raw = config({ retry: { attempts: 0 }, circuitBreaker: { windowMs: 10 } }, { a: { timeoutMs: 5000, hedge: { maxExtra: 5 } } }, 1000);
    const issues = refusal(raw);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^upstream "u", field "retry.attempts"/),
        expect.stringMatching(/^upstream "u", field "circuitBreaker.windowMs"/),
        expect.stringMatching(/call "a", field "timeoutMs": 5000 ms is longer than the endpoint's deadline/),
        expect.stringMatching(/call "a", field "hedge.maxExtra"/),
      ]),
    );
  });

  it.each([
    ['an upstream retry', config({ retry: { attempt: 3 } }, { a: {} }), /^upstream "u", field "retry": Unrecognized key: "attempt"/],
    ['an upstream breaker', config({ circuitBreaker: { ratio: 0.5 } }, { a: {} }), /^upstream "u", field "circuitBreaker": Unrecognized key: "ratio"/],
    ['a call hedge', config({}, { a: { hedge: { after: 50 } } }), /^endpoint GET \/x, call "a", field "hedge": Unrecognized key: "after"/],
  ])('refuses an unknown field in %s', (_, raw, message) => {
    expect(refusal(raw)).toEqual([expect.stringMatching(message)]);
  });

  it('refuses a wrong type, naming the field inside the settings', () => {
    expect(refusal(config({}, { a: { retry: { attempts: '3', tries: 2 } } }))).toEqual([
      expect.stringMatching(/^endpoint GET \/x, call "a", field "retry": attempts: .*expected number.*; Unrecognized key: "tries"$/),
    ]);
    expect(refusal(config({}, { a: { retry: true } }))).toEqual([
      'endpoint GET /x, call "a", field "retry": must be false or an object of retry settings',
    ]);
    expect(refusal(config({}, { a: { circuitBreaker: {} } }))).toEqual([expect.stringMatching(/^endpoint GET \/x, call "a", field "circuitBreaker": /)]);
    expect(refusal(config({ hedge: { afterMs: 'p50' } }, { a: {} }))).toEqual([
      'upstream "u", field "hedge.afterMs": must be a number of ms or "p90", "p95" or "p99"',
    ]);
    expect(refusal(config({ retry: { on: ['4xx'] } }, { a: {} }))).toEqual([expect.stringMatching(/^upstream "u", field "retry.on.0": /)]);
  });
});
