import { trace } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { SpanLimits, SpanResource, SpanSink } from '../services/tracing/recorded-span.ts';
import { samplerFromEnv } from '../services/tracing/samplers.ts';
import { SpanPipeline } from '../services/tracing/tracer.ts';

type Env = Record<string, string | undefined>;

/**
 * Tributary's spans go through {@link SpanPipeline} instead of the SDK's tracer provider: the
 * same sampler (OTEL_TRACES_SAMPLER, _ARG), span limits (OTEL_SPAN_*_LIMIT) and resource, to the
 * same processors, at a fraction of the SDK's cost per span. Registered as the global tracer
 * provider, so `trace.getTracer()` anywhere in the process records through it too.
 *
 * @example
 * const pipeline = startTracePipeline(process.env, resource, [new BatchSpanProcessor({ exporter })], console.warn);
 * await pipeline.shutdown(); // flushes every processor
 */
export function startTracePipeline(env: Env, resource: SpanResource, processors: readonly SpanProcessor[], warn: (line: string) => void): { shutdown(): Promise<void> } {
  const problems: string[] = [];
  const sampler = samplerFromEnv(env, problems);
  for (const problem of problems) warn(`tributary: ${problem}`);
  // A SpanProcessor reads our spans as its own ReadableSpans (the same fields).
  const sinks = processors as unknown as readonly SpanSink[];
  trace.setGlobalTracerProvider(new SpanPipeline({ resource, sampler, sinks, limits: spanLimits(env) }));
  return { shutdown: async () => void (await Promise.all(processors.map((p) => p.shutdown()))) };
}

/** The span limits the SDK reads from the environment; unset ones keep the SDK's defaults. */
function spanLimits(env: Env): Partial<SpanLimits> {
  const number = (...names: string[]): number | undefined => {
    for (const name of names) {
      const text = env[name]?.trim();
      const value = text ? Number(text) : Number.NaN;
      if (Number.isFinite(value) && value >= 0) return value;
    }
    return undefined;
  };
  const limits: Partial<SpanLimits> = {};
  const set = (key: keyof SpanLimits, value: number | undefined): void => {
    if (value !== undefined) limits[key] = value;
  };
  set('attributeCountLimit', number('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_COUNT_LIMIT'));
  set('attributeValueLengthLimit', number('OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT'));
  set('eventCountLimit', number('OTEL_SPAN_EVENT_COUNT_LIMIT'));
  set('linkCountLimit', number('OTEL_SPAN_LINK_COUNT_LIMIT'));
  set('attributePerEventCountLimit', number('OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT', 'OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT'));
  set('attributePerLinkCountLimit', number('OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', 'OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT'));
  return limits;
}
