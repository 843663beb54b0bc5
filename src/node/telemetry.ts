import { metrics, propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { INSTRUMENTATION_SCOPE } from '../services/telemetry.ts';
import { droppedSpansListener, ExportHealth, reasonOf, watchMetricExporter, watchSpanExporter } from './export-health.ts';
import { createMetricExporter, createTraceExporter, otlpTarget } from '../serve/otlp-exporters.ts';
import { otlpBatchProcessor } from '../serve/span-batcher.ts';
import { startTracePipeline } from '../serve/trace-pipeline.ts';
import { nodeResource } from './resource.ts';

export interface NodeTelemetry {
  /** True when an SDK was started; false means the API stays a no-op. */
  enabled: boolean;
  /** Spans are exported somewhere (OTLP, console, the waterfall). */
  traces: boolean;
  /** Metrics are exported or served (OTLP, Prometheus, console). */
  metrics: boolean;
  /**
   * Flushes and stops exporters, for at most TRIBUTARY_SHUTDOWN_FLUSH_MS (default 2000). Never
   * rejects: a flush that fails or runs out of time is one line on stderr.
   */
  shutdown(): Promise<void>;
}

export interface NodeTelemetryOptions {
  /** Where the telemetry warnings go (export failing and recovered, the final flush). Default: stderr. */
  warn?: (line: string) => void;
}

type Env = Record<string, string | undefined>;

const DEFAULT_FLUSH_MS = 2000;

const listed = (value: string | undefined): string[] =>
  (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/**
 * Starts the OpenTelemetry Node SDK from the standard OTEL_* variables, only when something
 * would be exported: traces when OTEL_TRACES_EXPORTER names an exporter or an OTLP endpoint is
 * set; metrics when OTEL_METRICS_EXPORTER names one (`otlp`, `prometheus`, `console`) or an
 * OTLP endpoint is set. Both signals honour OTEL_EXPORTER_OTLP_PROTOCOL (and the per-signal
 * variables): http/protobuf, the default, or http/json. Export failures are one warning when
 * they start and one when they recover, at most one a minute; OTEL_LOG_LEVEL=error or none
 * silences them, and debug adds the SDK's own diagnostics. TRIBUTARY_TRACE_CONSOLE=1 prints each
 * trace as a waterfall. With none of these nothing is registered, so tracing costs nothing.
 *
 * @example
 * const telemetry = await startNodeTelemetry(process.env);
 * // ... serve ...
 * await telemetry.shutdown(); // bounded, never throws
 */
export async function startNodeTelemetry(env: Env = process.env, options: NodeTelemetryOptions = {}): Promise<NodeTelemetry> {
  if (env.OTEL_SDK_DISABLED === 'true') return passThrough();
  const warn = options.warn ?? warnUnless(env.OTEL_LOG_LEVEL);
  // Settings problems: a variable both signals read is named once.
  const configWarn = onceEach(warn);
  const endpoint = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const traceExporters = listed(env.OTEL_TRACES_EXPORTER);
  const otlpTraces = traceExporters.length > 0 ? traceExporters.includes('otlp') : endpoint;
  const consoleTraces = traceExporters.includes('console');
  const waterfall = env.TRIBUTARY_TRACE_CONSOLE === '1' || env.TRIBUTARY_TRACE_CONSOLE === 'true';
  const listedMetrics = listed(env.OTEL_METRICS_EXPORTER);
  const metricExporters = listedMetrics.includes('none')
    ? []
    : listedMetrics.length > 0
      ? listedMetrics
      : env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
        ? ['otlp']
        : [];
  if (!otlpTraces && !consoleTraces && !waterfall && metricExporters.length === 0) return passThrough();

  // Only what is asked for: the SDK's defaults would otherwise add OTLP logs.
  process.env.OTEL_LOGS_EXPORTER ??= 'none';
  const flushMs = flushBound(env.TRIBUTARY_SHUTDOWN_FLUSH_MS, configWarn);
  // Loaded only now: the SDK and its exporters cost ~40 MB of memory that a process that
  // exports nothing should not pay.
  const [{ NodeSDK }, { ConsoleSpanExporter, SimpleSpanProcessor }, { WaterfallExporter }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace'),
    import('../serve/waterfall-exporter.ts'),
  ]);
  const watched: ExportHealth[] = [];
  const spanProcessors: SpanProcessor[] = [];
  if (otlpTraces) {
    const target = otlpTarget(env, 'traces', configWarn);
    const health = new ExportHealth({ signal: 'trace', unit: 'span', target: target.shownUrl, warn });
    watched.push(health);
    // The SDK reads OTEL_BSP_* only for processors it builds itself; this one is ours.
    const exporter = watchSpanExporter(await createTraceExporter(target.protocol), health);
    const batching = {
      ...optionalNumber('scheduledDelayMillis', env.OTEL_BSP_SCHEDULE_DELAY),
      ...optionalNumber('exportTimeoutMillis', env.OTEL_BSP_EXPORT_TIMEOUT),
      ...optionalNumber('maxQueueSize', env.OTEL_BSP_MAX_QUEUE_SIZE),
      ...optionalNumber('maxExportBatchSize', env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE),
    };
    spanProcessors.push(
      await otlpBatchProcessor(target.protocol, exporter, {
        ...batching,
        onDropped: (count) => health.dropped(count),
        selfObsMeterProvider: droppedSpansListener(health),
      }),
    );
  }
  if (consoleTraces) spanProcessors.push(new SimpleSpanProcessor({ exporter: new ConsoleSpanExporter() }));
  if (waterfall) spanProcessors.push(new SimpleSpanProcessor({ exporter: new WaterfallExporter((text) => process.stderr.write(text)) }));
  const metricReaders = await createMetricReaders(metricExporters, env, { warn, configWarn }, watched);
  const resource = await nodeResource(env, configWarn);
  // The SDK sets up the context manager, the propagator and metrics; spans go through our
  // pipeline (no span processors here, or the SDK would build its own tracer provider).
  const sdk = new NodeSDK({ spanProcessors: [], metricReaders, resource, autoDetectResources: false });
  sdk.start();
  const spans = spanProcessors.length > 0 ? startTracePipeline(env, resource, spanProcessors, configWarn) : undefined;
  if (metricReaders.length > 0) observeEventLoopDelay();
  return {
    enabled: true,
    traces: spans !== undefined,
    metrics: metricReaders.length > 0,
    shutdown: () => flushWithin(async () => void (await Promise.all([sdk.shutdown(), spans?.shutdown()])), flushMs, watched, warn),
  };
}

/** OTEL_METRICS_EXPORTER's readers: OTLP (watched, like traces), Prometheus (pulled), console. */
async function createMetricReaders(
  names: string[],
  env: Env,
  { warn, configWarn }: { warn: (line: string) => void; configWarn: (line: string) => void },
  watched: ExportHealth[],
): Promise<IMetricReader[]> {
  if (names.length === 0) return [];
  const { ConsoleMetricExporter, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  const readers: IMetricReader[] = [];
  for (const name of new Set(names)) {
    if (name === 'otlp') {
      const target = otlpTarget(env, 'metrics', configWarn);
      const health = new ExportHealth({ signal: 'metric', unit: 'metric export', target: target.shownUrl, warn });
      watched.push(health);
      const exporter = watchMetricExporter(await createMetricExporter(target.protocol), health);
      readers.push(new PeriodicExportingMetricReader({ exporter, ...metricSchedule(env) }));
    } else if (name === 'prometheus') {
      const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
      const port = Number(env.OTEL_EXPORTER_PROMETHEUS_PORT);
      readers.push(
        new PrometheusExporter({
          ...(env.OTEL_EXPORTER_PROMETHEUS_HOST ? { host: env.OTEL_EXPORTER_PROMETHEUS_HOST } : {}),
          ...(Number.isInteger(port) && port > 0 ? { port } : {}),
        }),
      );
    } else if (name === 'console') {
      readers.push(new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter() }));
    } else {
      configWarn(`tributary: OTEL_METRICS_EXPORTER=${name} is not supported (otlp, prometheus, console or none); ignored`);
    }
  }
  return readers;
}

