import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/services/engine/index.ts';
import { fanoutLimit } from '../../src/services/engine/engine.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher } from './fake-fetcher.ts';
import type { CompiledCall } from '../../src/services/plan/types.ts';

const plain = { each: undefined, maxItems: 1 } as unknown as CompiledCall;
const each = (maxItems: number) => ({ each: { source: 'query', text: 'query.ids' }, maxItems }) as unknown as CompiledCall;

describe("fanoutLimit: the scope's limit an endpoint needs", () => {
  it('none when no request can have more calls at once than maxConcurrency', () => {
    expect(fanoutLimit({ calls: [plain, plain, plain], maxConcurrency: 16 })).toBeUndefined();
    expect(fanoutLimit({ calls: [plain, plain, plain], maxConcurrency: 3 })).toBeUndefined();
    expect(fanoutLimit({ calls: [plain, each(5)], maxConcurrency: 6 })).toBeUndefined();
  });

  it('maxConcurrency when the calls, each elements counted at their maxItems, can exceed it', () => {
    expect(fanoutLimit({ calls: [plain, plain, plain], maxConcurrency: 2 })).toBe(2);
    expect(fanoutLimit({ calls: [plain, each(5)], maxConcurrency: 5 })).toBe(5);
    expect(fanoutLimit({ calls: [each(1000)], maxConcurrency: 16 })).toBe(16);
  });
});

describe('an endpoint whose limit its calls cannot reach', () => {
  const endpointWith = (maxConcurrency: number) =>
    compilePlan({
      upstreams: { u: { baseUrl: 'http://u.test' } },
      endpoints: [{ path: '/v1/x', maxConcurrency, calls: { a: { upstream: 'u', path: '/a' }, b: { upstream: 'u', path: '/b' }, c: { upstream: 'u', path: '/c' } } }],
    });

  it('starts its calls in the same turn as the request, without waiting for slots; under a limit they can reach, a turn later', async () => {
    for (const [limit, atOnce] of [[16, 3], [3, 3], [2, 0]] as const) {
      const fake = fakeFetcher();
      const plan = endpointWith(limit);
      const engine = new Engine(plan, fake.fetcher);
      const run = engine.run(plan.endpoints[0]!, { params: {}, query: {} });
      expect(fake.calls).toHaveLength(atOnce);
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(fake.inFlight()).toBe(Math.min(limit, 3));
      for (const call of fake.calls) call.fail(new Error('done'));
      for (let i = 0; i < 3 && fake.calls.length < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        for (const call of fake.calls) if (!call.settled) call.fail(new Error('done'));
      }
      expect((await run).errors).toHaveLength(3);
    }
  });
});
