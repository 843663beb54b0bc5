import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import type { UnofficialStatusCode } from 'hono/utils/http-status';

import type { Context as TraceContext } from '@opentelemetry/api';
import type { Engine } from '../services/engine/index.ts';
import type { ErrorCode } from '../lib/errors.ts';
import { addAnswerHeader } from './answer-headers.ts';
import { randomUuid } from '../lib/random.ts';
import type { RequestHook } from './request-frame.ts';

/** What the access log says of an aggregate: set by the endpoint route once it has a result. */
export interface AggregateOutcome {
  complete: boolean;
  /** One entry per failed call and error code, in declaration order; `items` when several elements of an `each` failed so. */
  failed: { call: string; code: ErrorCode; items?: number }[];
}

export type AppEnv = {
  Variables: {
    requestId: string;
    /** The SERVER span's context, for the spans of this request. */
    traceContext: TraceContext;
    /** The matched route pattern, for span names, `http.route` and the access log. */
    route: string;
    /** The engine that runs this request: the process's on Node, the request's own on Workers. */
    engine: Engine;
    /** Set by the endpoint route when an aggregate ran. */
    aggregate: AggregateOutcome;
    /** `performance.now()` when the request frame's first hook saw the request: the deadline counts from it. */
    acceptedAt: number;
    /** Set by a streamed answer: settles once its last line is written (or the client left). */
    streamEnded: Promise<void>;
    /** Headers every answer to this request carries (`answer-headers.ts`): its id, its `traceresponse`. */
    answerHeaders: Record<string, string>;
    /** The answer `answer()` built with those headers already on it, if any. */
    carriedAnswer: Response;
  };
};

/** Where an internal fault is reported: once, with the request id, the method and the route pattern. */
export type FaultLog = (message: string, error: unknown, fields?: FaultFields) => void;

export interface FaultFields {
  requestId: string;
  method: string;
  /** The route pattern, or {@link UNMATCHED_ROUTE}: never the raw path, which carries ids. */
  route: string;
}

/** The `route` of a request that matched no route (404, CORS preflight): one fixed value, so logs and metrics stay low-cardinality. */
export const UNMATCHED_ROUTE = '(unmatched)';

/**
 * Reports a fault that leaves the request's answer as it is (a hook after the answer, a
 * compression that failed): `request <id> (<METHOD> <route>): <what>`, with the same fields.
 *
 * @example
 * logRequestFault(log, c, 'access log failed after the answer', error);
 */
export function logRequestFault(log: FaultLog, c: Context<AppEnv>, what: string, error: unknown): void {
  const requestId = c.get('requestId') ?? '';
  const route = c.get('route') ?? UNMATCHED_ROUTE;
  log(`request ${requestId} (${c.req.method} ${route}): ${what}`, error, { requestId, method: c.req.method, route });
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `x-request-id` when it is a plain token, else a new UUID. */
export function requestIdOf(inbound: string | null | undefined): string {
  return inbound && SAFE_ID.test(inbound) ? inbound : randomUuid();
}

/**
 * Gives every request an id: the caller's `x-request-id` when it is a plain token, else a new
 * UUID. It is echoed in the response and named in 500 bodies and the server log.
 */
export const requestIdHook: RequestHook = {
  name: 'request id',
  enter(c) {
    const id = requestIdOf(c.req.header('x-request-id'));
    c.set('requestId', id);
    addAnswerHeader(c, 'x-request-id', id);
    return undefined;
  },
};

/** 400 body: names each offending field. */
export function invalidRequest(c: Context, issues: { field: string; message: string }[], headers?: Record<string, string>): Response {
  return c.json({ error: { code: 'invalid_request', message: 'the request is invalid', issues } }, 400, headers);
}

/**
 * A body refused before it was read (413 too large, 415 not JSON). The connection closes after
 * the answer, so the unread rest of the body is not drained.
 */
export function refused(c: Context, status: 413 | 415, code: string, message: string): Response {
  return c.json({ error: { code, message } }, status, { connection: 'close', 'cache-control': 'no-store' });
}

/**
 * The client went away before its request could be answered (mid-upload): 499, as nginx logs it.
 * Nobody receives it; it keeps the access log and the metrics from counting a fault.
 */
export function clientClosedRequest(c: Context): Response {
  return c.body(null, 499 as UnofficialStatusCode);
}

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404);

/**
 * Logs the fault once, with the request id and the route pattern (not the raw path, which
 * carries ids); the client gets the id and nothing else.
 */
export function onError(log: FaultLog): ErrorHandler<AppEnv> {
  return function handleError(error, c) {
    const id = c.get('requestId') ?? randomUuid();
    const route = c.get('route') ?? UNMATCHED_ROUTE;
    log(`request ${id} (${c.req.method} ${route}) failed`, error, { requestId: id, method: c.req.method, route });
    return c.json({ error: { code: 'internal', message: 'internal error', requestId: id } }, 500, { 'x-request-id': id });
  };
}