/** OTEL_METRIC_EXPORT_INTERVAL (default 60 s) and _TIMEOUT (default 30 s, at most the interval), as the SDK reads them. */
function metricSchedule(env: Env): { exportIntervalMillis: number; exportTimeoutMillis: number } {
  const interval = positive(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60_000;
  const timeout = positive(env.OTEL_METRIC_EXPORT_TIMEOUT) ?? 30_000;
  return { exportIntervalMillis: interval, exportTimeoutMillis: Math.min(timeout, interval) };
}

function positive(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** TRIBUTARY_SHUTDOWN_FLUSH_MS: how long the final flush may take; 0 skips it. */
function flushBound(value: string | undefined, warn: (line: string) => void): number {
  if (value === undefined || value.trim() === '') return DEFAULT_FLUSH_MS;
  const n = Number(value);
  if (Number.isFinite(n) && n >= 0) return n;
  warn(`tributary: TRIBUTARY_SHUTDOWN_FLUSH_MS must be a number of ms, got "${value}"; using ${DEFAULT_FLUSH_MS}`);
  return DEFAULT_FLUSH_MS;
}

/**
 * The final flush, bounded: a dead collector would otherwise hold the exit for the exporter's
 * retries (10 s and more). Whatever happens, at most one line and no stack; never rejects.
 *
 * @example
 * await flushWithin(() => sdk.shutdown(), 2000, [traceHealth], (line) => process.stderr.write(`${line}\n`));
 */
export async function flushWithin(flush: () => Promise<void>, ms: number, watched: readonly ExportHealth[], warn: (line: string) => void): Promise<void> {
  for (const health of watched) health.quiet();
  if (ms <= 0) return; // asked not to wait: the process exits with what was already sent
  const before = watched.map((h) => h.totals().failed);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const flushed = flush().then(
    () => 'done' as const,
    (error: unknown) => ({ error }),
  );
  const outcome = await Promise.race([flushed, bound]);
  clearTimeout(timer);
  // Some processors swallow a failed final export: the exporters' own count says it failed.
  const lostNow = watched.filter((h, i) => h.totals().failed > (before[i] ?? 0));
  if (outcome === 'done' && lostNow.length === 0) return;
  const failing = (outcome === 'done' ? lostNow : watched).map((h) => h.totals()).filter((t) => t.failing && t.reason);
  const why =
    failing.length > 0
      ? failing.map((t) => t.reason).join('; ')
      : typeof outcome === 'object'
        ? reasonOf(outcome.error)
        : 'the collector did not answer';
  warn(
    outcome === 'timeout'
      ? `tributary: telemetry not flushed within ${ms} ms (TRIBUTARY_SHUTDOWN_FLUSH_MS): ${why}; exiting without it`
      : `tributary: telemetry not flushed at shutdown: ${why}`,
  );
}

/** A line already written is not written again (a setting both signals read is named once). */
function onceEach(warn: (line: string) => void): (line: string) => void {
  const written = new Set<string>();
  return (line) => {
    if (written.has(line)) return;
    written.add(line);
    warn(line);
  };
}

/** Warnings on stderr unless OTEL_LOG_LEVEL asks for errors only or nothing. */
function warnUnless(level: string | undefined): (line: string) => void {
  const quiet = ['none', 'error'].includes((level ?? '').trim().toLowerCase());
  return quiet ? () => {} : (line) => process.stderr.write(`${line}\n`);
}

/**
 * No SDK: spans are no-ops, but an inbound `traceparent` is still passed on to upstreams, so a
 * caller's trace is not broken by a gateway that does not export.
 */
function passThrough(): NodeTelemetry {
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  return { enabled: false, traces: false, metrics: false, shutdown: async () => {} };
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
