/**
 * The tracer the Node process records Tributary's spans with: what a reader of the traces
 * relies on (sampling, ids, parents, limits, one end per span), checked against the SDK's own
 * behaviour where the SDK defines it.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedSpan, SpanSink } from '../../src/services/tracing/recorded-span.ts';
import { samplerFromEnv } from '../../src/services/tracing/samplers.ts';
import { SpanPipeline } from '../../src/services/tracing/tracer.ts';
import { inMemoryPipeline } from './in-memory-tracing.ts';

function pipeline(vars: Record<string, string> = {}, limits = {}) {
  const ended: RecordedSpan[] = [];
  const sink: SpanSink = { onEnd: (span) => ended.push(span) };
  const problems: string[] = [];
  const provider = new SpanPipeline({ resource: resourceFromAttributes({ 'service.name': 't' }), sampler: samplerFromEnv(vars, problems), sinks: [sink], limits });
  return { tracer: provider.getTracer('tributary'), ended, problems };
}

const parentWith = (flags: TraceFlags) =>
  trace.setSpanContext(ROOT_CONTEXT, { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: flags, isRemote: true });

describe('SpanPipeline: sampling and ids', () => {
  it('starts a new sampled trace with valid, distinct ids, and continues a caller trace under its span', () => {
    const { tracer, ended } = pipeline();
    const ids = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const span = tracer.startSpan('root', { startTime: [1, 0] }, ROOT_CONTEXT);
      const { traceId, spanId, traceFlags } = span.spanContext();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(traceId).not.toBe('0'.repeat(32));
      expect(traceFlags).toBe(TraceFlags.SAMPLED);
      ids.add(traceId).add(spanId);
      span.end([2, 0]);
    }
    expect(ids.size).toBe(1000);
    const child = tracer.startSpan('child', { kind: SpanKind.CLIENT }, parentWith(TraceFlags.SAMPLED));
    child.end();
    const last = ended.at(-1) as RecordedSpan;
    expect(last.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(last.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(last.parentSpanContext?.isRemote).toBe(true);
    expect(last.kind).toBe(SpanKind.CLIENT);
  });

  it('follows a caller that did not sample: nothing recorded, but the trace id is kept for the upstreams', () => {
    const { tracer, ended } = pipeline();
    const span = tracer.startSpan('child', {}, parentWith(TraceFlags.NONE));
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span.spanContext().traceFlags).toBe(TraceFlags.NONE);
    span.end();
    expect(ended).toHaveLength(0);
  });

  it('always_off records nothing; traceidratio decides as the SDK sampler does for the same trace ids', () => {
    const off = pipeline({ OTEL_TRACES_SAMPLER: 'always_off' });
    off.tracer.startSpan('x').end();
    expect(off.ended).toHaveLength(0);

    const ratio = pipeline({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' });
    const sdk = new TraceIdRatioBasedSampler(0.25);
    let sampled = 0;
    for (let i = 0; i < 2000; i++) {
      const span = ratio.tracer.startSpan('x', {}, ROOT_CONTEXT);
      const { traceId, traceFlags } = span.spanContext();
      expect(traceFlags === TraceFlags.SAMPLED).toBe(sdk.shouldSample(ROOT_CONTEXT, traceId).decision === 2);
      if (traceFlags === TraceFlags.SAMPLED) sampled++;
      span.end();
    }
    expect(sampled).toBeGreaterThan(400);
    expect(sampled).toBeLessThan(600);
    expect(ratio.ended).toHaveLength(sampled);
  });

  it('names a sampler setting it cannot use, and samples everything instead', () => {
    const bad = pipeline({ OTEL_TRACES_SAMPLER: 'jaeger_remote' });
    expect(bad.problems).toEqual([expect.stringContaining('OTEL_TRACES_SAMPLER=jaeger_remote is not supported')]);
    const arg = pipeline({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' });
    expect(arg.problems).toEqual(['OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, got "2"; using 1']);
    bad.tracer.startSpan('x').end();
    expect(bad.ended).toHaveLength(1);
  });
});

describe('RecordedSpan', () => {
  it('is handed to the processors once, when it ends, with its duration; later writes change nothing', () => {
    const { tracer, ended } = pipeline();
    const span = tracer.startSpan('work', { startTime: [10, 900_000_000], attributes: { a: 1 } });
    span.setAttribute('b', 'two').updateName('renamed');
    span.end([12, 100_000_000]);
    span.end([99, 0]);
    span.setAttribute('c', 3).updateName('again').setStatus({ code: SpanStatusCode.ERROR });
    expect(ended).toHaveLength(1);
    const [done] = ended as [RecordedSpan];
    expect(done.name).toBe('renamed');
    expect(done.attributes).toEqual({ a: 1, b: 'two' });
    expect(done.endTime).toEqual([12, 100_000_000]);
    expect(done.duration).toEqual([1, 200_000_000]);
    expect(done.status.code).toBe(SpanStatusCode.UNSET);
    expect(done.isRecording()).toBe(false);
  });

  it('an end before the start is clamped to the start', () => {
    const { tracer, ended } = pipeline();
    tracer.startSpan('x', { startTime: [5, 0] }).end([4, 0]);
    expect(ended[0]?.endTime).toEqual([5, 0]);
    expect(ended[0]?.duration).toEqual([0, 0]);
  });

  it('keeps the status rules of the SDK: a message only with an error, OK is final', () => {
    const { tracer, ended } = pipeline();
    const a = tracer.startSpan('a');
    a.setStatus({ code: SpanStatusCode.OK, message: 'ignored' });
    a.setStatus({ code: SpanStatusCode.ERROR, message: 'too late' });
    a.end();
    const b = tracer.startSpan('b');
    b.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream profile timed out' });
    b.setStatus({ code: SpanStatusCode.UNSET });
    b.end();
    expect(ended.map((s) => s.status)).toEqual([{ code: SpanStatusCode.OK }, { code: SpanStatusCode.ERROR, message: 'upstream profile timed out' }]);
  });

  it('drops invalid attribute values, copies arrays, and applies the count and length limits, counting what it dropped', () => {
    const { tracer, ended } = pipeline({}, { attributeCountLimit: 3, attributeValueLengthLimit: 4, eventCountLimit: 1, linkCountLimit: 1 });
    const list = ['abcdef', 'x'];
    const span = tracer.startSpan('x');
    span.setAttribute('list', list);
    span.setAttribute('mixed', [1, 'a'] as unknown as string[]);
    span.setAttribute('object', { no: 1 } as unknown as string);
    span.setAttribute('long', 'abcdefgh');
    span.setAttribute('n', 1);
    span.setAttribute('over', 2);
    span.setAttribute('n', 5); // an existing key may still change
    span.addEvent('one', { k: 'valuevalue' }).addEvent('two');
    span.addLink({ context: span.spanContext() }).addLink({ context: span.spanContext() });
    list[0] = 'changed';
    span.end();
    const [done] = ended as [RecordedSpan];
    expect(done.attributes).toEqual({ list: ['abcd', 'x'], long: 'abcd', n: 5 });
    expect(done.droppedAttributesCount).toBe(1);
    expect(done.events.map((e) => [e.name, e.attributes])).toEqual([['one', { k: 'valu' }]]);
    expect(done.droppedEventsCount).toBe(1);
    expect(done.links).toHaveLength(1);
    expect(done.droppedLinksCount).toBe(1);
  });

  it('records an exception as the SDK names its attributes', () => {
    const { tracer, ended } = pipeline();
    const span = tracer.startSpan('x');
    span.recordException(new TypeError('bad input'));
    span.end();
    expect(ended[0]?.events[0]).toMatchObject({ name: 'exception', attributes: { 'exception.type': 'TypeError', 'exception.message': 'bad input' } });
    expect(ended[0]?.events[0]?.attributes?.['exception.stacktrace']).toContain('TypeError: bad input');
  });
});

describe('startActiveSpan', () => {
  const manager = new AsyncLocalStorageContextManager();
  beforeAll(() => void context.setGlobalContextManager(manager.enable()));
  afterAll(() => {
    manager.disable();
    context.disable();
  });

  it('runs the function with the span active, so spans started inside are its children', async () => {
    const exporter = new InMemorySpanExporter();
    const tracer = inMemoryPipeline(exporter).getTracer('t');
    const result = await tracer.startActiveSpan('outer', async (outer: Span) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      tracer.startSpan('inner').end();
      outer.end();
      return 'done';
    });
    expect(result).toBe('done');
    const [inner, outer] = exporter.getFinishedSpans();
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
  });
});
