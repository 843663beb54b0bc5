/** What `engine.run()` tells a per-run listener (streaming) and when, in the order calls settle. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Engine, type OutcomeEvent } from '../../src/services/engine/index.ts';
import { fakeFetcher, json } from './fake-fetcher.ts';
import { endpointOf, planOf } from './fixtures.ts';

const plan = planOf({
  upstreams: { u: { baseUrl: 'http://u.test' } },
  endpoints: [
    {
      path: '/v1/x',
      input: { query: { ids: { type: 'array', items: { type: 'string' } } } },
      calls: {
        slow: { upstream: 'u', path: '/slow', pick: ['id'] },
        fast: { upstream: 'u', path: '/fast', fallback: 'none' },
        each: { upstream: 'u', path: '/each/{item}', each: '{query.ids}', pick: ['id'] },
      },
      response: { slowId: '{calls.slow.id}' },
    },
  ],
});

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const seen = (event: OutcomeEvent) => ({
  call: event.call.name,
  ...(event.item === undefined ? {} : { item: event.item }),
  outcome: event.outcome,
  value: event.value,
  ...(event.entry ? { code: event.entry.code } : {}),
});

describe('engine.run() listeners', () => {
  it('hears each call and each element as it settles, with the value data shows, after onStart', async () => {
    const fake = fakeFetcher();
    const engine = new Engine(plan, fake.fetcher);
    const log: unknown[] = [];
    const running = engine.run(endpointOf(plan), { params: {}, query: { ids: ['a', 'b'] } }, undefined, undefined, {
      onStart: () => log.push('start'),
      onOutcome: (event) => log.push(seen(event)),
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(log).toEqual(['start']);
    fake.to('u.test/fast')[0]?.respond(json({}, 503));
    fake.to('u.test/each/b')[0]?.respond(json({ id: 'b', extra: 1 }));
    fake.to('u.test/each/a')[0]?.respond(json({ id: 'a', extra: 2 }));
    fake.to('u.test/slow')[0]?.respond(json({ id: 's', secret: true }));
    const result = await running;
    expect(log).toEqual([
      'start',
      { call: 'fast', outcome: 'error', value: 'none', code: 'http_status' },
      { call: 'each', item: 1, outcome: 'ok', value: { id: 'b' } },
      { call: 'each', item: 0, outcome: 'ok', value: { id: 'a' } },
      { call: 'slow', outcome: 'ok', value: { id: 's' } },
    ]);
    // The JSON answer's data is the response template; the listener saw the calls.
    expect(result.data).toEqual({ slowId: 's' });
  });

  it('never calls onStart when the input is refused', async () => {
    const fake = fakeFetcher();
    const engine = new Engine(plan, fake.fetcher);
    let started = false;
    const tooMany = Array.from({ length: 1001 }, (_, i) => String(i));
    await expect(
      engine.run(endpointOf(plan), { params: {}, query: { ids: tooMany } }, undefined, undefined, { onStart: () => (started = true) }),
    ).rejects.toThrow(/at most 1000 elements/);
    expect(started).toBe(false);
    expect(fake.calls).toHaveLength(0);
  });
});
