import { propagation, SpanKind, trace, type Context } from '@opentelemetry/api';
import type { WaitReport } from '../lib/semaphore.ts';
import { endWithFailure, recordWait, redactUrl, type Telemetry } from './telemetry.ts';
import type { CallObserver, CallResult } from './upstream/types.ts';

export interface ObservedCall {
  upstream: string;
  /** The `upstream <call>` span's context: attempts, waits and backoffs hang under it. */
  parent: Context;
  /** False for `each` elements past the span cap: send the traceparent, record no spans. */
  spans: boolean;
  item?: number;
}

/**
 * The call path's events turned into spans and metrics: a CLIENT span per attempt (with
 * `http.request.resend_count` from the second on), a `semaphore.acquire` span per wait, a
 * `retry.backoff` span per sleep, span events for hedges, budget refusals and an open circuit.
 * Metrics are recorded for every event; spans only where `spans` is on. Metric attributes are a
 * closed set (upstream, semaphore); an element index goes on spans only.
 *
 * @example
 * const observer = callObserver(telemetry, { upstream: 'users', parent: callContext, spans: true });
 */
export function callObserver(telemetry: Telemetry, call: ObservedCall): CallObserver {
  const { tracer } = telemetry;
  const upstream = { 'upstream.name': call.upstream };
  const item = call.item === undefined ? {} : { 'tributary.item': call.item };
  const callSpan = trace.getSpan(call.parent);
  return {
    attempt(ctx, headers) {
      if (ctx.attempt > 0 && !ctx.noWait) telemetry.retries.add(1, upstream);
      const span = call.spans ? tracer.startSpan(ctx.request.method, { kind: SpanKind.CLIENT }, call.parent) : undefined;
      // Attributes cost URL parsing: only for a span that is recorded (not a no-op, not sampled out).
      if (span?.isRecording()) {
        const url = new URL(ctx.request.url);
        span.setAttributes({
          'http.request.method': ctx.request.method,
          'url.full': redactUrl(ctx.request.url),
          'server.address': url.hostname,
          'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
          ...upstream,
          ...(ctx.attempt > 0 ? { 'http.request.resend_count': ctx.attempt } : {}),
          ...(ctx.noWait ? { 'tributary.hedge': true } : {}),
          ...item,
        });
      }
      propagation.inject(span ? trace.setSpan(call.parent, span) : call.parent, headers);
      if (!span) return ignore;
      return (result: CallResult) => {
        if (result.status !== undefined) span.setAttribute('http.response.status_code', result.status);
        if (!result.ok) endWithFailure(span, result.error);
        span.end();
      };
    },
    wait(semaphore: 'request' | 'upstream', report: WaitReport) {
      const labels = { 'tributary.semaphore': semaphore, ...upstream };
      telemetry.semaphoreWait.record(report.waitMs / 1000, { ...labels, 'tributary.wait.outcome': report.outcome });
      if (call.spans) {
        recordWait(tracer, call.parent, report.startedAt, report.waitMs, { ...labels, ...item, 'tributary.wait.outcome': report.outcome });
      }
    },
    backoff(ctx, startedAt, ms) {
      if (!call.spans) return;
      const span = tracer.startSpan('retry.backoff', { startTime: startedAt, attributes: { ...upstream, ...item, 'tributary.backoff_ms': ms, 'tributary.next_attempt': ctx.attempt + 1 } }, call.parent);
      span.end(startedAt + ms);
    },
    budgetExhausted(_ctx, kind) {
      telemetry.budgetExhausted.add(1, { ...upstream, 'tributary.kind': kind });
      callSpan?.addEvent('retry_budget_exhausted', { 'tributary.kind': kind });
    },
    hedge(_ctx, attempt) {
      telemetry.hedges.add(1, upstream);
      callSpan?.addEvent('hedge', { 'tributary.attempt': attempt });
    },
    breakerRefused(_ctx, message) {
      telemetry.breakerRejections.add(1, upstream);
      callSpan?.addEvent('circuit_open', { 'tributary.message': message });
    },
  };
}

function ignore(): void {}
