import { propagation, SpanKind, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { WaitReport } from '../lib/semaphore.ts';
import type { CompiledUpstream } from './plan/types.ts';
import { endWithFailure, errorType, recordWait, redactUrl, spansUnder, spanTime, type Telemetry } from './telemetry.ts';
import type { CacheStatus } from './cache/store.ts';
import { EMPTY_CONTEXT } from './tracing/context.ts';
import { silentObserver, type CallContext, type CallObserver, type CallResult, type SemaphoreKind } from './upstream/types.ts';

export interface ObservedCall {
  upstream: CompiledUpstream;
  /** The endpoint's route pattern (`/v1/dashboard/:userId`): the `http.route` of wait metrics. */
  route: string;
  /** The absolute path template (`/api/users/{params.userId}`), for `url.template`. */
  urlTemplate: string;
  /** The `upstream <call>` span's context: attempts, waits and backoffs hang under it. */
  parent: Context;
  /** False for `each` elements past the span cap: send the traceparent, record no spans. */
  spans: boolean;
  item?: number;
}

/**
 * The call path's events turned into spans and metrics: a CLIENT span and an
 * `http.client.request.duration` sample per attempt (with `http.request.resend_count` from the
 * second on), a `semaphore.acquire` span per wait, a `retry.backoff` span per sleep, span events
 * for hedges, budget refusals and an open circuit, `tributary.cache` on the call span. Metrics are recorded for every event; spans
 * only where `spans` is on. Metric attributes are a closed set (upstream, server, route,
 * semaphore, status, error type); an element index goes on spans only.
 *
 * @example
 * const observer = callObserver(telemetry, { upstream, route: '/v1/dashboard/:userId', urlTemplate: '/users/{params.userId}', parent: callContext, spans: true });
 */
export function callObserver(telemetry: Telemetry, call: ObservedCall): CallObserver {
  const spans = spansUnder(telemetry, call.parent);
  if (!telemetry.metrics && !spans) {
    // Nothing to record (no SDK, or a request its sampler left out); and nothing to pass on
    // either when the caller sent no trace context (the request's context is then the empty
    // one): no observer of its own per call.
    return call.parent === EMPTY_CONTEXT ? silentObserver : new TraceContextOnly(call.parent, call.upstream);
  }
  return new RecordingObserver(telemetry, call, spans);
}

/**
 * Spans and metrics for one call: one object with its methods on the class (a call in flight
 * holds it), not seven closures and three label objects per call. Label sets are built where a
 * metric or a wait's span needs them.
 */
class RecordingObserver implements CallObserver {
  readonly #telemetry: Telemetry;
  readonly #call: ObservedCall;
  /** Spans for this call: tracing on, and not an element past the span cap. */
  readonly #spans: boolean;
  readonly #callSpan: Span | undefined;

  /** `spansUnderParent`: spans under the call's parent could be recorded ({@link spansUnder}). */
  constructor(telemetry: Telemetry, call: ObservedCall, spansUnderParent: boolean) {
    this.#telemetry = telemetry;
    this.#call = call;
    this.#spans = call.spans && spansUnderParent;
    this.#callSpan = telemetry.traces ? trace.getSpan(call.parent) : undefined;
  }

  attempt(ctx: CallContext, headers: Record<string, string>): (result: CallResult) => void {
    const telemetry = this.#telemetry;
    const call = this.#call;
    const metered = telemetry.metrics;
    if (metered && ctx.attempt > 0 && !ctx.noWait) telemetry.retries.add(1, upstreamLabel(call));
    const started = performance.now();
    const span = this.#spans
      ? telemetry.tracer.startSpan(ctx.request.method, { kind: SpanKind.CLIENT, startTime: started }, call.parent)
      : undefined;
    // Attributes cost URL redaction: only for a span that is recorded (not a no-op, not sampled out).
    // Set one by one: no attribute object is built only to be copied into the span.
    if (span?.isRecording()) {
      span.setAttribute('http.request.method', ctx.request.method);
      span.setAttribute('url.full', redactUrl(ctx.request.url));
      span.setAttribute('url.template', call.urlTemplate);
      span.setAttribute('server.address', call.upstream.address);
      span.setAttribute('server.port', call.upstream.port);
      span.setAttribute('upstream.name', call.upstream.name);
      if (ctx.attempt > 0) span.setAttribute('http.request.resend_count', ctx.attempt);
      if (ctx.noWait) span.setAttribute('tributary.hedge', true);
      if (call.item !== undefined) span.setAttribute('tributary.item', call.item);
    }
    propagation.inject(forwardable(span ? trace.setSpan(call.parent, span) : call.parent, call.upstream), headers);
    return (result: CallResult) => {
      const ended = performance.now();
      if (metered) telemetry.clientDuration.record((ended - started) / 1000, clientLabels(ctx.request.method, call.upstream, result));
      if (!span) return;
      if (result.status !== undefined) span.setAttribute('http.response.status_code', result.status);
      if (!result.ok) endWithFailure(span, result.error);
      span.end(ended);
    };
  }

  wait(semaphore: SemaphoreKind, report: WaitReport, limit?: number): void {
    const telemetry = this.#telemetry;
    const call = this.#call;
    const labels = { 'tributary.semaphore': semaphore, 'upstream.name': call.upstream.name };
    if (telemetry.metrics) {
      telemetry.semaphoreWait.record(report.waitMs / 1000, { ...labels, 'http.route': call.route, 'tributary.wait.outcome': report.outcome });
    }
    if (this.#spans) {
      const attributes = { ...labels, ...itemLabel(call), 'tributary.wait.outcome': report.outcome, ...(limit === undefined ? {} : { 'tributary.semaphore.limit': limit }) };
      recordWait(telemetry.tracer, call.parent, report.startedAt, report.waitMs, attributes);
    }
  }

  backoff(ctx: CallContext, startedAt: number, ms: number): void {
    if (!this.#spans) return;
    const call = this.#call;
    const attributes = { ...upstreamLabel(call), ...itemLabel(call), 'tributary.backoff_ms': ms, 'tributary.next_attempt': ctx.attempt + 1 };
    const span = this.#telemetry.tracer.startSpan('retry.backoff', { startTime: spanTime(startedAt), attributes }, call.parent);
    span.end(spanTime(startedAt + ms));
  }

  budgetExhausted(_ctx: CallContext, kind: 'retry' | 'hedge'): void {
    if (this.#telemetry.metrics) this.#telemetry.budgetExhausted.add(1, { ...upstreamLabel(this.#call), 'tributary.kind': kind });
    this.#callSpan?.addEvent('retry_budget_exhausted', { 'tributary.kind': kind }, spanTime());
  }

  hedge(_ctx: CallContext, attempt: number): void {
    if (this.#telemetry.metrics) this.#telemetry.hedges.add(1, upstreamLabel(this.#call));
    this.#callSpan?.addEvent('hedge', { 'tributary.attempt': attempt }, spanTime());
  }

  breakerRefused(_ctx: CallContext, message: string): void {
    if (this.#telemetry.metrics) this.#telemetry.breakerRejections.add(1, upstreamLabel(this.#call));
    this.#callSpan?.addEvent('circuit_open', { 'tributary.message': message }, spanTime());
  }

  cache(_ctx: CallContext, status: CacheStatus): void {
    const call = this.#call;
    if (this.#telemetry.metrics) this.#telemetry.cacheLookups.add(1, { ...upstreamLabel(call), 'tributary.cache': status });
    // An element's status is an event on the call's span; a whole call's is its attribute.
    if (call.item === undefined) this.#callSpan?.setAttribute('tributary.cache', status);
    else if (call.spans) this.#callSpan?.addEvent('cache', { 'tributary.cache': status, ...itemLabel(call) }, spanTime());
  }
}

const upstreamLabel = (call: ObservedCall): Attributes => ({ 'upstream.name': call.upstream.name });
const itemLabel = (call: ObservedCall): Attributes => (call.item === undefined ? {} : { 'tributary.item': call.item });

const ignoreResult = (): void => {};

/**
 * With neither spans nor metrics recorded (no SDK, or a request its sampler left out), all a call
 * owes telemetry is the request's trace context on every attempt (`traceparent`: the caller's, or
 * the unsampled SERVER span's, so the upstreams' own traces keep to the caller's decision).
 * One small object per call, no closures, no label sets.
 */
class TraceContextOnly implements CallObserver {
  readonly #parent: Context;
  readonly #upstream: CompiledUpstream;

  constructor(parent: Context, upstream: CompiledUpstream) {
    this.#parent = parent;
    this.#upstream = upstream;
  }

  attempt(_ctx: CallContext, headers: Record<string, string>): (result: CallResult) => void {
    propagation.inject(forwardable(this.#parent, this.#upstream), headers);
    return ignoreResult;
  }

  wait(): void {}
  backoff(): void {}
  budgetExhausted(): void {}
  hedge(): void {}
  breakerRefused(): void {}
  cache(): void {}
}

/**
 * The context to inject into an upstream request: always the current span (`traceparent`), but
 * the client's `tracestate` and `baggage` (which the propagator extracted into the request's
 * context) only for an upstream whose `forwardHeaders` names them. A client's baggage may carry
 * anything (user ids, tokens), and an upstream must not receive it unless the config says so.
 */
function forwardable(ctx: Context, upstream: CompiledUpstream): Context {
  let out = ctx;
  if (!upstream.forwardHeaders.has('baggage') && propagation.getBaggage(out)) out = propagation.deleteBaggage(out);
  const spanContext = upstream.forwardHeaders.has('tracestate') ? undefined : trace.getSpanContext(out);
  if (spanContext?.traceState) {
    // Field by field: what `traceparent` needs, without the id bytes our own contexts also carry.
    const { traceId, spanId, traceFlags, isRemote } = spanContext;
    out = trace.setSpanContext(out, { traceId, spanId, traceFlags, ...(isRemote === undefined ? {} : { isRemote }) });
  }
  return out;
}

/**
 * `http.client.request.duration` labels: the semantic conventions' method, server, status and
 * `error.type` (a status code or Tributary's error code), plus the upstream's name.
 */
function clientLabels(method: string, upstream: CompiledUpstream, result: CallResult): Attributes {
  const labels: Attributes = {
    'http.request.method': method,
    'server.address': upstream.address,
    'server.port': upstream.port,
    'upstream.name': upstream.name,
  };
  if (result.status !== undefined) labels['http.response.status_code'] = result.status;
  if (!result.ok) labels['error.type'] = errorType(result.error);
  return labels;
}
