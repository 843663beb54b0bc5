import { propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Env } from '../services/plan/index.ts';
import type { EntryLogger } from '../serve/logger.ts';
import type { EntryTelemetry } from '../serve/run-gateway.ts';
import { wholeNumber } from '../serve/settings.ts';

const on = (value: string | undefined): boolean => ['1', 'true'].includes((value ?? '').trim().toLowerCase());

/**
 * OpenTelemetry on Bun, from the standard variables, traces only: an OTLP/HTTP export (protobuf,
 * or JSON with OTEL_EXPORTER_OTLP_PROTOCOL=http/json) when OTEL_EXPORTER_OTLP_ENDPOINT (or the
 * traces one) is set, through the SDK's batch processor, flushed at shutdown within
 * TRIBUTARY_SHUTDOWN_FLUSH_MS (default 2000); the console waterfall with TRIBUTARY_TRACE_CONSOLE=1.
 * Spans go through the same pipeline as on Node (OTEL_TRACES_SAMPLER, the span limits).
 * Not on Bun: metrics (the Node SDK's readers and its event-loop delay) and the export-failure
 * warnings; OTEL_METRICS_EXPORTER is a warning that says so. With nothing asked for, spans are
 * no-ops and an inbound `traceparent` is still passed on to upstreams.
 *
 * @example
 * const telemetry = await startBunTelemetry(Bun.env, logger);
 */
export async function startBunTelemetry(env: Env, logger: Pick<EntryLogger, 'warn'>): Promise<EntryTelemetry> {
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  const metricsAsked = (env.OTEL_METRICS_EXPORTER ?? '').split(',').some((name) => !['', 'none'].includes(name.trim()));
  if (metricsAsked) logger.warn('OTEL_METRICS_EXPORTER is not supported on Bun (traces only); use the Node entry for metrics');
  if (env.OTEL_SDK_DISABLED === 'true') return { describe: undefined, shutdown: async () => {} };
  const otlp = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const waterfall = on(env.TRIBUTARY_TRACE_CONSOLE);
  if (!otlp && !waterfall) return { describe: undefined, shutdown: async () => {} };

  // Loaded only now: a gateway that exports nothing does not pay for the SDK.
  const [{ SimpleSpanProcessor }, { createTraceExporter, otlpTarget }, { WaterfallExporter }, { startTracePipeline }, { otlpBatchProcessor }] = await Promise.all([
    import('@opentelemetry/sdk-trace'),
    import('../serve/otlp-exporters.ts'),
    import('../serve/waterfall-exporter.ts'),
    import('../serve/trace-pipeline.ts'),
    import('../serve/span-batcher.ts'),
  ]);
  const spanProcessors: SpanProcessor[] = [];
  const described: string[] = [];
  if (otlp) {
    const target = otlpTarget(env, 'traces', (line) => logger.warn(line));
    spanProcessors.push(await otlpBatchProcessor(target.protocol, await createTraceExporter(target.protocol)));
    described.push(`traces over OTLP/HTTP (${target.protocol}) to ${target.shownUrl}`);
  }
  if (waterfall) {
    spanProcessors.push(new SimpleSpanProcessor({ exporter: new WaterfallExporter((text) => process.stderr.write(text)) }));
    described.push('a waterfall per trace on stderr');
  }
  const resource = resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME || 'tributary' });
  const pipeline = startTracePipeline(env, resource, spanProcessors, (line) => logger.warn(line.replace(/^tributary: /, '')));
  const flushMs = wholeNumber(env, 'TRIBUTARY_SHUTDOWN_FLUSH_MS', 2000);
  return {
    describe: `OpenTelemetry on Bun: ${described.join(', ')}`,
    shutdown: () => flushWithin(() => pipeline.shutdown(), typeof flushMs === 'number' ? flushMs : 2000, logger),
  };
}

/** The final flush, at most `ms`: a dead collector must not hold the exit. Never rejects. */
async function flushWithin(flush: () => Promise<void>, ms: number, logger: Pick<EntryLogger, 'warn'>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const outcome = await Promise.race([flush().then(() => 'done' as const, (error: unknown) => error), bound]);
  clearTimeout(timer);
  if (outcome === 'timeout') logger.warn(`telemetry not flushed within ${ms} ms (TRIBUTARY_SHUTDOWN_FLUSH_MS); exiting without it`);
  else if (outcome !== 'done') logger.warn(`telemetry not flushed at shutdown: ${(outcome as Error)?.message ?? outcome}`);
}
