/**
 * Our OTLP protobuf encoder against the SDK's own serializer: for every kind of span content,
 * the same bytes. A collector that reads the SDK's exports reads ours.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type Link } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { encodeSpans, SpanBatch } from '../../src/services/tracing/otlp-protobuf.ts';
import { inMemoryPipeline } from './in-memory-tracing.ts';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';

const sdkBytes = (spans: ReadableSpan[]): Uint8Array => ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array;

/** Every kind of value an attribute can hold, and the edges of their encodings. */
const VALUES: Attributes = {
  'a.string': 'plain',
  'a.empty': '',
  'a.unicode': 'naïve ✓ 日本 🚀',
  'a.latin1': 'café',
  'a.long': 'x'.repeat(300),
  'a.int': 42,
  'a.zero': 0,
  'a.negative': -7,
  'a.big': 2 ** 40 + 3,
  'a.min': -(2 ** 53) + 1,
  'a.double': 3.25,
  'a.nan': Number.NaN,
  'a.inf': Number.NEGATIVE_INFINITY,
  'a.true': true,
  'a.false': false,
  'a.strings': ['a', 'β', ''],
  'a.numbers': [1, -2, 2.5],
  'a.holes': ['a', null, 'c'],
  // What the SDK 3 accepts besides: bytes, maps, mixed arrays.
  'a.bytes': new Uint8Array([0, 1, 254, 255]) as unknown as string,
  'a.map': { k: 'v', n: 2, nested: { deep: [true, null] } } as unknown as string,
  'a.mixed': [1, 'two', false] as unknown as string[],
};

const remoteParent = trace.setSpanContext(ROOT_CONTEXT, {
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
  traceState: new TraceState('vendor=abc,other=1'),
});

/** The same spans written through a tracer: a rich one, a remote child, an error, a huge one. */
function writeSpans(tracer: ReturnType<TracerProvider['getTracer']>): void {
  const link: Link = {
    context: { traceId: 'ffffffffffffffffffffffffffffff01', spanId: '00000000000000aa', traceFlags: TraceFlags.NONE },
    attributes: { 'tributary.depends_on': 'profile' },
  };
  const rich = tracer.startSpan('rich ✓', { kind: SpanKind.SERVER, startTime: [1_764_000_000, 123_456_789], attributes: VALUES, links: [link] });
  rich.addEvent('hedge', { 'tributary.attempt': 2 }, [1_764_000_000, 200_000_000]);
  rich.addEvent('bare', [1_764_000_000, 300_000_000]);
  rich.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream profile timed out' });
  rich.end([1_764_000_001, 999_999_999]);

  const child = tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: [4_102_444_800, 5] }, remoteParent);
  child.setAttribute('http.response.status_code', 503);
  child.end([4_102_444_800, 1_000_005]);

  const plain = tracer.startSpan('internal', { startTime: [0, 0] });
  plain.setStatus({ code: SpanStatusCode.OK });
  plain.end([0, 1]);

  // Past 16 KiB: the span's and its parents' length prefixes need three bytes.
  const huge: Attributes = {};
  for (let i = 0; i < 100; i++) huge[`k.${i}`] = 'v'.repeat(200);
  const big = tracer.startSpan('huge', { startTime: [1_764_000_000, 0], attributes: huge });
  big.end([1_764_000_000, 1]);
}

