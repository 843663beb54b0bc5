import { metrics, propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { INSTRUMENTATION_SCOPE } from '../services/telemetry.ts';

export interface NodeTelemetry {
  /** True when an SDK was started; false means the API stays a no-op. */
  enabled: boolean;
  /** Flushes and stops exporters. */
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

const listed = (value: string | undefined): string[] =>
  (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/**
 * Starts the OpenTelemetry Node SDK from the standard OTEL_* variables, only when something
 * would be exported: traces when OTEL_TRACES_EXPORTER names an exporter or an OTLP endpoint is
 * set; metrics when OTEL_METRICS_EXPORTER names one (`otlp`, `prometheus`, `console`) or an
 * OTLP endpoint is set. TRIBUTARY_TRACE_CONSOLE=1 prints each trace as a waterfall.
 * With none of these nothing is registered, so tracing costs nothing.
 */
export async function startNodeTelemetry(env: Env = process.env): Promise<NodeTelemetry> {
  if (env.OTEL_SDK_DISABLED === 'true') return passThrough();
  const endpoint = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const traceExporters = listed(env.OTEL_TRACES_EXPORTER);
  const otlpTraces = traceExporters.length > 0 ? traceExporters.includes('otlp') : endpoint;
  const consoleTraces = traceExporters.includes('console');
  const waterfall = env.TRIBUTARY_TRACE_CONSOLE === '1' || env.TRIBUTARY_TRACE_CONSOLE === 'true';
  const metricExporters = listed(env.OTEL_METRICS_EXPORTER);
  const wantsMetrics = metricExporters.length > 0
    ? !metricExporters.includes('none')
    : Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);
  if (!otlpTraces && !consoleTraces && !waterfall && !wantsMetrics) return passThrough();

  // Only what is asked for: the SDK's defaults would otherwise add OTLP logs and metrics.
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  if (!wantsMetrics) process.env.OTEL_METRICS_EXPORTER = 'none';
  // Loaded only now: the SDK and its exporters cost ~40 MB of memory that a process that
  // exports nothing should not pay.
  const [{ NodeSDK }, { OTLPTraceExporter }, { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor }, { WaterfallExporter }] =
    await Promise.all([
      import('@opentelemetry/sdk-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/sdk-trace'),
      import('./waterfall-exporter.ts'),
    ]);
  const spanProcessors: SpanProcessor[] = [];
  if (otlpTraces) {
    // The SDK reads OTEL_BSP_* only for processors it builds itself; this one is ours.
    spanProcessors.push(
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter(),
        ...optionalNumber('scheduledDelayMillis', env.OTEL_BSP_SCHEDULE_DELAY),
        ...optionalNumber('exportTimeoutMillis', env.OTEL_BSP_EXPORT_TIMEOUT),
        ...optionalNumber('maxQueueSize', env.OTEL_BSP_MAX_QUEUE_SIZE),
        ...optionalNumber('maxExportBatchSize', env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE),
      }),
    );
  }
  if (consoleTraces) spanProcessors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
  if (waterfall) spanProcessors.push(new SimpleSpanProcessor({ exporter: new WaterfallExporter() }));
  const sdk = new NodeSDK({
    spanProcessors,
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: 'tributary' }),
  });
  sdk.start();
  if (wantsMetrics) observeEventLoopDelay();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}

/**
 * No SDK: spans are no-ops, but an inbound `traceparent` is still passed on to upstreams, so a
 * caller's trace is not broken by a gateway that does not export.
 */
function passThrough(): NodeTelemetry {
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  return { enabled: false, shutdown: async () => {} };
}

function optionalNumber<K extends string>(key: K, value: string | undefined): Partial<Record<K, number>> {
  if (value === undefined || value.trim() === '') return {};
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? ({ [key]: n } as Record<K, number>) : {};
}

/** Event-loop delay: the signal that something blocks the loop (and so every request). */
function observeEventLoopDelay(): void {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const meter = metrics.getMeter(INSTRUMENTATION_SCOPE);
  const p99 = meter.createObservableGauge('nodejs.eventloop.delay.p99', { unit: 's', description: 'Event-loop delay, 99th percentile since the last collection' });
  const max = meter.createObservableGauge('nodejs.eventloop.delay.max', { unit: 's', description: 'Event-loop delay, maximum since the last collection' });
  meter.addBatchObservableCallback((result) => {
    result.observe(p99, histogram.percentile(99) / 1e9);
    result.observe(max, histogram.max / 1e9);
    histogram.reset();
  }, [p99, max]);
}
