import { diag, TraceFlags, type MeterProvider } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { SpanSink } from '../services/tracing/recorded-span.ts';
import { SpanBatch, type EncodableSpan } from '../services/tracing/otlp-protobuf.ts';
import type { OtlpProtocol } from './otlp-exporters.ts';

/** An export request already encoded: what the batcher hands the exporter. `length`: its span count. */
export interface EncodedSpans {
  readonly bytes: Uint8Array;
  readonly length: number;
}

/** Ended spans encoded together, at most: under load a few requests' spans, held a few milliseconds. */
const ENCODE_CHUNK = 64;

/** The batch span processor's settings, under the names (and defaults) of OTEL_BSP_*. */
export interface SpanBatcherOptions {
  /** OTEL_BSP_SCHEDULE_DELAY: the longest a span waits for its batch to be sent. Default 5000 ms. */
  scheduledDelayMillis?: number;
  /** OTEL_BSP_MAX_QUEUE_SIZE: spans waiting to be sent at most; more are dropped. Default 2048. */
  maxQueueSize?: number;
  /** OTEL_BSP_MAX_EXPORT_BATCH_SIZE: spans per export request at most. Default 512. */
  maxExportBatchSize?: number;
  /** OTEL_BSP_EXPORT_TIMEOUT: how long an export (and a flush) may take before it is given up. Default 30000 ms. */
  exportTimeoutMillis?: number;
  /** Told how many spans were dropped because the queue was full. */
  onDropped?: (count: number) => void;
}

/**
 * The batch span processor, for OTLP protobuf: sampled spans are encoded into the current batch
 * in runs of up to 64 as they end (in a run the encoder's code and tables stay warm: 15-25 % less
 * encoding time per span in the gateway's profiles than one span at a time between requests), and
 * batches go to the exporter (the SDK's OTLP/HTTP delivery, which sends the bytes as they are) one
 * export at a time, as soon as a batch holds `maxExportBatchSize` spans or `scheduledDelayMillis`
 * after its first span. The SDK's processor keeps every span object until its batch is
 * serialised; here a span can be collected once its run is encoded: under load a few requests
 * later, at most `scheduledDelayMillis` after it ended. Like the SDK's processor, it reads an ended
 * span when it encodes it: a span's values must not be changed after `end()` (the API's setters
 * ignore it then). Same settings, same queue limit (spans not yet handed to the exporter; beyond
 * it spans are dropped and counted), same flush and shutdown contract.
 *
 * @example
 * const batcher = new SpanBatcher(await createTraceExporter('http/protobuf'), { onDropped: (n) => health.dropped(n) });
 * // a sink of the span pipeline; at exit:
 * await batcher.shutdown();
 */
export class SpanBatcher implements SpanSink, SpanProcessor {
  readonly #exporter: SpanExporter;
  readonly #delayMs: number;
  readonly #maxQueue: number;
  readonly #maxBatch: number;
  readonly #timeoutMs: number;
  readonly #onDropped: (count: number) => void;
  #batch = new SpanBatch();
  /**
   * Ended spans not yet encoded: encoded `#chunk` at a time, in one run, where the encoder's code
   * and tables stay warm, instead of one span at a time between other work.
   */
  #ended: EncodableSpan[] = [];
  readonly #chunk: number;
  /** Whole batches waiting for the export in flight to end. */
  readonly #ready: EncodedSpans[] = [];
  /** Spans not yet handed to the exporter (in `#ready`, `#batch` and `#ended`). */
  #queued = 0;
  #exporting = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Flushes waiting for the exports to end; told whether one of those was given up. */
  #idle: ((gaveUp: boolean) => void)[] = [];
  #gaveUp = false;
  #shutDown = false;

  constructor(exporter: SpanExporter, options: SpanBatcherOptions = {}) {
    this.#exporter = exporter;
    this.#delayMs = options.scheduledDelayMillis ?? 5000;
    this.#maxQueue = Math.max(1, options.maxQueueSize ?? 2048);
    // As the SDK: a batch never holds more than the queue (the queue is the memory bound).
    this.#maxBatch = Math.min(Math.max(1, options.maxExportBatchSize ?? 512), this.#maxQueue);
    this.#timeoutMs = options.exportTimeoutMillis ?? 30_000;
    this.#chunk = Math.min(ENCODE_CHUNK, this.#maxBatch);
    this.#onDropped = options.onDropped ?? (() => {});
  }

  onStart(): void {}

