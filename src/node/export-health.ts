import { createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

export interface ExportHealthOptions {
  /** `trace` or `metric`: the line says "trace export to ...". */
  signal: string;
  /** What one unit of `failed` counts: `span`, `metric export`. */
  unit: string;
  /** The collector URL, without credentials or query. */
  target: string;
  /** Where a warning line goes. */
  warn: (line: string) => void;
  /** Milliseconds, for the once-a-minute limit. Default `performance.now()`. */
  clock?: () => number;
  /** At most one line per this many ms. Default 60000. */
  intervalMs?: number;
}

/** What a tracker has seen since it started. */
export interface ExportTotals {
  failing: boolean;
  failed: number;
  dropped: number;
  /** The last failure's reason, short and without a query string. */
  reason: string | undefined;
}

/**
 * Watches one signal's exports and says so when they start failing and when they recover:
 * one warning line each, at most one line a minute, whatever the collector does (a collector
 * that is down or slow never floods the log). A state that flips back before the minute is up
 * is folded into the next line. No timers: a line is written when an export result arrives.
 *
 * @example
 * const health = new ExportHealth({ signal: 'trace', unit: 'span', target: 'http://collector:4318/v1/traces', warn: console.warn });
 * const exporter = watchSpanExporter(new OTLPTraceExporter(), health);
 */
export class ExportHealth {
  readonly #options: Required<Omit<ExportHealthOptions, 'clock'>> & { clock: () => number };
  #failing = false;
  #logged: 'ok' | 'failing' = 'ok';
  #lastLineAt: number | undefined;
  #failingSince = 0;
  #droppedSinceResult = 0;
  /** Counted since the failing period (the one the log is about) began. */
  #failed = 0;
  #dropped = 0;
  #totalFailed = 0;
  #totalDropped = 0;
  #reason: string | undefined;
  #quiet = false;

  constructor(options: ExportHealthOptions) {
    this.#options = { intervalMs: 60_000, clock: () => performance.now(), ...options };
  }

  /** An export succeeded: recovered, unless spans were dropped since the last result. */
  exported(): void {
    if (this.#failing && this.#droppedSinceResult === 0) this.#failing = false;
    this.#droppedSinceResult = 0;
    this.#maybeLog();
  }

  /** An export of `count` items failed. */
  failed(count: number, error: unknown): void {
    this.#startFailing();
    this.#failed += count;
    this.#totalFailed += count;
    this.#reason = reasonOf(error);
    this.#droppedSinceResult = 0;
    this.#maybeLog();
  }

  /** `count` items were dropped before export (the queue was full). */
  dropped(count: number): void {
    this.#startFailing();
    this.#dropped += count;
    this.#totalDropped += count;
    this.#droppedSinceResult += count;
    this.#reason ??= 'the export queue is full';
    this.#maybeLog();
  }

  /** No more lines (shutdown writes its own); the totals are still counted. */
  quiet(): void {
    this.#quiet = true;
  }

  totals(): ExportTotals {
    return { failing: this.#failing, failed: this.#totalFailed, dropped: this.#totalDropped, reason: this.#reason };
  }

  #startFailing(): void {
    if (this.#failing) return;
    this.#failing = true;
    // A failure folded into one already said (a flap inside the minute) keeps its start and counts.
    if (this.#logged === 'ok') {
      this.#failingSince = this.#options.clock();
      this.#failed = 0;
      this.#dropped = 0;
    }
  }

  #maybeLog(): void {
    const state = this.#failing ? 'failing' : 'ok';
    if (this.#quiet || state === this.#logged) return;
    const now = this.#options.clock();
    if (this.#lastLineAt !== undefined && now - this.#lastLineAt < this.#options.intervalMs) return;
    const { signal, target, unit, warn } = this.#options;
    const counts = `${plural(this.#failed, unit)} not exported${unit === 'span' ? `, ${plural(this.#dropped, unit)} dropped (export queue full)` : ''}`;
    if (state === 'failing') {
      warn(`tributary: ${signal} export to ${target} is failing (${this.#reason ?? 'unknown error'}): ${counts} so far; the next line says when it recovers (OTEL_LOG_LEVEL=debug shows each failure)`);
    } else {
      const seconds = Math.round((now - this.#failingSince) / 1000);
      warn(`tributary: ${signal} export to ${target} recovered; while it failed (about ${seconds} s): ${counts}`);
    }
    this.#logged = state;
    this.#lastLineAt = now;
  }
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * A failure as a short phrase: the HTTP status, or the error's first line, never a header and
 * never a query string (a collector URL may carry a key in its query).
 *
 * @example
 * reasonOf(new Error('POST http://c:4318/v1/traces?key=s3cret failed')); // 'POST http://c:4318/v1/traces failed'
 */
export function reasonOf(error: unknown): string {
  if (error === undefined || error === null) return 'unknown error';
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e.code === 'number') return `HTTP ${e.code}`;
  const message = typeof e.message === 'string' && e.message.trim() !== '' ? e.message : typeof e.code === 'string' ? e.code : String(error);
  const line = (message.split('\n')[0] ?? '').replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*)[?#]\S*/gi, '$1');
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/**
 * The exporter, reporting each export's result (and its span count) to `health`.
 *
 * @example
 * new BatchSpanProcessor({ exporter: watchSpanExporter(new OTLPTraceExporter(), health) });
 */
export function watchSpanExporter(exporter: SpanExporter, health: ExportHealth): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
      exporter.export(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) health.exported();
        else health.failed(spans.length, result.error);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    ...(exporter.forceFlush ? { forceFlush: () => (exporter.forceFlush as () => Promise<void>)() } : {}),
  };
}

/**
 * The metric exporter, reporting each export's result to `health`; temporality and aggregation pass through.
 *
 * @example
 * new PeriodicExportingMetricReader({ exporter: watchMetricExporter(new OTLPMetricExporter(), health) });
 */
export function watchMetricExporter(exporter: PushMetricExporter, health: ExportHealth): PushMetricExporter {
  return {
    export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
      exporter.export(metrics, (result) => {
        if (result.code === ExportResultCode.SUCCESS) health.exported();
        else health.failed(1, result.error);
        done(result);
      });
    },
    forceFlush: () => exporter.forceFlush(),
    shutdown: () => exporter.shutdown(),
    ...(exporter.selectAggregationTemporality ? { selectAggregationTemporality: exporter.selectAggregationTemporality.bind(exporter) } : {}),
    ...(exporter.selectAggregation ? { selectAggregation: exporter.selectAggregation.bind(exporter) } : {}),
  };
}

/**
 * For the batch span processor's `selfObsMeterProvider`: the processor counts the spans it drops
 * because its queue is full (`otel.sdk.processor.span.processed` with `error.type=queue_full`);
 * this hears that count and nothing else, and records no metric.
 *
 * @example
 * new BatchSpanProcessor({ exporter, selfObsMeterProvider: droppedSpansListener(health) });
 */
export function droppedSpansListener(health: ExportHealth): MeterProvider {
  const noop = createNoopMeter();
  const meter = Object.create(noop) as Meter;
  meter.createCounter = () => ({
    add(value: number, attributes?: Record<string, unknown>) {
      if (attributes?.['error.type'] === 'queue_full') health.dropped(value);
    },
  });
  return { getMeter: () => meter };
}
