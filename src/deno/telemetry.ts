import { propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { Env } from '../services/plan/index.ts';
import type { EntryTelemetry } from '../serve/run-gateway.ts';
import type { EntryLogger } from '../serve/logger.ts';

const on = (value: string | undefined): boolean => ['1', 'true'].includes((value ?? '').trim().toLowerCase());

/**
 * OpenTelemetry on Deno is Deno's own: with OTEL_DENO=true Deno registers its providers with
 * `@opentelemetry/api`, so the gateway's spans (SERVER, aggregate, upstream, CLIENT per attempt)
 * and metrics go out over OTLP/HTTP with Deno's exporter, which reads the standard
 * OTEL_EXPORTER_OTLP_* variables, next to Deno's own spans for `Deno.serve` and `fetch`. Spans
 * are flushed when the process exits; metrics only on Deno's schedule (OTEL_METRIC_EXPORT_INTERVAL). Without
 * it spans are no-ops, and an inbound `traceparent` is still passed on to upstreams. The console
 * waterfall (TRIBUTARY_TRACE_CONSOLE) needs the Node SDK's span processors: Node only; asking for
 * it, or setting an OTLP endpoint without OTEL_DENO, is a warning that says so.
 *
 * @example
 * const telemetry = await startDenoTelemetry(Deno.env.toObject(), logger);
 */
export async function startDenoTelemetry(env: Env, logger: Pick<EntryLogger, 'warn'>): Promise<EntryTelemetry> {
  if (on(env.TRIBUTARY_TRACE_CONSOLE)) {
    logger.warn('TRIBUTARY_TRACE_CONSOLE is not supported on Deno (the waterfall needs the Node SDK); use OTEL_DENO=true and a collector');
  }
  if (on(env.OTEL_DENO)) {
    const target = env.OTEL_EXPORTER_OTLP_ENDPOINT || 'http://localhost:4318';
    return { describe: `OpenTelemetry: Deno's built-in exporter (OTEL_DENO=true), OTLP/HTTP to ${target}`, shutdown: async () => {} };
  }
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    logger.warn('OTEL_EXPORTER_OTLP_ENDPOINT is set but nothing is exported: on Deno, set OTEL_DENO=true (Deno exports the traces itself)');
  }
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  return { describe: undefined, shutdown: async () => {} };
}