  onEnd(span: EncodableSpan): void {
    if (this.#shutDown || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.#queued >= this.#maxQueue) {
      this.#onDropped(1);
      return;
    }
    this.#ended.push(span);
    this.#queued += 1;
    const waiting = this.#ended.length;
    if (waiting >= this.#chunk || this.#batch.size + waiting >= this.#maxBatch) {
      this.#encodeEnded();
      if (this.#ready.length > 0) {
        if (this.#batch.size === 0) this.#stopTimer();
        this.#pump();
      }
    }
    if (this.#timer === undefined && (this.#ended.length > 0 || this.#batch.size > 0)) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#cut();
        this.#pump();
      }, this.#delayMs);
      // A pending batch never keeps the process alive: shutdown flushes it.
      this.#timer.unref?.();
    }
  }

  /**
   * Encodes the ended spans waiting for it, in one run; each batch that reaches
   * `maxExportBatchSize` spans joins the ready ones.
   */
  #encodeEnded(): void {
    // Taken first: a span ended while this run is encoded (by a logger told of a failure) waits for the next run.
    const ended = this.#ended;
    if (ended.length === 0) return;
    this.#ended = [];
    for (let i = 0; i < ended.length; i++) {
      try {
        this.#batch.add(ended[i] as EncodableSpan);
      } catch (error) {
        // A span that cannot be encoded (a malformed link from other code) is left out; the batch is intact.
        diag.warn('tributary: a span could not be encoded for export; dropped', error);
        this.#queued -= 1;
        continue;
      }
      if (this.#batch.size >= this.#maxBatch) this.#seal();
    }
  }

  /** The current batch, if it has spans, joins the ready ones. */
  #seal(): void {
    if (this.#batch.size > 0) this.#ready.push({ length: this.#batch.size, bytes: this.#batch.take() });
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * Sends everything batched and resolves once the last export has ended; rejects with `Timeout`
   * when one of them was given up after the export timeout (as the SDK's processor does).
   */
  async forceFlush(): Promise<void> {
    this.#cut();
    this.#pump();
    if (!this.#exporting) return;
    const gaveUp = await new Promise<boolean>((resolve) => this.#idle.push(resolve));
    if (gaveUp) throw new Error('Timeout');
  }

  /** Flushes, then shuts the exporter down; spans that end later are ignored. */
  async shutdown(): Promise<void> {
    if (this.#shutDown) return;
    try {
      await this.forceFlush();
    } finally {
      this.#shutDown = true;
      await this.#exporter.shutdown();
    }
  }

  /** Everything ended so far, encoded, joins the ready batches. */
  #cut(): void {
    this.#stopTimer();
    this.#encodeEnded();
    this.#seal();
  }

  /** Hands the next ready batch to the exporter unless an export is in flight. */
  #pump(): void {
    if (this.#exporting) return;
    const next = this.#ready.shift();
    if (!next) {
      for (const settle of this.#idle.splice(0)) settle(this.#gaveUp);
      this.#gaveUp = false;
      return;
    }
    this.#exporting = true;
    this.#queued -= next.length;
    // The export ends once: when the exporter answers, or after the export timeout (as the SDK's
    // processor gives up on an export that hangs), whichever comes first. A failure is the
    // exporter's (and its watcher's) to report; the next batch goes out either way.
    let ended = false;
    const end = (gaveUp: boolean): void => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      if (gaveUp) this.#gaveUp = true;
      this.#exporting = false;
      this.#pump();
    };
    const timer = setTimeout(() => end(true), this.#timeoutMs);
    timer.unref?.();
    try {
      // The exporter reads `EncodedSpans` through our serializer (createTraceExporter).
      this.#exporter.export(next as never, (_result: ExportResult) => end(false));
    } catch (error) {
      diag.warn('tributary: the span exporter failed', error);
      end(false);
    }
  }
}

/**
 * The batch processor for an OTLP trace exporter: {@link SpanBatcher} for `http/protobuf` (spans
 * encoded in runs as they end), the SDK's batch span processor for `http/json`. `onDropped` hears of
 * spans the batcher drops; the SDK's processor reports its own through `selfObsMeterProvider`.
 *
 * @example
 * const processor = await otlpBatchProcessor('http/protobuf', exporter, { scheduledDelayMillis: 1000 });
 */
export async function otlpBatchProcessor(
  protocol: OtlpProtocol,
  exporter: SpanExporter,
  options: SpanBatcherOptions & { selfObsMeterProvider?: MeterProvider } = {},
): Promise<SpanProcessor> {
  const { onDropped, selfObsMeterProvider, ...batching } = options;
  if (protocol === 'http/protobuf') return new SpanBatcher(exporter, { ...batching, ...(onDropped ? { onDropped } : {}) });
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  return new BatchSpanProcessor({ exporter, ...batching, ...(selfObsMeterProvider ? { selfObsMeterProvider } : {}) });
}
