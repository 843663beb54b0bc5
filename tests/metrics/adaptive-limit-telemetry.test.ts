import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/services/engine/index.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { observeBulkheads } from '../../src/services/telemetry.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { inMemoryTracing } from '../tracing/in-memory-tracing.ts';
import { inMemoryMetrics } from './in-memory-metrics.ts';

/** An `each` call to an adaptive upstream with these bounds, and one call to a fixed one (7). */
const planWith = (bounds: { min: number; max: number; initial: number }) =>
  compilePlan({
    upstreams: {
      adaptive: { baseUrl: 'http://adaptive.test', adaptiveConcurrency: bounds },
      fixed: { baseUrl: 'http://fixed.test', maxConcurrency: 7 },
    },
    endpoints: [
      {
        path: '/x',
        input: { query: { ids: { type: 'array', items: { type: 'string' }, maxItems: 10, required: true } } },
        calls: { items: { upstream: 'adaptive', path: '/items/{item}', each: '{query.ids}' }, other: { upstream: 'fixed', path: '/o' } },
      },
    ],
  });
const ids = (n: number) => ({ params: {}, query: { ids: Array.from({ length: n }, (_, i) => String(i + 1)) } });

describe('the adaptive limit in telemetry', () => {
  it('tributary.upstream.limit reports each bulkhead limit, where the adaptive one has moved', async () => {
    const metrics = inMemoryMetrics();
    const plan = planWith({ min: 1, max: 50, initial: 10 });
    // The adaptive upstream answers 503 (an overload): one window of 10 such calls takes its limit from 10 to 8.
    const fake = fakeFetcher((call) => (call.target.startsWith('adaptive.test') ? json({}, 503) : json({})));
    const engine = new Engine(plan, fake.fetcher, { telemetry: metrics.telemetry });
    observeBulkheads(engine.upstreams.values(), metrics.telemetry.meter);
    await engine.run(plan.endpoints[0] as never, ids(10));
    expect(engine.upstreams.get('adaptive')?.bulkhead.limit).toBe(8);
    const series = (await metrics.collect()).get('tributary.upstream.limit')?.series;
    expect(series).toEqual([
      expect.objectContaining({ attributes: { 'upstream.name': 'adaptive' }, count: 8 }),
      expect.objectContaining({ attributes: { 'upstream.name': 'fixed' }, count: 7 }),
    ]);
  });

  it('a wait span says the bulkhead limit when its wait ended', async () => {
    const tracing = inMemoryTracing();
    // Its limit cannot move from 1, so every wait ended at 1.
    const plan = planWith({ min: 1, max: 1, initial: 1 });
    const engine = new Engine(plan, fakeFetcher(() => json({})).fetcher, { telemetry: tracing.telemetry });
    await engine.run(plan.endpoints[0] as never, ids(3));
    const waits = tracing.spans().filter((s) => s.name === 'semaphore.acquire' && s.attributes['tributary.semaphore'] === 'upstream');
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) expect(wait.attributes['tributary.semaphore.limit']).toBe(1);
  });
});
