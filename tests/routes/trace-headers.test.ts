/**
 * What of a client's W3C trace context reaches each upstream: the gateway's own `traceparent`
 * always; the client's `tracestate` and `baggage` only where the upstream's `forwardHeaders` names
 * them. Run with the propagators the Node and Worker entries register, with tracing off (no-op
 * tracer) and on (an SDK whose spans inherit the caller's trace state).
 */
import { propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { createTelemetry, type Telemetry } from '../../src/services/telemetry.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { inMemoryTracing } from '../tracing/in-memory-tracing.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT = {
  traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
  tracestate: 'vendor=client-chosen',
  baggage: 'userId=42,session=s3cr3t',
};

beforeAll(() => {
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
});
afterAll(() => {
  propagation.disable();
});

function setup(telemetry?: Telemetry) {
  const fake = fakeFetcher(() => json({ ok: true }));
  const plan = compilePlan({
    upstreams: {
      plain: { baseUrl: 'http://plain.test', forwardHeaders: ['accept-language'] },
      traced: { baseUrl: 'http://traced.test', forwardHeaders: ['tracestate', 'baggage'] },
      bagged: { baseUrl: 'http://bagged.test', forwardHeaders: ['Baggage'] },
    },
    endpoints: [
      {
        path: '/v1/all',
        calls: {
          plain: { upstream: 'plain', path: '/p' },
          traced: { upstream: 'traced', path: '/t' },
          bagged: { upstream: 'bagged', path: '/b' },
        },
      },
    ],
  });
  const { app } = createApp({ plan, fetcher: fake.fetcher, log: () => {}, ...(telemetry ? { telemetry } : {}) });
  return { app, fake };
}

describe.each([
  ['tracing off', () => undefined],
  // What the Node and Worker entries build when nothing is exported: no spans, only propagation.
  ['no SDK at all (traces and metrics off)', () => createTelemetry({ traces: false, metrics: false })],
  ['tracing on', () => inMemoryTracing().telemetry],
])('client trace context with %s', (_label, telemetry) => {
  it('an upstream whose forwardHeaders does not name them gets the traceparent, but neither tracestate nor baggage', async () => {
    const { app, fake } = setup(telemetry());
    const res = await app.request('/v1/all', { headers: CLIENT });
    expect(res.status).toBe(200);
    const [call] = fake.to('plain.test');
    expect(call?.headers.get('traceparent')).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(call?.headers.has('tracestate')).toBe(false);
    expect(call?.headers.has('baggage')).toBe(false);
  });

  it('an upstream whose forwardHeaders names tracestate and baggage gets both, as the client sent them', async () => {
    const { app, fake } = setup(telemetry());
    await app.request('/v1/all', { headers: CLIENT });
    const [call] = fake.to('traced.test');
    expect(call?.headers.get('traceparent')).toMatch(new RegExp(`^00-${TRACE_ID}-`));
    expect(call?.headers.get('tracestate')).toBe('vendor=client-chosen');
    expect(call?.headers.get('baggage')?.split(',').sort()).toEqual(['session=s3cr3t', 'userId=42']);
  });

  it('a client that sends no trace context: no upstream gets its tracestate or baggage, and a traceparent only from a trace of ours', async () => {
    const { app, fake } = setup(telemetry());
    expect((await app.request('/v1/all')).status).toBe(200);
    const traced = _label === 'tracing on';
    for (const call of fake.calls) {
      expect(call.headers.has('traceparent')).toBe(traced);
      expect(call.headers.has('tracestate')).toBe(false);
      expect(call.headers.has('baggage')).toBe(false);
    }
    expect(fake.calls).toHaveLength(3);
  });

  it('each header is allowed on its own, whatever the case it is named in: baggage without tracestate', async () => {
    const { app, fake } = setup(telemetry());
    await app.request('/v1/all', { headers: CLIENT });
    const [call] = fake.to('bagged.test');
    expect(call?.headers.get('baggage')?.split(',').sort()).toEqual(['session=s3cr3t', 'userId=42']);
    expect(call?.headers.has('tracestate')).toBe(false);
  });
});
