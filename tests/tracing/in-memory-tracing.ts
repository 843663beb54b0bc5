/**
 * In-process tracing for tests: the span pipeline the Node process uses (our tracer, the SDK's
 * processor and in-memory exporter), handed to the app through `createTelemetry({ tracer })`,
 * plus helpers to read the span tree.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import type { SpanSink } from '../../src/services/tracing/recorded-span.ts';
import { samplerFromEnv } from '../../src/services/tracing/samplers.ts';
import { SpanPipeline, type SpanSampler } from '../../src/services/tracing/tracer.ts';
import { createTelemetry, type Telemetry } from '../../src/services/telemetry.ts';

export interface InMemoryTracing {
  exporter: InMemorySpanExporter;
  provider: SpanPipeline;
  telemetry: Telemetry;
  /** Every finished span so far. */
  spans(): ReadableSpan[];
}

export function inMemoryTracing(options: { maxItemSpans?: number } = {}): InMemoryTracing {
  const exporter = new InMemorySpanExporter();
  const provider = inMemoryPipeline(exporter);
  const telemetry = createTelemetry({ tracer: provider.getTracer('test'), ...options });
  return { exporter, provider, telemetry, spans: () => exporter.getFinishedSpans() };
}

/** The Node process's span pipeline, recording into `exporter` (default sampler: parentbased_always_on). */
export function inMemoryPipeline(exporter: InMemorySpanExporter, sampler: SpanSampler = samplerFromEnv({}, [])): SpanPipeline {
  const sinks = [new SimpleSpanProcessor({ exporter })] as unknown as SpanSink[];
  return new SpanPipeline({ resource: resourceFromAttributes({ 'service.name': 'test' }), sampler, sinks });
}

export const startMs = (s: ReadableSpan): number => hrTimeToMilliseconds(s.startTime);
export const endMs = (s: ReadableSpan): number => hrTimeToMilliseconds(s.endTime);
export const durationMs = (s: ReadableSpan): number => endMs(s) - startMs(s);
export const idOf = (s: ReadableSpan): string => s.spanContext().spanId;
export const traceOf = (s: ReadableSpan): string => s.spanContext().traceId;
export const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

/** Two spans overlap in time: each started before the other ended. */
export const overlap = (a: ReadableSpan, b: ReadableSpan): boolean => startMs(a) < endMs(b) && startMs(b) < endMs(a);

export const isError = (s: ReadableSpan): boolean => s.status.code === SpanStatusCode.ERROR;

/** Reads one trace's spans as a tree. */
export class SpanTree {
  readonly spans: readonly ReadableSpan[];
  constructor(spans: readonly ReadableSpan[]) {
    this.spans = spans;
  }

  /** The spans of one trace. */
  static of(spans: readonly ReadableSpan[], traceId: string): SpanTree {
    return new SpanTree(spans.filter((s) => traceOf(s) === traceId));
  }

  named(name: string): ReadableSpan[] {
    return this.spans.filter((s) => s.name === name);
  }

  /** The only span with this name; fails the test when there is none or more than one. */
  one(name: string): ReadableSpan {
    const found = this.named(name);
    if (found.length !== 1) {
      throw new Error(`expected one span "${name}", found ${found.length} among: ${this.spans.map((s) => s.name).join(', ')}`);
    }
    return found[0] as ReadableSpan;
  }

  children(parent: ReadableSpan, name?: string): ReadableSpan[] {
    return this.spans.filter((s) => parentOf(s) === idOf(parent) && (name === undefined || s.name === name));
  }

  server(): ReadableSpan {
    const found = this.spans.filter((s) => s.kind === SpanKind.SERVER);
    if (found.length !== 1) throw new Error(`expected one SERVER span, found ${found.length}`);
    return found[0] as ReadableSpan;
  }
}

/** The trace id and parent span id of a W3C `traceparent` value. */
export function parseTraceparent(value: string | null | undefined): { traceId: string; parentId: string; flags: string } | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value ?? '');
  return m ? { traceId: m[1] as string, parentId: m[2] as string, flags: m[3] as string } : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
