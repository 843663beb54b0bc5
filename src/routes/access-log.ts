import { trace, TraceFlags, type Context as TraceContext } from '@opentelemetry/api';
import type { CallError } from '../services/engine/index.ts';
import { sinceAccepted } from './admission.ts';
import { UNMATCHED_ROUTE, type AggregateOutcome } from './errors.ts';
import type { RequestHook } from './request-frame.ts';

/**
 * One access-log line. Only values Tributary chose or validated: the route pattern (never the
 * raw path, whose ids and query strings may be personal), no header value, no upstream URL,
 * no message text. The sink adds `level`, `time` and `msg`.
 */
export interface AccessLogEntry {
  requestId: string;
  /** The trace to look this request up in; only when its SERVER span is recorded and sampled. */
  traceId?: string;
  method: string;
  /** The matched route pattern, e.g. `/v1/dashboard/:userId`; {@link UNMATCHED_ROUTE} when none matched. */
  route: string;
  status: number;
  /** From the request's acceptance to the response being ready (a stream: to its last line), 0.1 ms. */
  durationMs: number;
  /** Only when an aggregate ran (not for 400, 404, /healthz). */
  complete?: boolean;
  /** Each failed call with its error code; left out when none failed. */
  failed?: AggregateOutcome['failed'];
}

export type AccessLogSink = (entry: AccessLogEntry) => void;

/**
 * The hook that hands one {@link AccessLogEntry} per request to `sink` once the request is over
 * (a stream: once its last line is written): pino on Node, `console.log` of the JSON on Workers.
 * Runtime-agnostic: it only reads what the other hooks and the routes put on the context
 * (`acceptedAt`, `requestId`, `traceContext`, `route`, `aggregate`), so it must come after the
 * hooks that set them, and before the SERVER span's (whose `done` ends the span it reads).
 *
 * @example
 * app.use('*', requestFrame([acceptedHook, ..., accessLogHook((entry) => console.log(JSON.stringify(entry)))], frameOptions));
 */
export function accessLogHook(sink: AccessLogSink): RequestHook {
  return {
    name: 'access log',
    done(c) {
      const aggregate = c.get('aggregate');
      const traceId = sampledTraceId(c.get('traceContext'));
      const requestId = c.get('requestId');
      const method = c.req.method;
      const route = c.get('route') ?? UNMATCHED_ROUTE;
      const status = c.res.status;
      const durationMs = Math.round((sinceAccepted(c) ?? 0) * 10) / 10;
      // In the order of the line, without spreads of optional parts: `traceId` after the id,
      // the aggregate's fields last.
      const entry: AccessLogEntry = traceId
        ? { requestId, traceId, method, route, status, durationMs }
        : { requestId, method, route, status, durationMs };
      if (aggregate) {
        entry.complete = aggregate.complete;
        if (aggregate.failed.length > 0) entry.failed = aggregate.failed;
      }
      sink(entry);
    },
  };
}

/**
 * The aggregate's outcome as the access log shows it: one entry per call and code, in the order
 * of `errors` (declaration order), with a count for `each` elements instead of one entry each.
 *
 * @example
 * outcomeOf(true, []); // { complete: true, failed: [] }
 */
export function outcomeOf(complete: boolean, errors: readonly CallError[]): AggregateOutcome {
  if (errors.length === 0) return { complete, failed: [] };
  const byKey = new Map<string, AggregateOutcome['failed'][number]>();
  for (const error of errors) {
    const key = `${error.call}\u0000${error.code}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { call: error.call, code: error.code });
    else seen.items = (seen.items ?? 1) + 1;
  }
  return { complete, failed: [...byKey.values()] };
}

function sampledTraceId(context: TraceContext | undefined): string | undefined {
  const span = context ? trace.getSpan(context) : undefined;
  if (!span?.isRecording()) return undefined;
  const { traceId, traceFlags } = span.spanContext();
  return traceFlags & TraceFlags.SAMPLED ? traceId : undefined;
}
