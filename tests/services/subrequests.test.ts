/**
 * How retries and hedges count against the Workers subrequest cap: every attempt and every hedge
 * is a subrequest. The plain counting rules (one, each over input, each over a result) are
 * covered in tests/workers/subrequests.test.ts; these are the multipliers.
 */
import { describe, expect, it } from 'vitest';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { countSubrequests, fixedSubrequests } from '../../src/services/subrequests.ts';
import { endpointOf, planOf } from './fixtures.ts';

type Calls = TributaryConfigInput['endpoints'][number]['calls'];

/** One endpoint `/x/:id?ids=` with the given calls to upstream `u`, which has `upstream` settings. */
function endpointWith(calls: Calls, upstream: Record<string, unknown> = {}) {
  const plan = planOf({
    upstreams: { u: { baseUrl: 'http://u.test', ...upstream } },
    endpoints: [{ path: '/x/:id', input: { query: { ids: { type: 'array' } } }, calls }],
  });
  return endpointOf(plan);
}

const input = (ids: string[] = []) => ({ params: { id: '1' }, query: { ids }, body: {}, calls: {} });

describe('countSubrequests with retries and hedges', () => {
  it('counts every attempt of a call that retries', () => {
    const endpoint = endpointWith({ a: { upstream: 'u', path: '/a' } }, { retry: { attempts: 3 } });
    expect(countSubrequests(endpoint, input()).calls).toEqual([{ call: 'a', count: 3, rule: 'one', attempts: 3 }]);
  });

  it('counts the first request and every possible hedge of a call that hedges', () => {
    const endpoint = endpointWith({ a: { upstream: 'u', path: '/a', hedge: { maxExtra: 2 } } });
    expect(countSubrequests(endpoint, input()).total).toBe(3);
  });

  it('multiplies the attempts by the elements of `each` over the input', () => {
    const endpoint = endpointWith({ items: { upstream: 'u', path: '/i/{item}', each: '{query.ids}', retry: { attempts: 4 } } });
    expect(countSubrequests(endpoint, input(['a', 'b', 'c'])).calls).toEqual([
      { call: 'items', count: 12, rule: 'each-input', attempts: 4 },
    ]);
  });

  it('multiplies the attempts by maxItems for `each` over another call, in the fixed part too', () => {
    const endpoint = endpointWith(
      {
        list: { upstream: 'u', path: '/list' },
        each: { upstream: 'u', path: '/e/{item}', each: '{calls.list.ids}', maxItems: 10, retry: false, hedge: { maxExtra: 1 } },
      },
      { retry: { attempts: 2 } },
    );
    // `list` retries (its upstream's policy); `each` hedges instead (its own choice).
    expect(fixedSubrequests(endpoint).calls).toEqual([
      { call: 'list', count: 2, rule: 'one', attempts: 2 },
      { call: 'each', count: 20, rule: 'each-result', attempts: 2 },
    ]);
    expect(fixedSubrequests(endpoint).total).toBe(22);
  });

  it('a call that opts out, or a POST the upstream would retry, counts one request', () => {
    const endpoint = endpointWith(
      {
        off: { upstream: 'u', path: '/off', retry: false },
        post: { upstream: 'u', path: '/post', method: 'POST' },
        get: { upstream: 'u', path: '/get' },
      },
      { retry: { attempts: 5 } },
    );
    expect(countSubrequests(endpoint, input()).calls.map((c) => [c.call, c.count])).toEqual([
      ['off', 1],
      ['post', 1],
      ['get', 5],
    ]);
  });

  it('retry attempts of 1 count as one request', () => {
    const endpoint = endpointWith({ a: { upstream: 'u', path: '/a', retry: { attempts: 1 } } }, { retry: {} });
    expect(fixedSubrequests(endpoint).total).toBe(1);
  });
});
