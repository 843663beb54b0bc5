import {
  metrics,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Counter,
  type Histogram,
  type HrTime,
  type Meter,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { TributaryError } from '../lib/errors.ts';

/**
 * Tracer and instruments, from `@opentelemetry/api` only: with no SDK registered they are
 * no-ops, so tracing costs nothing when nobody exports. Node and Workers register their SDKs.
 */
export interface Telemetry {
  tracer: Tracer;
  meter: Meter;
  /** `http.server.request.duration`: every request, by route, method and status (seconds). */
  serverDuration: Histogram;
  /** `http.client.request.duration`: every attempt on the wire, without the bulkhead wait (seconds). */
  clientDuration: Histogram;
  upstreamDuration: Histogram;
  semaphoreWait: Histogram;
  timeouts: Counter;
  partialResponses: Counter;
  /** Retries sent, hedges sent, and retries or hedges refused by the budget, per upstream. */
  retries: Counter;
  hedges: Counter;
  budgetExhausted: Counter;
  /** Breaker transitions per upstream (`tributary.breaker.state` is the new state). */
  breakerTransitions: Counter;
  /** Calls the breaker refused at once. */
  breakerRejections: Counter;
  /** Calls that cache or coalesce, per upstream and `tributary.cache` (hit, miss, stale, revalidated, coalesced). */
  cacheLookups: Counter;
  /** `each` calls get spans for this many elements; the rest run untraced (counted on the call span). */
  maxItemSpans: number;
  /**
   * False when no span would be recorded (no tracing SDK): the hot path then starts no spans and
   * builds no span attributes, and only propagates the caller's trace context to upstreams.
   */
  traces: boolean;
  /** False when no metric would be exported: no instrument is called and no label set is built. */
  metrics: boolean;
}

export interface TelemetryOptions {
  tracer?: Tracer;
  meter?: Meter;
  maxItemSpans?: number;
  /** Say false when the entry knows no tracing SDK is registered. Default true. */
  traces?: boolean;
  /** Say false when the entry knows no metrics SDK is registered. Default true. */
  metrics?: boolean;
}

export const INSTRUMENTATION_SCOPE = 'tributary';

/** Seconds, from a fast loopback call to a slow deadline. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The buckets the HTTP semantic conventions advise for `http.*.request.duration`. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * Tracer and instruments from the global API (or the ones given). An entry that knows nothing is
 * exported says so, and the hot path skips the work.
 *
 * @example
 * createTelemetry(); // whatever SDK is registered, spans and metrics on
 * createTelemetry({ traces: false, metrics: false }); // no SDK: only the trace context is forwarded
 */
export function createTelemetry(options: TelemetryOptions = {}): Telemetry {
  const meter = options.meter ?? metrics.getMeter(INSTRUMENTATION_SCOPE);
  return {
    tracer: options.tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE),
    meter,
    serverDuration: meter.createHistogram('http.server.request.duration', {
      description: 'Duration of HTTP server requests',
      unit: 's',
      advice: { explicitBucketBoundaries: HTTP_BUCKETS },
    }),
    clientDuration: meter.createHistogram('http.client.request.duration', {
      description: 'Duration of HTTP client requests to upstreams, one per attempt, without the wait for a slot',
      unit: 's',
      advice: { explicitBucketBoundaries: HTTP_BUCKETS },
    }),
    upstreamDuration: meter.createHistogram('tributary.upstream.duration', {
      description: 'Duration of one upstream call, from queueing to its last byte, by outcome',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    }),
    semaphoreWait: meter.createHistogram('tributary.semaphore.wait', {
      description: 'Time a call waited for a slot (the request limit or the upstream bulkhead)',
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    }),
    timeouts: meter.createCounter('tributary.upstream.timeouts', { description: 'Upstream calls that timed out', unit: '{call}' }),
    partialResponses: meter.createCounter('tributary.responses.partial', {
      description: 'Responses in which at least one call failed',
      unit: '{response}',
    }),
    retries: meter.createCounter('tributary.upstream.retries', { description: 'Retries sent to an upstream', unit: '{request}' }),
    hedges: meter.createCounter('tributary.upstream.hedges', { description: 'Hedged requests sent to an upstream', unit: '{request}' }),
    budgetExhausted: meter.createCounter('tributary.upstream.retry_budget_exhausted', {
      description: 'Retries or hedges not sent because the upstream retry budget was spent',
      unit: '{request}',
    }),
    breakerTransitions: meter.createCounter('tributary.breaker.transitions', {
      description: 'Circuit breaker state changes, by upstream and new state',
      unit: '{transition}',
    }),
    breakerRejections: meter.createCounter('tributary.breaker.rejections', {
      description: 'Calls refused at once because the circuit was open',
      unit: '{call}',
    }),
    cacheLookups: meter.createCounter('tributary.cache.lookups', {
      description: 'Calls that cache or coalesce, by how the cache took part: hit, miss, stale, revalidated, coalesced',
      unit: '{call}',
    }),
    maxItemSpans: options.maxItemSpans ?? 50,
    traces: options.traces ?? true,
    metrics: options.metrics ?? true,
  };
}

/**
 * Whether a span started under `parent` could be recorded: tracing is on, and `parent` is not a
 * span of this process that its sampler left unrecorded. Each sampler Tributary offers decides a
 * local span's children as it decided that span (the parent-based ones follow it, `traceidratio`
 * reads the same trace id, `always_off` records nothing, and `always_on` records every span), so
 * under an unsampled SERVER span every other span of the request would record nothing. Those
 * spans are not started at all, and the upstreams get the SERVER span's `traceparent`, unsampled.
 *
 * @example
 * const span = spansUnder(telemetry, parent) ? telemetry.tracer.startSpan('aggregate', {}, parent) : undefined;
 */
