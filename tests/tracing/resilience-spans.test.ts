/**
 * What the retry, hedge and breaker layers leave in a trace, read from a real SDK with an
 * in-memory exporter: one CLIENT span per request on the wire, backoff spans, span events.
 */
import { propagation, SpanKind } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { Engine } from '../../src/services/engine/index.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json, type Handler } from '../services/fake-fetcher.ts';
import { idOf, inMemoryTracing, isError, parentOf, parseTraceparent, SpanTree } from './in-memory-tracing.ts';

beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
});

type Upstream = TributaryConfigInput['upstreams'][string];

function setup(handler: Handler, upstream: Partial<Upstream>, calls: TributaryConfigInput['endpoints'][number]['calls'] = { a: { upstream: 'u', path: '/a' } }) {
  const tracing = inMemoryTracing();
  const fake = fakeFetcher(handler);
  const plan = compilePlan({ upstreams: { u: { baseUrl: 'http://u.test', ...upstream } }, endpoints: [{ path: '/x', calls }] });
  const engine = new Engine(plan, fake.fetcher, { telemetry: tracing.telemetry });
  const run = () => engine.run(plan.endpoints[0] as never, { params: {}, query: {} });
  return { tracing, fake, engine, run, tree: () => new SpanTree(tracing.spans()) };
}

describe('traces of retries, hedges and an open circuit', () => {
  it('each try is its own CLIENT span with http.request.resend_count, separated by retry.backoff spans', async () => {
    const { run, tree, fake } = setup((c) => (c.index < 2 ? json({}, 503) : json('ok')), { retry: { backoffMs: 5, maxBackoffMs: 5 } });
    const result = await run();
    expect(result.data.a).toBe('ok');
    const t = tree();
    const call = t.one('upstream a');
    const clients = t.children(call, 'GET');
    expect(clients.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2]);
    expect(clients.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 503, 200]);
    expect(clients.map((s) => s.kind)).toEqual([SpanKind.CLIENT, SpanKind.CLIENT, SpanKind.CLIENT]);
    expect(t.children(call, 'retry.backoff')).toHaveLength(2);
    // Each request carried its own attempt's span as the parent upstream.
    expect(fake.calls.map((c) => parseTraceparent(c.headers.get('traceparent'))?.parentId)).toEqual(clients.map(idOf));
  });

  it('a hedge is a second CLIENT span marked tributary.hedge; the loser is cancelled, not an error', async () => {
    const { run, tree } = setup((c) => (c.index === 0 ? 'hold' : json('hedged')), { hedge: { afterMs: 20 } });
    expect((await run()).data.a).toBe('hedged');
    const t = tree();
    const call = t.one('upstream a');
    const clients = t.children(call, 'GET');
    expect(clients).toHaveLength(2);
    const second = clients.find((s) => s.attributes['tributary.hedge'] === true);
    const first = clients.find((s) => s !== second);
    expect(second?.attributes['http.response.status_code']).toBe(200);
    expect(first?.attributes['tributary.cancelled']).toBe(true);
    expect(first && isError(first)).toBe(false);
    expect(call.events.map((e) => e.name)).toContain('hedge');
  });

  it('an open circuit shows as an event on the call span, with no CLIENT span', async () => {
    const breaker = { failureRatio: 1, minimumRequests: 1, windowMs: 10_000, openMs: 60_000 };
    const { run, tree, tracing } = setup(() => json({}, 503), { circuitBreaker: breaker });
    await run();
    tracing.exporter.reset();
    const result = await run();
    expect(result.errors[0]?.code).toBe('circuit_open');
    const t = tree();
    const call = t.one('upstream a');
    expect(t.children(call, 'GET')).toEqual([]);
    expect(call.events.map((e) => e.name)).toEqual(['circuit_open']);
    expect(call.attributes['error.type']).toBe('circuit_open');
  });

  it('a wait that ends in a rejection is still recorded, with its outcome', async () => {
    const { run, tree, fake } = setup(() => 'hold', { maxConcurrency: 1, maxQueueWaitMs: 20, timeoutMs: 100 }, {
      a: { upstream: 'u', path: '/a' },
      b: { upstream: 'u', path: '/b' },
    });
    const result = await run();
    expect(result.errors.map((e) => e.code).sort()).toEqual(['rejected', 'timeout']);
    expect(fake.calls).toHaveLength(1);
    const waits = tree().named('semaphore.acquire');
    expect(waits).toHaveLength(1);
    expect(waits[0]?.attributes).toMatchObject({ 'tributary.semaphore': 'upstream', 'tributary.wait.outcome': 'rejected' });
    expect(parentOf(waits[0] as never)).toBe(idOf(tree().one(`upstream ${result.errors.find((e) => e.code === 'rejected')?.call}`)));
  });
});

describe('an internal fault while settling a call', () => {
  it('still cancels the sibling calls, waits for them, and ends the aggregate span as an error', async () => {
    const tracing = inMemoryTracing();
    const fake = fakeFetcher((c) => (c.path === '/a' ? json('fine') : 'hold'));
    const plan = compilePlan({
      upstreams: { u: { baseUrl: 'http://u.test' } },
      endpoints: [{ path: '/x', calls: { a: { upstream: 'u', path: '/a' }, b: { upstream: 'u', path: '/b' } } }],
    });
    // A listener with a bug: it throws when it hears of a success.
    const broken = {
      ...tracing.telemetry,
      upstreamDuration: {
        record: (_: number, attributes?: Record<string, unknown>) => {
          if (attributes?.['tributary.outcome'] === 'ok') throw new Error('a bug in a listener');
        },
      },
    };
    const engine = new Engine(plan, fake.fetcher, { telemetry: broken as never });
    await expect(engine.run(plan.endpoints[0] as never, { params: {}, query: {} })).rejects.toThrow('a bug in a listener');
    expect(fake.calls.find((c) => c.path === '/b')?.signal.aborted).toBe(true);
    expect(fake.inFlight()).toBe(0);
    const aggregate = new SpanTree(tracing.spans()).one('aggregate GET /x');
    expect(isError(aggregate)).toBe(true);
    expect(aggregate.attributes['error.type']).toBe('internal');
  });
});
