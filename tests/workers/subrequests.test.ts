import { describe, expect, it } from 'vitest';
import { compilePlan } from '../../src/services/plan/index.ts';
import { countDependsOnInput, countSubrequests, fixedSubrequests } from '../../src/services/subrequests.ts';

const plan = compilePlan({
  upstreams: { u: { baseUrl: 'http://127.0.0.1:9' } },
  endpoints: [
    {
      method: 'POST',
      path: '/x/:id',
      input: {
        query: { ids: { type: 'array' } },
        body: { more: { type: 'array' } },
      },
      calls: {
        one: { upstream: 'u', path: '/one/{params.id}' },
        dependent: { upstream: 'u', path: '/two/{calls.one.id}' },
        byQuery: { upstream: 'u', path: '/q/{item}', each: '{query.ids}' },
        byBody: { upstream: 'u', path: '/b/{item}', each: '{body.more}' },
        byResult: { upstream: 'u', path: '/r/{item}', each: '{calls.one.list}', maxItems: 7 },
      },
    },
    { path: '/fixed', calls: { a: { upstream: 'u', path: '/a' }, b: { upstream: 'u', path: '/b' } } },
  ],
});
const [x, fixed] = plan.endpoints as [NonNullable<(typeof plan.endpoints)[0]>, NonNullable<(typeof plan.endpoints)[0]>];
const ctx = (query: Record<string, unknown>, body: Record<string, unknown>) => ({ params: { id: '1' }, query, body, calls: {} });

describe('countSubrequests', () => {
  it('one per call, one per input element, maxItems for each over a result', () => {
    const count = countSubrequests(x, ctx({ ids: ['a', 'b', 'c'] }, { more: ['d', 'e'] }));
    expect(count.calls).toEqual([
      { call: 'one', count: 1, rule: 'one', attempts: 1 },
      { call: 'dependent', count: 1, rule: 'one', attempts: 1 },
      { call: 'byQuery', count: 3, rule: 'each-input', attempts: 1 },
      { call: 'byBody', count: 2, rule: 'each-input', attempts: 1 },
      { call: 'byResult', count: 7, rule: 'each-result', attempts: 1 },
    ]);
    expect(count.total).toBe(14);
  });

  it('an absent or non-array input counts no requests (the call fails without one)', () => {
    expect(countSubrequests(x, ctx({}, { more: 'nope' })).total).toBe(9);
  });

  it('the fixed part is what any input costs at least', () => {
    expect(fixedSubrequests(x).total).toBe(9);
    expect(fixedSubrequests(fixed).total).toBe(2);
    expect(countDependsOnInput(x)).toBe(true);
    expect(countDependsOnInput(fixed)).toBe(false);
  });
});
