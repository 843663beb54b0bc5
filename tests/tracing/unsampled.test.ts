/**
 * A request the sampler leaves out: its SERVER span records nothing, and neither would any span
 * under it, so none is started. The upstreams still get the request's trace id, unsampled, and
 * a sampled request beside it keeps its whole tree.
 */
import { propagation, type Span, type Tracer } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { samplerFromEnv } from '../../src/services/tracing/samplers.ts';
import { createTelemetry } from '../../src/services/telemetry.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { dashboardConfig } from './dashboard-config.ts';
import { inMemoryPipeline, parseTraceparent } from './in-memory-tracing.ts';

beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
});

/** The app over the Node pipeline with `sampler`, counting the spans it starts and whether each records (asked at its start: an ended span records no more). */
function setup(sampler: Record<string, string>, metrics = false) {
  const exporter = new InMemorySpanExporter();
  const tracer = inMemoryPipeline(exporter, samplerFromEnv(sampler, [])).getTracer('test');
  const started: { span: Span; recording: boolean }[] = [];
  const counting: Tracer = {
    startSpan: (...args: Parameters<Tracer['startSpan']>) => {
      const span = tracer.startSpan(...args);
      started.push({ span, recording: span.isRecording() });
      return span;
    },
    startActiveSpan: tracer.startActiveSpan.bind(tracer) as Tracer['startActiveSpan'],
  };
  const fake = fakeFetcher(() => json({ ok: true, managerId: '7' }));
  const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fake.fetcher, telemetry: createTelemetry({ tracer: counting, metrics }) });
  return { app, fake, exporter, started };
}

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

describe('a request the sampler leaves out', () => {
  for (const metrics of [false, true]) {
    it(`starts its SERVER span only, and tells every upstream its trace id, unsampled${metrics ? ' (metrics on)' : ''}`, async () => {
      const { app, fake, exporter, started } = setup({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' }, metrics);
      const res = await app.request('/v1/dashboard/1', { headers: { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-00` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { meta: { complete: boolean } }).meta.complete).toBe(true);
      expect(started).toHaveLength(1);
      expect(started[0]!.recording).toBe(false);
      const server = started[0]!.span.spanContext();
      expect(fake.calls.length).toBeGreaterThanOrEqual(3);
      for (const call of fake.calls) {
        const sent = parseTraceparent(call.headers.get('traceparent'));
        expect(sent).toEqual({ traceId: TRACE_ID, parentId: server.spanId, flags: '00' });
      }
      expect(exporter.getFinishedSpans()).toEqual([]);
    });
  }

  it('with always_off, records nothing and still propagates the new trace, unsampled', async () => {
    const { app, fake, started } = setup({ OTEL_TRACES_SAMPLER: 'always_off' });
    await (await app.request('/v1/dashboard/2')).arrayBuffer();
    expect(started).toHaveLength(1);
    const server = started[0]!.span.spanContext();
    const sent = fake.calls.map((call) => parseTraceparent(call.headers.get('traceparent')));
    expect(new Set(sent.map((tp) => `${tp?.traceId}-${tp?.parentId}-${tp?.flags}`))).toEqual(new Set([`${server.traceId}-${server.spanId}-00`]));
  });

  it('leaves a sampled request its whole tree: every span started records, every upstream gets its CLIENT span', async () => {
    const { app, fake, exporter, started } = setup({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' });
    await (await app.request('/v1/dashboard/3', { headers: { traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01` } })).arrayBuffer();
    expect(started.length).toBeGreaterThanOrEqual(8);
    expect(started.every((s) => s.recording)).toBe(true);
    const clients = new Set(exporter.getFinishedSpans().filter((s) => s.kind === 2).map((s) => s.spanContext().spanId));
    for (const call of fake.calls) expect(clients.has(parseTraceparent(call.headers.get('traceparent'))?.parentId ?? '')).toBe(true);
  });
});
