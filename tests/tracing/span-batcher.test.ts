/**
 * The batch processor that encodes spans shortly after they end: when batches leave, one export
 * at a time, the queue limit, flush and shutdown, as the SDK's batch span processor behaves.
 */
import { diag, DiagLogLevel, ROOT_CONTEXT } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpanBatcher, type EncodedSpans, type SpanBatcherOptions } from '../../src/serve/span-batcher.ts';
import { encodeSpans } from '../../src/services/tracing/otlp-protobuf.ts';
import type { RecordedSpan, SpanSink } from '../../src/services/tracing/recorded-span.ts';
import { samplerFromEnv } from '../../src/services/tracing/samplers.ts';
import { SpanPipeline } from '../../src/services/tracing/tracer.ts';

/** An exporter that records each request and answers only when the test says so. */
function heldExporter() {
  const requests: { batch: EncodedSpans; answer: (result?: ExportResult) => void }[] = [];
  let shutdowns = 0;
  const exporter = {
    export(batch: unknown, done: (result: ExportResult) => void) {
      requests.push({ batch: batch as EncodedSpans, answer: (result = { code: ExportResultCode.SUCCESS }) => done(result) });
    },
    shutdown: async () => void (shutdowns += 1),
  } as unknown as SpanExporter;
  return { exporter, requests, shutdowns: () => shutdowns };
}

