import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/services/engine/index.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { observeBulkheads } from '../../src/services/telemetry.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { inMemoryTracing } from '../tracing/in-memory-tracing.ts';
import { inMemoryMetrics } from './in-memory-metrics.ts';

const planWith = (max: number) => compilePlan({
  upstreams: {
    adaptive: { baseUrl: 'http://adaptive.test', adaptiveConcurrency: { min: 1, max, initial: 1 } },
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
const plan = planWith(50);
const input = { params: {}, query: { ids: ['1', '2', '3'] } };

describe('the adaptive limit in telemetry', () => {
  it('tributary.upstream.limit reports each bulkhead limit, where the adaptive one has moved', async () => {
    const metrics = inMemoryMetrics();
    const engine = new Engine(plan, fakeFetcher(() => json({})).fetcher, { telemetry: metrics.telemetry });
    observeBulkheads(engine.upstreams.values(), metrics.telemetry.meter);
    // Three calls per request at a limit of 1: every window uses the whole limit, and latency
    // stays at its baseline, so the limit grows.
    for (let i = 0; i < 5; i++) await engine.run(plan.endpoints[0] as never, input);
    const moved = engine.upstreams.get('adaptive')?.bulkhead.limit ?? 0;
    expect(moved).toBeGreaterThan(1);
    const series = (await metrics.collect()).get('tributary.upstream.limit')?.series;
    expect(series).toEqual([
      expect.objectContaining({ attributes: { 'upstream.name': 'adaptive' }, count: moved }),
      expect.objectContaining({ attributes: { 'upstream.name': 'fixed' }, count: 7 }),
    ]);
  });

  it('a wait span says the bulkhead limit when its wait ended', async () => {
    const tracing = inMemoryTracing();
    // Its limit cannot move from 1, so every wait ended at 1.
    const pinned = planWith(1);
    const engine = new Engine(pinned, fakeFetcher(() => json({})).fetcher, { telemetry: tracing.telemetry });
    await engine.run(pinned.endpoints[0] as never, input);
    const waits = tracing.spans().filter((s) => s.name === 'semaphore.acquire' && s.attributes['tributary.semaphore'] === 'upstream');
    expect(waits.length).toBeGreaterThan(0);
    for (const wait of waits) expect(wait.attributes['tributary.semaphore.limit']).toBe(1);
  });
});
