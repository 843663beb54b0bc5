import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { startDegradingUpstream, type DegradingUpstream } from '../support/degrading-upstream.ts';
import { startGateway, type RunningGateway } from './gateway-server.ts';

/** Serves 20 at a time at 20 ms, slows down past that, answers 503 beyond 60 in flight. */
const MODEL = { capacity: 20, baseMs: 20, contention: 2, overloadAbove: 60, overload: 503, retryAfterS: 1 } as const;
const CALLS = 200;

let upstream: DegradingUpstream;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startDegradingUpstream(MODEL);
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await upstream.close();
});

function config(concurrency: Pick<NonNullable<TributaryConfigInput['upstreams']>[string], 'maxConcurrency' | 'adaptiveConcurrency'>): TributaryConfigInput {
  return {
    upstreams: { model: { baseUrl: upstream.url, timeoutMs: 5_000, maxQueue: 1000, ...concurrency } },
    endpoints: [
      {
        path: '/fan',
        deadlineMs: 10_000,
        maxConcurrency: 1000,
        input: { query: { ids: { type: 'array', items: { type: 'string' }, maxItems: 1000, required: true } } },
        calls: { items: { upstream: 'model', path: '/items/{item}', each: '{query.ids}' } },
      },
    ],
  };
}

const ids = Array.from({ length: CALLS }, (_, i) => i + 1).join(',');

/** One fan-out of CALLS calls: how many failed, and the most the upstream held at once. */
async function fanOut(gateway: RunningGateway): Promise<{ errors: number; peak: number }> {
  upstream.reset();
  const res = await fetch(`${gateway.url}/fan?ids=${ids}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { errors: unknown[] };
  return { errors: body.errors.length, peak: upstream.stats().peakInFlight };
}

describe('adaptive concurrency against an upstream that degrades under overload', () => {
  it('backs off from a limit the upstream refuses, until fan-outs complete without errors', async () => {
    const gateway = await startGateway(config({ adaptiveConcurrency: { min: 2, max: 400, initial: 120 } }));
    gateways.push(gateway);
    const first = await fanOut(gateway);
    // It started above the upstream's breaking point: the first fan-out sees 503s.
    expect(first.errors).toBeGreaterThan(0);
    let last = first;
    for (let i = 0; i < 8 && last.errors > 0; i++) last = await fanOut(gateway);
    last = await fanOut(gateway);
    expect(last.errors).toBe(0);
    expect(last.peak).toBeLessThanOrEqual(MODEL.overloadAbove);
    const limit = gateway.engine.upstreams.get('model')?.bulkhead.limit ?? 0;
    expect(limit).toBeGreaterThanOrEqual(5);
    expect(limit).toBeLessThanOrEqual(MODEL.overloadAbove);
  });

  it('a fixed limit above the breaking point keeps failing calls on every fan-out', async () => {
    const gateway = await startGateway(config({ maxConcurrency: 120 }));
    gateways.push(gateway);
    for (let i = 0; i < 3; i++) expect((await fanOut(gateway)).errors).toBeGreaterThan(0);
  });

  it('"maxConcurrency": "adaptive" with the default bounds settles below the breaking point', async () => {
    const gateway = await startGateway(config({ maxConcurrency: 'adaptive', adaptiveConcurrency: undefined }));
    gateways.push(gateway);
    // The default bounds start at 32, above the capacity (20) and below the breaking point (60).
    for (let i = 0; i < 3; i++) expect((await fanOut(gateway)).errors).toBe(0);
    const limit = gateway.engine.upstreams.get('model')?.bulkhead.limit ?? 0;
    expect(limit).toBeGreaterThanOrEqual(4);
    expect(limit).toBeLessThanOrEqual(MODEL.overloadAbove);
  });
});
