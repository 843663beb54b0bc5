import { trace } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  type Resource,
  type ResourceDetector,
} from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { SpanLimits, SpanSink } from '../services/tracing/recorded-span.ts';
import { samplerFromEnv } from '../services/tracing/samplers.ts';
import { SpanPipeline } from '../services/tracing/tracer.ts';

type Env = Record<string, string | undefined>;

const DETECTORS: Record<string, ResourceDetector> = {
  serviceinstance: serviceInstanceIdDetector,
  process: processDetector,
  host: hostDetector,
  os: osDetector,
  env: envDetector,
};

/**
 * The resource the Node SDK would build: its default attributes, then the detectors
 * OTEL_NODE_RESOURCE_DETECTORS names (default all: service instance, process, host, os, env),
 * then `service.name` = `tributary` unless OTEL_SERVICE_NAME names it. Traces and metrics share it.
 *
 * @example
 * const resource = await nodeResource(process.env, console.warn);
 */
export async function nodeResource(env: Env, warn: (line: string) => void): Promise<Resource> {
  const names = (env.OTEL_NODE_RESOURCE_DETECTORS ?? 'all').split(',').map((s) => s.trim()).filter(Boolean);
  let detectors: ResourceDetector[];
  if (names.includes('all') || names.length === 0) detectors = Object.values(DETECTORS);
  else if (names.includes('none')) detectors = [];
  else {
    detectors = [];
    for (const name of names) {
      const detector = DETECTORS[name];
      if (detector) detectors.push(detector);
      else warn(`tributary: OTEL_NODE_RESOURCE_DETECTORS names "${name}", which is not a detector (${Object.keys(DETECTORS).join(', ')}, all, none); ignored`);
    }
  }
  let resource = defaultResource().merge(detectResources({ detectors }));
  if (!env.OTEL_SERVICE_NAME) resource = resource.merge(resourceFromAttributes({ 'service.name': 'tributary' }));
  // Host and process attributes may arrive asynchronously; every span must carry them.
  await resource.waitForAsyncAttributes?.();
  return resource;
}

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
export function startTracePipeline(env: Env, resource: Resource, processors: readonly SpanProcessor[], warn: (line: string) => void): { shutdown(): Promise<void> } {
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
