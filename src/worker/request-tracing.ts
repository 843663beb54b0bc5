import { propagation, TraceFlags } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { TracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { createTelemetry, INSTRUMENTATION_SCOPE, type Telemetry } from '../services/telemetry.ts';
import type { Fetcher } from '../services/upstream/index.ts';
import { toOtlpTraces } from './otlp-json.ts';
import type { Log } from './plan-cache.ts';
import type { TracingConfig } from './tracing-config.ts';

/** The spans of one request, recorded in memory and sent in one OTLP/HTTP request (protobuf or JSON) at its end. */
export interface RequestTracing {
  /** For `createApp({ telemetry })`: a tracer whose spans belong to this request only. */
  telemetry: Telemetry;
  /**
   * POSTs the sampled spans ended so far, if any. Never rejects: a failure is logged once.
   * Call it after the response is built, inside `ctx.waitUntil`.
   */
  export(fetcher: Fetcher, log: Log): Promise<void>;
}

/**
 * A tracer provider for one request: the SDK's sampler, ids and span bookkeeping, with a
 * processor that only keeps ended spans. Nothing is shared with other requests, so there is no
 * batch, timer or queue that could outlive the request (the Worker's `waitUntil` flushes instead).
 *
 * @example
 * const tracing = startRequestTracing(config);
 * const { app } = createApp({ plan, fetcher, telemetry: tracing.telemetry });
 * const response = await app.fetch(request, env, ctx);
 * ctx.waitUntil(tracing.export(fetch, console.error));
 */
export function startRequestTracing(config: TracingConfig): RequestTracing {
  const ended: ReadableSpan[] = [];
  const collect: SpanProcessor = {
    onStart() {},
    onEnd(span) {
      // A recording span that was not sampled (an always-record sampler) is not exported.
      if (span.spanContext().traceFlags & TraceFlags.SAMPLED) ended.push(span);
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new TracerProvider({
    resource: resourceFromAttributes(config.resource),
    sampler: config.sampler,
    spanProcessors: [collect],
  });
  return {
    // Workers export no metrics: no instrument is called per request.
    telemetry: createTelemetry({ tracer: provider.getTracer(INSTRUMENTATION_SCOPE), metrics: false }),
    export: (fetcher, log) => sendSpans(ended.splice(0), config, fetcher, log),
  };
}

async function sendSpans(spans: ReadableSpan[], config: TracingConfig, fetcher: Fetcher, log: Log): Promise<void> {
  if (spans.length === 0) return;
  try {
    const { body, contentType } = encode(spans, config);
    // The Fetcher's body is a string; the platform fetch sends any BodyInit, bytes included.
    const response = await fetcher(config.url, {
      method: 'POST',
      headers: { ...config.headers, 'content-type': contentType },
      body: body as string,
      signal: AbortSignal.timeout(config.timeoutMs),
    });
    // The collector's answer is not needed; cancel it so the connection is freed.
    await response.body?.cancel().catch(() => {});
    if (response.status < 200 || response.status > 299) log(`tributary: trace export to ${config.shownUrl} failed: HTTP ${response.status} (${spans.length} spans lost)`);
  } catch (error) {
    log(`tributary: trace export to ${config.shownUrl} failed (${spans.length} spans lost)`, error);
  }
}

/** The export request's body: the SDK's own protobuf encoding, or our small JSON one. */
function encode(spans: ReadableSpan[], config: TracingConfig): { body: string | Uint8Array; contentType: string } {
  if (config.protocol === 'http/json') return { body: JSON.stringify(toOtlpTraces(spans, config.resource)), contentType: 'application/json' };
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  if (!bytes) throw new Error('the spans could not be encoded as protobuf');
  return { body: bytes, contentType: 'application/x-protobuf' };
}

/**
 * W3C `traceparent`/`tracestate` and `baggage`, as on Node: an inbound trace is continued and
 * every upstream request carries it, whether or not spans are exported. The propagator is
 * stateless configuration, registered once per isolate on the first request (the API refuses
 * a second registration, so an already registered one is kept).
 */
export function usePropagator(): void {
  if (propagation.fields().includes('traceparent')) return;
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
}