describe('encodeSpans', () => {
  it('writes the bytes of the SDK serializer for the spans the SDK records', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'tributary', 'host.name': 'h', 'process.pid': 4321 }),
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    writeSpans(provider.getTracer('tributary', '1.2.3'));
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(4);
    expect(Buffer.from(encodeSpans(spans))).toEqual(Buffer.from(sdkBytes(spans)));
  });

  it('writes the bytes of the SDK serializer for the spans our pipeline records', () => {
    const exporter = new InMemorySpanExporter();
    writeSpans(inMemoryPipeline(exporter).getTracer('tributary') as ReturnType<TracerProvider['getTracer']>);
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(4);
    const ours = encodeSpans(spans);
    expect(ours.length).toBeGreaterThan(20_000);
    expect(Buffer.from(ours)).toEqual(Buffer.from(sdkBytes(spans)));
  });

  it('writes the ids of our own parents and links, which it copies as bytes, as the SDK serializer writes them from hex', () => {
    const exporter = new InMemorySpanExporter();
    const tracer = inMemoryPipeline(exporter).getTracer('tributary');
    // A request's shape: a server span under a caller's, an internal span under it, a client
    // span under that, and a span linked to a sibling (a dependency).
    const server = tracer.startSpan('GET /v1/x', { kind: SpanKind.SERVER, startTime: [1_764_000_000, 0] }, remoteParent);
    const inServer = trace.setSpan(ROOT_CONTEXT, server);
    const upstream = tracer.startSpan('upstream profile', { startTime: [1_764_000_000, 10] }, inServer);
    const client = tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: [1_764_000_000, 20] }, trace.setSpan(ROOT_CONTEXT, upstream));
    const dependent = tracer.startSpan('upstream orders', {
      startTime: [1_764_000_000, 30],
      links: [{ context: upstream.spanContext(), attributes: { 'tributary.depends_on': 'profile' } }],
    }, inServer);
    for (const span of [client, upstream, dependent, server]) span.end([1_764_000_001, 0]);
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(4);
    // Encoded before any span id's hex was read, and again after: the same bytes, the SDK's.
    const before = Buffer.from(encodeSpans(spans));
    expect(before).toEqual(Buffer.from(sdkBytes(spans)));
    expect(Buffer.from(encodeSpans(spans))).toEqual(before);
    expect(spans.find((s) => s.name === 'GET')?.parentSpanContext?.spanId).toBe(upstream.spanContext().spanId);
  });

  it("writes a caller's upper-case ids (B3 sends them) and spread copies of our contexts as the SDK serializer does", () => {
    const exporter = new InMemorySpanExporter();
    const tracer = inMemoryPipeline(exporter).getTracer('tributary');
    const upper = trace.setSpanContext(ROOT_CONTEXT, { traceId: '0AF7651916CD43DD8448EB211C80319C', spanId: 'B7AD6B7169203331', traceFlags: TraceFlags.SAMPLED, isRemote: true });
    const server = tracer.startSpan('GET', { kind: SpanKind.SERVER, startTime: [1_764_000_000, 0] }, upper);
    expect(server.spanContext().traceId).toBe('0AF7651916CD43DD8448EB211C80319C');
    // A copy with another span id, as a propagator or a sampler of someone else's might make.
    const copy = { ...server.spanContext(), spanId: '00000000000000ff' };
    const linked = tracer.startSpan('linked', { startTime: [1_764_000_000, 1], links: [{ context: copy }] }, trace.setSpanContext(ROOT_CONTEXT, copy));
    linked.end([1_764_000_000, 2]);
    server.end([1_764_000_000, 3]);
    const spans = exporter.getFinishedSpans();
    expect(Buffer.from(encodeSpans(spans))).toEqual(Buffer.from(sdkBytes(spans)));
  });

  it('groups spans by resource and scope as the SDK does', () => {
    const exporter = new InMemorySpanExporter();
    const a = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'a' }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const b = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'b' }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    for (const [provider, scope] of [[a, 'x'], [b, 'x'], [a, 'y'], [a, 'x']] as const) {
      provider.getTracer(scope).startSpan(`${scope} span`, { startTime: [1, 0] }).end([2, 0]);
    }
    const spans = exporter.getFinishedSpans();
    expect(Buffer.from(encodeSpans(spans))).toEqual(Buffer.from(sdkBytes(spans)));
  });

  it('encodes nothing to an empty request', () => {
    expect(encodeSpans([])).toEqual(sdkBytes([]));
  });
});

describe('SpanBatch', () => {
  it('takes batch after batch with only their own spans, and a request it handed over never changes', () => {
    const exporter = new InMemorySpanExporter();
    const tracer = inMemoryPipeline(exporter).getTracer('tributary');
    const batch = new SpanBatch();
    const taken: { bytes: Uint8Array; copy: Buffer; spans: ReadableSpan[] }[] = [];
    // Each batch is larger than the last, past the buffer's first 16 KiB: the buffer grows and is reused.
    for (const count of [3, 40, 200, 5]) {
      exporter.reset();
      for (let i = 0; i < count; i++) {
        const span = tracer.startSpan(`batch of ${count}, span ${i}`, { startTime: [1_764_000_000, i], attributes: { 'a.text': 'v'.repeat(150), 'a.n': i } });
        span.end([1_764_000_001, i]);
      }
      const spans = exporter.getFinishedSpans();
      for (const span of spans) batch.add(span);
      const bytes = batch.take();
      taken.push({ bytes, copy: Buffer.from(bytes), spans });
    }
    for (const { bytes, copy, spans } of taken) {
      expect(Buffer.from(bytes)).toEqual(copy);
      expect(copy).toEqual(Buffer.from(sdkBytes(spans)));
    }
  });

  it('leaves out a resource whose spans stopped coming', () => {
    const exporter = new InMemorySpanExporter();
    const a = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'a' }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const b = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'b' }), spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const batch = new SpanBatch();
    a.getTracer('x').startSpan('a span', { startTime: [1, 0] }).end([2, 0]);
    b.getTracer('x').startSpan('b span', { startTime: [1, 0] }).end([2, 0]);
    for (const span of exporter.getFinishedSpans()) batch.add(span);
    expect(Buffer.from(batch.take())).toEqual(Buffer.from(sdkBytes(exporter.getFinishedSpans())));
    exporter.reset();
    b.getTracer('x').startSpan('b again', { startTime: [3, 0] }).end([4, 0]);
    for (const span of exporter.getFinishedSpans()) batch.add(span);
    expect(Buffer.from(batch.take())).toEqual(Buffer.from(sdkBytes(exporter.getFinishedSpans())));
    expect(batch.size).toBe(0);
    expect(batch.take()).toEqual(sdkBytes([]));
  });
});
