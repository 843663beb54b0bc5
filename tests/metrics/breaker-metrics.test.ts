import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/services/engine/index.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { observeBulkheads } from '../../src/services/telemetry.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { inMemoryMetrics } from './in-memory-metrics.ts';

describe('circuit breaker metrics', () => {
  it('show each breaker state as a gauge and count its transitions and the calls it refused', async () => {
    const metrics = inMemoryMetrics();
    const plan = compilePlan({
      upstreams: {
        flaky: { baseUrl: 'http://flaky.test', circuitBreaker: { minimumRequests: 2, failureRatio: 1, openMs: 60_000 } },
        plain: { baseUrl: 'http://plain.test' },
      },
      endpoints: [{ path: '/x', calls: { a: { upstream: 'flaky', path: '/a' }, b: { upstream: 'plain', path: '/b' } } }],
    });
    const engine = new Engine(plan, fakeFetcher((c) => (c.target.startsWith('flaky') ? json({}, 503) : json('ok'))).fetcher, {
      telemetry: metrics.telemetry,
    });
    observeBulkheads(engine.upstreams.values(), metrics.telemetry.meter);
    const run = () => engine.run(plan.endpoints[0] as never, { params: {}, query: {} });
    await run();
    let collected = await metrics.collect();
    expect(collected.get('tributary.breaker.state')?.series).toEqual([
      expect.objectContaining({ attributes: { 'upstream.name': 'flaky' }, count: 0 }),
    ]);
    await run();
    await run();
    collected = await metrics.collect();
    expect(collected.get('tributary.breaker.state')?.series).toEqual([
      expect.objectContaining({ attributes: { 'upstream.name': 'flaky' }, count: 2 }),
    ]);
    expect(collected.get('tributary.breaker.transitions')?.series).toEqual([
      expect.objectContaining({ attributes: expect.objectContaining({ 'upstream.name': 'flaky', 'tributary.breaker.state': 'open' }), count: 1 }),
    ]);
    expect(collected.get('tributary.breaker.rejections')?.series).toEqual([
      expect.objectContaining({ attributes: { 'upstream.name': 'flaky' }, count: 1 }),
    ]);
  });
});
