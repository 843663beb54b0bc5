import { propagation, TraceFlags } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { createTelemetry, INSTRUMENTATION_SCOPE, type Telemetry } from '../services/telemetry.ts';
import { encodeSpans } from '../services/tracing/otlp-protobuf.ts';
import type { RecordedSpan, SpanSink } from '../services/tracing/recorded-span.ts';
import { SpanPipeline } from '../services/tracing/tracer.ts';
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
 * A span pipeline for one request (the one the Node process uses: the configured sampler, our
 * ids and spans), keeping the sampled spans once they end. Nothing is shared with other
 * requests, so there is no batch, timer or queue that could outlive the request (the Worker's
 * `waitUntil` flushes instead).
 *
 * @example
 * const tracing = startRequestTracing(config);
 * const { app } = createApp({ plan, fetcher, telemetry: tracing.telemetry });
 * const response = await app.fetch(request, env, ctx);
 * ctx.waitUntil(tracing.export(fetch, console.error));
 */
export function startRequestTracing(config: TracingConfig): RequestTracing {
  const ended: RecordedSpan[] = [];
  const collect: SpanSink = {
    onEnd(span) {
      if (span.spanContext().traceFlags & TraceFlags.SAMPLED) ended.push(span);
    },
  };
  const provider = new SpanPipeline({ resource: { attributes: config.resource }, sampler: config.sampler, sinks: [collect] });
  return {
    // Workers export no metrics: no instrument is called per request.
    telemetry: createTelemetry({ tracer: provider.getTracer(INSTRUMENTATION_SCOPE), metrics: false }),
    export: (fetcher, log) => sendSpans(ended.splice(0), config, fetcher, log),
  };
}

async function sendSpans(spans: RecordedSpan[], config: TracingConfig, fetcher: Fetcher, log: Log): Promise<void> {
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

/** The export request's body: our protobuf encoding (the SDK's bytes), or our small JSON one. */
function encode(spans: RecordedSpan[], config: TracingConfig): { body: string | Uint8Array; contentType: string } {
  if (config.protocol === 'http/json') return { body: JSON.stringify(toOtlpTraces(spans, config.resource)), contentType: 'application/json' };
  return { body: encodeSpans(spans), contentType: 'application/x-protobuf' };
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
