import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapGetter, type Tracer } from '@opentelemetry/api';
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
    const url = new URL(c.req.url);
    const span = tracer.startSpan(
      c.req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': c.req.method,
          'url.path': url.pathname,
          'url.scheme': url.protocol.replace(':', ''),
          ...(c.req.header('user-agent') ? { 'user_agent.original': c.req.header('user-agent') } : {}),
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    c.set('traceContext', ctx);
    try {
      await context.with(ctx, next);
    } finally {
      const route = c.get('route');
      if (route) {
        span.setAttribute('http.route', route);
        span.updateName(`${c.req.method} ${route}`);
      }
      const status = c.res.status;
      span.setAttribute('http.response.status_code', status);
      if (status >= 500) {
        span.setAttribute('error.type', String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      if (c.req.raw.signal.aborted) span.setAttribute('tributary.cancelled', true);
      span.end();
    }
  };
}