export function spansUnder(telemetry: Telemetry, parent: Context): boolean {
  if (!telemetry.traces) return false;
  const span = trace.getSpan(parent);
  return span === undefined || span.isRecording() || span.spanContext().isRemote === true;
}

/**
 * The low-cardinality `error.type` for a failure: `timeout`, `deadline_exceeded`, the HTTP
 * status for `http_status` (`503`), `network`, ...
 */
export function errorType(error: TributaryError): string {
  return error.code === 'http_status' && error.status !== undefined ? String(error.status) : error.code;
}

/**
 * Ends a span with a failure: an error status for real failures, but a cancel (the client
 * left, a required sibling failed) is marked as cancelled and is not an error.
 */
export function endWithFailure(span: Span, error: TributaryError): void {
  if (error.code === 'cancelled') {
    span.setAttributes({ 'tributary.cancelled': true, 'tributary.cancel_reason': error.message });
  } else {
    span.setAttribute('error.type', errorType(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
}

/** A span for time already spent waiting, recorded only when there was a wait. */
export function recordWait(tracer: Tracer, parent: Context, startedAt: number, waitMs: number, attributes: Attributes): void {
  const span = tracer.startSpan(
    'semaphore.acquire',
    { kind: SpanKind.INTERNAL, startTime: spanTime(startedAt), attributes: { ...attributes, 'tributary.wait_ms': waitMs } },
    parent,
  );
  span.end(spanTime(startedAt + waitMs));
}

const ORIGIN_MS = performance.timeOrigin;
const ORIGIN_SECONDS = Math.trunc(ORIGIN_MS / 1000);
const ORIGIN_NANOS = Math.round((ORIGIN_MS - ORIGIN_SECONDS * 1000) * 1e6);

/**
 * The wall-clock time of a `performance.now()` reading (default: now), as `[seconds, nanos]`.
 * Every span's start and end, and every span event, comes from this one clock, so a child
 * never starts before its parent. (Left to itself the SDK anchors a span at `Date.now()`,
 * whole milliseconds, and mixes that with `performance.now()` offsets.) The hot spans pass the
 * reading itself (`startTime: performance.now()`): a tracer reads a number below the time
 * origin as one and converts it the same way, and only for a span it records.
 *
 * @example
 * const span = tracer.startSpan('work', { startTime: spanTime() });
 * span.end(spanTime());
 */
export function spanTime(ms: number = performance.now()): HrTime {
  const whole = Math.trunc(ms / 1000);
  let seconds = ORIGIN_SECONDS + whole;
  let nanos = ORIGIN_NANOS + Math.round((ms - whole * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  } else if (nanos < 0) {
    seconds -= 1;
    nanos += 1e9;
  }
  return [seconds, nanos];
}

const SECRET_QUERY = /(token|key|secret|passw|sig|auth|credential|session|code)/i;

/** `url.full` without credentials or secret-looking query values. */
export function redactUrl(href: string): string {
  // Nothing to redact without credentials or a query: an upstream request's URL (already a
  // URL's normalised href) is used as it is, without parsing it again for every attempt.
  if (!href.includes('@') && !href.includes('?')) return href;
  const url = new URL(href);
  url.username = '';
  url.password = '';
  for (const key of [...new Set(url.searchParams.keys())]) {
    if (SECRET_QUERY.test(key)) url.searchParams.set(key, 'REDACTED');
  }
  return url.href;
}

/** What the upstream gauges read: a name, a semaphore's counts, and the breaker's state if there is one. */
export interface BulkheadView {
  upstream: { name: string };
  bulkhead: { running: number; waiting: number; limit: number };
  health?: { breaker?: { state: 'closed' | 'open' | 'half-open' } | undefined };
}

/** `tributary.breaker.state`: 0 closed, 1 half-open, 2 open. */
const BREAKER_STATE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * In-flight, queued and limit gauges per upstream, read from the process-wide bulkheads, and
 * each breaker's state. Register once per process (Node); on Workers bulkheads live for one request,
 * so there is nothing to watch.
 */
export function observeBulkheads(clients: Iterable<BulkheadView>, meter: Meter): void {
  const list = [...clients];
  const inFlight = meter.createObservableGauge('tributary.upstream.in_flight', {
    description: 'Calls holding a bulkhead slot, per upstream',
    unit: '{call}',
  });
  const queued = meter.createObservableGauge('tributary.upstream.queued', {
    description: 'Calls waiting for a bulkhead slot, per upstream',
    unit: '{call}',
  });
  const breakerState = meter.createObservableGauge('tributary.breaker.state', {
    description: "Each upstream's circuit breaker: 0 closed, 1 half-open, 2 open",
    unit: '{state}',
  });
  const limit = meter.createObservableGauge('tributary.upstream.limit', {
    description: "Each upstream's bulkhead limit now: fixed, or where its adaptive limit has moved it",
    unit: '{call}',
  });
  meter.addBatchObservableCallback(
    (result) => {
      for (const c of list) {
        const labels = { 'upstream.name': c.upstream.name };
        result.observe(inFlight, c.bulkhead.running, labels);
        result.observe(queued, c.bulkhead.waiting, labels);
        result.observe(limit, c.bulkhead.limit, labels);
        const breaker = c.health?.breaker;
        if (breaker) result.observe(breakerState, BREAKER_STATE[breaker.state], labels);
      }
    },
    [inFlight, queued, limit, breakerState],
  );
}
