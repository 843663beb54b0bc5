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
import { spanTime } from '../../src/services/telemetry.ts';
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

  it('a span the sampler leaves out still parents its children: same trace, its span id as theirs to follow, nothing recorded', () => {
    const { tracer, ended } = pipeline({ OTEL_TRACES_SAMPLER: 'always_off' });
    const root = tracer.startSpan('root', {}, ROOT_CONTEXT);
    expect(root.isRecording()).toBe(false);
    root.setAttribute('a', 1).addEvent('e').setStatus({ code: SpanStatusCode.ERROR }).updateName('x').end();
    const { traceId, spanId, traceFlags } = root.spanContext();
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(traceFlags).toBe(TraceFlags.NONE);
    const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, root));
    expect(child.spanContext().traceId).toBe(traceId);
    expect(child.spanContext().spanId).not.toBe(spanId);
    // Under a parent-based sampler, an unsampled parent of ours is followed as a caller's would be.
    const followed = pipeline();
    expect(followed.tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, root)).isRecording()).toBe(false);
    child.end();
    expect(ended).toHaveLength(0);
    expect(followed.ended).toHaveLength(0);
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

  it('shows its attributes as one object in the order they were first set, a later set included', () => {
    const { tracer, ended } = pipeline();
    const span = tracer.startSpan('work', { attributes: { a: 1, b: 'two' } });
    expect((span as unknown as RecordedSpan).attributes).toEqual({ a: 1, b: 'two' });
    span.setAttribute('a', 3).setAttribute('c', true).setAttribute('d', undefined);
    span.end();
    const [done] = ended as [RecordedSpan];
    expect(Object.entries(done.attributes)).toEqual([['a', 3], ['b', 'two'], ['c', true]]);
  });

  it('takes a performance.now() reading as a time on the clock spanTime uses', () => {
    const { tracer, ended } = pipeline();
    const at = performance.now();
    tracer.startSpan('x', { startTime: at }).end(at + 1.5);
    expect(ended[0]?.startTime).toEqual(spanTime(at));
    expect(ended[0]?.endTime).toEqual(spanTime(at + 1.5));
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

  it('keeps the values the SDK keeps (bytes, maps, mixed arrays, null), copies them, and drops the rest', () => {
    const { tracer, ended } = pipeline({}, { attributeValueLengthLimit: 4 });
    const list = ['abcdef', 'x'];
    const span = tracer.startSpan('x');
    span.setAttribute('list', list);
    span.setAttribute('mixed', [1, 'a'] as unknown as string[]);
    span.setAttribute('map', { a: 'abcdef', n: 1 } as unknown as string);
    span.setAttribute('bytes', new Uint8Array([1, 2, 3, 4, 5, 6]) as unknown as string);
    span.setAttribute('null', null as unknown as string);
    span.setAttribute('date', new Date(0) as unknown as string);
    span.setAttribute('fn', (() => 1) as unknown as string);
    list[0] = 'changed';
    span.end();
    const [done] = ended as [RecordedSpan];
    expect(done.attributes).toEqual({ list: ['abcd', 'x'], mixed: [1, 'a'], map: { a: 'abcd', n: 1 }, bytes: new Uint8Array([1, 2, 3, 4]), null: null });
  });

  it('applies the count limits as the SDK does: attributes past it dropped, the oldest events and links make room', () => {
    const { tracer, ended } = pipeline({}, { attributeCountLimit: 2, eventCountLimit: 2, linkCountLimit: 2 });
    const link = (n: number) => ({ context: { traceId: `${n}`.padStart(32, '0'), spanId: `${n}`.padStart(16, '0'), traceFlags: 1 } });
    const span = tracer.startSpan('x', { links: [link(1), link(2), link(3)] });
    span.setAttribute('a', 1).setAttribute('b', 2).setAttribute('c', 3).setAttribute('a', 5);
    // Object.prototype's names are keys like any other, not ones the span already has.
    span.setAttribute('constructor', 'x').setAttribute('toString', 'y');
    span.addEvent('e1').addEvent('e2').addEvent('e3');
    span.addLink(link(4));
    span.end();
    const [done] = ended as [RecordedSpan];
    expect(done.attributes).toEqual({ a: 5, b: 2 });
    expect(done.droppedAttributesCount).toBe(3);
    expect(done.events.map((e) => e.name)).toEqual(['e2', 'e3']);
    expect(done.droppedEventsCount).toBe(1);
    expect(done.links.map((l) => l.context.spanId.slice(-1))).toEqual(['3', '4']);
    expect(done.droppedLinksCount).toBe(2);
  });

  it('event attributes take simple values only; a time given twice is the second', () => {
    const { tracer, ended } = pipeline({}, { attributeValueLengthLimit: 4 });
    const span = tracer.startSpan('x');
    span.addEvent('one', { k: 'valuevalue', map: { no: 1 } as unknown as string, ok: [1, 2] });
    span.addEvent('two', [1, 5], [2, 7]);
    span.end();
    const [done] = ended as [RecordedSpan];
    expect(done.events[0]).toMatchObject({ name: 'one', attributes: { k: 'valu', ok: [1, 2] }, droppedAttributesCount: 1 });
    expect(done.events[1]?.time).toEqual([2, 7]);
  });

  it('ignores a value length limit of 0, as the SDK does, instead of emptying every string', () => {
    const { tracer, ended } = pipeline({}, { attributeValueLengthLimit: 0 });
    tracer.startSpan('x', { attributes: { 'url.full': 'http://x/y' } }).end();
    expect(ended[0]?.attributes['url.full']).toBe('http://x/y');
  });

  it('records nothing where tracing is suppressed (an exporter\'s own requests)', () => {
    const { tracer, ended } = pipeline();
    const suppressed = ROOT_CONTEXT.setValue(Symbol.for('OpenTelemetry SDK Context Key SUPPRESS_TRACING'), true);
    const span = tracer.startSpan('x', {}, suppressed);
    expect(span.isRecording()).toBe(false);
    span.end();
    expect(ended).toHaveLength(0);
  });

  it('a span processor that throws neither reaches the code that ends the span nor keeps the span from the others', () => {
    const seen: string[] = [];
    const provider = new SpanPipeline({
      resource: resourceFromAttributes({}),
      sampler: samplerFromEnv({}, []),
      sinks: [{ onEnd: () => { throw new Error('broken processor'); } }, { onEnd: (span) => void seen.push(span.name) }],
    });
    expect(() => provider.getTracer('t').startSpan('x').end()).not.toThrow();
    expect(seen).toEqual(['x']);
  });

  it('records an exception as the SDK names its attributes: a code before a class name', () => {
    const { tracer, ended } = pipeline();
    const span = tracer.startSpan('x');
    span.recordException(new TypeError('bad input'));
    span.recordException(Object.assign(new Error('connect failed'), { code: 'ECONNREFUSED' }));
    span.recordException({} as unknown as Error);
    span.end();
    const events = ended[0]?.events ?? [];
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ name: 'exception', attributes: { 'exception.type': 'TypeError', 'exception.message': 'bad input' } });
    expect(events[0]?.attributes?.['exception.stacktrace']).toContain('TypeError: bad input');
    expect(events[1]?.attributes?.['exception.type']).toBe('ECONNREFUSED');
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