function setup(options: SpanBatcherOptions = {}) {
  const held = heldExporter();
  const dropped: number[] = [];
  const batcher = new SpanBatcher(held.exporter, { onDropped: (n) => dropped.push(n), ...options });
  const ended: RecordedSpan[] = [];
  const keep: SpanSink = { onEnd: (span) => ended.push(span) };
  const tracer = new SpanPipeline({ resource: resourceFromAttributes({ 'service.name': 't' }), sampler: samplerFromEnv({}, []), sinks: [keep, batcher] }).getTracer('tributary');
  const spans = (count: number): void => {
    for (let i = 0; i < count; i++) tracer.startSpan(`span ${ended.length}`, { startTime: [1, 0] }, ROOT_CONTEXT).end([2, 0]);
  };
  return { ...held, batcher, dropped, ended, spans, tracer };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe('SpanBatcher', () => {
  it('sends a full batch at once, encoded as the SDK would encode those spans, and the rest after the schedule delay', () => {
    const { spans, requests, ended } = setup({ maxExportBatchSize: 3, scheduledDelayMillis: 1000 });
    spans(4);
    expect(requests).toHaveLength(1);
    expect(requests[0]?.batch.length).toBe(3);
    expect(Buffer.from(requests[0]!.batch.bytes)).toEqual(Buffer.from(encodeSpans(ended.slice(0, 3) as unknown as ReadableSpan[])));
    requests[0]?.answer();
    vi.advanceTimersByTime(999);
    expect(requests).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(requests).toHaveLength(2);
    expect(requests[1]?.batch.length).toBe(1);
  });

  it('encodes spans a few dozen at a time, yet sends each batch the moment it is full, with the spans in the order they ended', () => {
    // 200 is not a multiple of the encoding run (64): batches are cut at the size, not the run.
    const { spans, requests, ended } = setup({ maxExportBatchSize: 200, scheduledDelayMillis: 1000 });
    spans(199);
    expect(requests).toHaveLength(0);
    spans(1);
    expect(requests.map((r) => r.batch.length)).toEqual([200]);
    spans(250);
    requests[0]?.answer();
    expect(requests.map((r) => r.batch.length)).toEqual([200, 200]);
    requests[1]?.answer();
    vi.advanceTimersByTime(1000);
    expect(requests.map((r) => r.batch.length)).toEqual([200, 200, 50]);
    const all = ended as unknown as ReadableSpan[];
    expect(requests.map((r) => Buffer.from(r.batch.bytes))).toEqual([
      Buffer.from(encodeSpans(all.slice(0, 200))),
      Buffer.from(encodeSpans(all.slice(200, 400))),
      Buffer.from(encodeSpans(all.slice(400))),
    ]);
  });

  it('after a full batch leaves, the next spans wait their own schedule delay, not the old one', () => {
    const { spans, requests } = setup({ maxExportBatchSize: 200, scheduledDelayMillis: 1000 });
    spans(200);
    expect(requests.map((r) => r.batch.length)).toEqual([200]);
    requests[0]?.answer();
    vi.advanceTimersByTime(600);
    spans(10);
    vi.advanceTimersByTime(500);
    expect(requests).toHaveLength(1);
    vi.advanceTimersByTime(500);
    expect(requests.map((r) => r.batch.length)).toEqual([200, 10]);
  });

  it('drops spans past the queue while they wait to be encoded, and counts them', () => {
    // While the collector holds the first export, 150 more fit: a ready batch of 100, and 50 in
    // the current batch or waiting for their run (not a multiple of the run of 64).
    const { spans, requests, dropped, ended } = setup({ maxQueueSize: 150, maxExportBatchSize: 100, scheduledDelayMillis: 1000 });
    spans(300);
    expect(requests.map((r) => r.batch.length)).toEqual([100]);
    expect(dropped.reduce((a, b) => a + b, 0)).toBe(50);
    requests[0]?.answer();
    expect(requests.map((r) => r.batch.length)).toEqual([100, 100]);
    requests[1]?.answer();
    vi.advanceTimersByTime(1000);
    expect(requests.map((r) => r.batch.length)).toEqual([100, 100, 50]);
    // The spans kept are the first 250 to end, in order.
    const kept = ended.slice(0, 250) as unknown as ReadableSpan[];
    expect(Buffer.concat(requests.map((r) => Buffer.from(r.batch.bytes)))).toEqual(
      Buffer.concat([encodeSpans(kept.slice(0, 100)), encodeSpans(kept.slice(100, 200)), encodeSpans(kept.slice(200))].map((b) => Buffer.from(b))),
    );
  });

  it('sends one batch at a time: the next waits for the export in flight to end', () => {
    const { spans, requests } = setup({ maxExportBatchSize: 2 });
    spans(6);
    expect(requests).toHaveLength(1);
    requests[0]?.answer({ code: ExportResultCode.FAILED, error: new Error('collector down') });
    expect(requests).toHaveLength(2);
    requests[1]?.answer();
    expect(requests.map((r) => r.batch.length)).toEqual([2, 2, 2]);
  });

  it('drops and counts the spans past the queue while the collector holds an export', () => {
    const { spans, requests, dropped } = setup({ maxExportBatchSize: 2, maxQueueSize: 4 });
    spans(2); // handed to the exporter, which does not answer
    spans(6); // 4 fit the queue, 2 are dropped
    expect(requests).toHaveLength(1);
    expect(dropped).toEqual([1, 1]);
    requests[0]?.answer();
    requests[1]?.answer();
    expect(requests.map((r) => r.batch.length)).toEqual([2, 2, 2]);
  });

  it('ignores spans that are recorded but not sampled', () => {
    const held = heldExporter();
    const batcher = new SpanBatcher(held.exporter, { maxExportBatchSize: 1 });
    const recordOnly = { shouldSample: () => ({ decision: 1 }), toString: () => 'RecordOnly' };
    const tracer = new SpanPipeline({ resource: resourceFromAttributes({}), sampler: recordOnly, sinks: [batcher] }).getTracer('t');
    const span = tracer.startSpan('x');
    expect(span.isRecording()).toBe(true);
    span.end();
    expect(held.requests).toHaveLength(0);
  });

  it('forceFlush sends a partial batch and resolves when its export has ended; it rejects when the export is given up', async () => {
    const { batcher, spans, requests } = setup({ exportTimeoutMillis: 500 });
    spans(2);
    let flushed = false;
    const flush = batcher.forceFlush().then(() => (flushed = true));
    expect(requests).toHaveLength(1);
    await Promise.resolve();
    expect(flushed).toBe(false);
    requests[0]?.answer();
    await flush;
    spans(1);
    const stuck = batcher.forceFlush();
    const outcome = stuck.then(() => 'resolved', (error: Error) => error.message);
    await vi.advanceTimersByTimeAsync(500);
    expect(await outcome).toBe('Timeout');
  });

  it('gives up on an export that never answers after the export timeout, and sends the next batch', async () => {
    const { spans, requests } = setup({ maxExportBatchSize: 2, exportTimeoutMillis: 1000 });
    spans(4);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toHaveLength(2);
    // A late answer to the export given up changes nothing, and neither does a second answer.
    requests[0]?.answer();
    requests[1]?.answer();
    requests[1]?.answer();
    spans(2);
    expect(requests).toHaveLength(3);
  });

  it('an exporter that throws does not stop the exports that follow', () => {
    const requests: number[] = [];
    let calls = 0;
    const exporter = {
      export(batch: unknown, done: (result: ExportResult) => void) {
        calls += 1;
        if (calls === 1) throw new Error('exporter bug');
        requests.push((batch as EncodedSpans).length);
        done({ code: ExportResultCode.SUCCESS });
      },
      shutdown: async () => {},
    } as unknown as SpanExporter;
    const batcher = new SpanBatcher(exporter, { maxExportBatchSize: 1 });
    const tracer = new SpanPipeline({ resource: resourceFromAttributes({}), sampler: samplerFromEnv({}, []), sinks: [batcher] }).getTracer('t');
    tracer.startSpan('a').end();
    tracer.startSpan('b').end();
    expect(requests).toEqual([1]);
  });

  it('a queue smaller than the batch size bounds the batch, as in the SDK', () => {
    const { spans, requests } = setup({ maxQueueSize: 4, maxExportBatchSize: 512 });
    spans(10);
    expect(requests.map((r) => r.batch.length)).toEqual([4]);
  });

  it('leaves out a span it cannot encode and keeps the rest of its batch intact; the span still reaches the other processors', () => {
    const { spans, requests, ended, tracer } = setup({ maxExportBatchSize: 3 });
    spans(1);
    // A link without ids (from code other than Tributary's) cannot be encoded.
    const broken = tracer.startSpan('broken', { links: [{ context: {} as never }] });
    expect(() => broken.end()).not.toThrow();
    expect(ended.at(-1)?.name).toBe('broken');
    spans(2);
    expect(requests).toHaveLength(1);
    const good = ended.filter((s) => s.name !== 'broken') as unknown as ReadableSpan[];
    expect(Buffer.from(requests[0]!.batch.bytes)).toEqual(Buffer.from(encodeSpans(good)));
  });

  it('a span that ends while a run is encoded (a logger told of a broken span ends one) is exported once, after the run', async () => {
    const { spans, requests, ended, tracer, batcher } = setup({ maxExportBatchSize: 3 });
    let ending = true;
    const warn = (): void => {
      if (!ending) return;
      ending = false;
      tracer.startSpan('from the logger', { startTime: [1, 0] }, ROOT_CONTEXT).end([2, 0]);
    };
    diag.setLogger({ warn, error() {}, info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN);
    try {
      spans(1);
      tracer.startSpan('broken', { links: [{ context: {} as never }] }).end();
      spans(1);
    } finally {
      diag.disable();
    }
    const flushed = batcher.forceFlush();
    requests[0]?.answer();
    await flushed;
    const good = ended.filter((s) => s.name !== 'broken') as unknown as ReadableSpan[];
    expect(good.map((s) => s.name)).toEqual(['span 0', 'span 2', 'from the logger']);
    expect(requests).toHaveLength(1);
    expect(Buffer.from(requests[0]!.batch.bytes)).toEqual(Buffer.from(encodeSpans(good)));
  });

  it('shutdown flushes, shuts the exporter down once, and ignores spans that end afterwards', async () => {
    const { batcher, spans, requests, shutdowns } = setup();
    spans(3);
    const done = batcher.shutdown();
    requests[0]?.answer();
    await done;
    await batcher.shutdown();
    expect(shutdowns()).toBe(1);
    spans(5);
    await batcher.forceFlush();
    expect(requests).toHaveLength(1);
    expect(requests[0]?.batch.length).toBe(3);
  });
});
