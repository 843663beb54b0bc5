import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './errors.ts';

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/**
 * The SERVER span of a request, named `METHOD route-pattern` (never the raw path), continuing
 * an inbound `traceparent`. Handlers set `route`; unmatched requests keep the bare method.
 */
export function serverSpan(tracer: Tracer): MiddlewareHandler<AppEnv> {
  return async function traceRequest(c, next) {
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    const span = tracer.startSpan(c.req.method, { kind: SpanKind.SERVER }, parent);
    // Attributes cost URL parsing: only for a span that is recorded (not a no-op, not sampled out).
    const recording = span.isRecording();
    if (recording) {
      const url = new URL(c.req.url);
      const agent = c.req.header('user-agent');
      span.setAttributes({
        'http.request.method': c.req.method,
        'url.path': url.pathname,
        'url.scheme': url.protocol.replace(':', ''),
        ...(agent ? { 'user_agent.original': agent } : {}),
      });
    }
    const ctx = trace.setSpan(parent, span);
    c.set('traceContext', ctx);
    try {
      await context.with(ctx, next);
    } finally {
      if (recording) describeResponse(span, c.req.method, c.get('route'), c.res.status, c.req.raw.signal.aborted);
      span.end();
    }
  };
}

/** Route, status and outcome, known only once the handler has answered. */
function describeResponse(span: Span, method: string, route: string | undefined, status: number, cancelled: boolean): void {
  if (route) {
    span.setAttribute('http.route', route);
    span.updateName(`${method} ${route}`);
  }
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  if (cancelled) span.setAttribute('tributary.cancelled', true);
}
