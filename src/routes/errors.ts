import type { Context, ErrorHandler, MiddlewareHandler, NotFoundHandler } from 'hono';

import type { Context as TraceContext } from '@opentelemetry/api';

export type AppEnv = {
  Variables: {
    requestId: string;
    /** The SERVER span's context, for the spans of this request. */
    traceContext: TraceContext;
    /** The matched route pattern, for span names and `http.route`. */
    route: string;
  };
};

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id` when it is a plain token, else a new UUID. */
export function requestIdOf(inbound: string | null | undefined): string {
  return inbound && SAFE_ID.test(inbound) ? inbound : crypto.randomUUID();
}

/**
 * Gives every request an id: the caller's `x-request-id` when it is a plain token, else a new
 * UUID. It is echoed in the response and named in 500 bodies and the server log.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async function requestIdMiddleware(c, next) {
    const id = requestIdOf(c.req.header('x-request-id'));
    c.set('requestId', id);
    c.header('x-request-id', id);
    await next();
  };
}

/** 400 body: names each offending field. */
export function invalidRequest(c: Context, issues: { field: string; message: string }[]): Response {
  return c.json({ error: { code: 'invalid_request', message: 'the request is invalid', issues } }, 400);
}

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404);

/** Logs the fault with the request id; the client gets the id and nothing else. */
export function onError(log: (message: string, error: unknown) => void): ErrorHandler<AppEnv> {
  return function handleError(error, c) {
    const id = c.get('requestId') ?? crypto.randomUUID();
    log(`request ${id} (${c.req.method} ${new URL(c.req.url).pathname}) failed`, error);
    return c.json({ error: { code: 'internal', message: 'internal error', requestId: id } }, 500, { 'x-request-id': id });
  };
}
