import type { Context, Hono } from 'hono';
import { linkSignal, shareSignal } from '../lib/abort.ts';
import { isDeadlineError } from '../lib/errors.ts';
import { InvalidInputError, type AggregateResult } from '../services/engine/index.ts';
import { capIssues, zodIssues, type InputIssue } from '../services/input-schema.ts';
import type { ZodError } from '../services/zod.ts';
import { TooManySubrequestsError } from '../services/subrequests.ts';
import type { CompiledEndpoint } from '../services/plan/index.ts';
import { outcomeOf } from './access-log.ts';
import { answer } from './answer-headers.ts';
import { sinceAccepted } from './admission.ts';
import { clientClosedRequest, invalidRequest, refused, type AppEnv, type FaultLog } from './errors.ts';
import { noneMatch, weakEtag } from './etag.ts';
import { answerFormat } from './negotiate.ts';
import { announcesBody, readJsonBody } from './request-body.ts';
import { guarded, type RequestHook } from './request-frame.ts';
import { streamAggregate } from './stream.ts';
import { bodied, jsonBody } from './json-body.ts';
import type { Sha256 } from '../lib/sha256.ts';

export interface EndpointRouteOptions {
  /** Largest client request body accepted, bytes. */
  maxRequestBodyBytes: number;
  /** A caller sending this in `x-tributary-debug` gets per-call Server-Timing entries. */
  debugToken?: string | undefined;
  /**
   * Aborts (with a `deadline_exceeded` reason) when the server stops waiting for in-flight
   * requests: what still runs ends as if its deadline had passed, and is answered.
   */
  cutoff?: AbortSignal | undefined;
  /** Where a fault found after a stream's headers were sent, or in a guard's `done`, is logged. */
  log: FaultLog;
  /** Hooks run around each endpoint request only (load shedding, the routes in flight), outermost first. */
  guards?: (endpoint: CompiledEndpoint) => RequestHook[];
  /** Hashes the ETags of cacheable answers. Default WebCrypto's. */
  sha256?: Sha256 | undefined;
}

/**
 * One Hono route per compiled endpoint. Each request runs on the engine the context holds
 * (`c.get('engine')`): one per process on Node, one per request on Workers, so the routes are
 * built once either way.
 */
export function registerEndpoints(app: Hono<AppEnv>, endpoints: readonly CompiledEndpoint[], options: EndpointRouteOptions): void {
  // Every request in flight links its deadline to the cutoff: one listener each.
  if (options.cutoff) shareSignal(options.cutoff);
  for (const endpoint of endpoints) {
    const aggregate = async function aggregate(c: Context<AppEnv>): Promise<Response> {
      c.set('route', endpoint.path);
      const client = c.req.raw.signal;
      // Reading a body is the one wait the engine's deadline does not cover: the cutoff is linked in
      // here for it. The engine links the cutoff into the deadline itself.
      const bodyRead = endpoint.input.body && options.cutoff ? linkSignal(client, options.cutoff) : undefined;
      try {
        const reading = readInput(c, endpoint, options.maxRequestBodyBytes, bodyRead?.signal ?? client);
        const input = reading instanceof Promise ? await reading : reading;
        if ('answer' in input) return input.answer;
        if ('issues' in input) return invalidRequest(c, input.issues);
        let result: AggregateResult;
        try {
          // The deadline counts from acceptance (the frame's first hook), so reading the body spends it too.
          const request = {
            ...input.value,
            headers: c.req.raw.headers,
            elapsedMs: sinceAccepted(c),
            ...(options.cutoff ? { stop: options.cutoff } : {}),
          };
          const format = answerFormat(c.req.header('accept'));
          if (format !== 'json') {
            // The stream outlives this handler; it follows the client's signal, and the engine the cutoff.
            return await streamAggregate(c, endpoint, request, client, format, (r) => statusOf(r, endpoint), options.log);
          }
          result = await c.get('engine').run(endpoint, request, client, c.get('traceContext'));
        } catch (error) {
          if (error instanceof InvalidInputError) return invalidRequest(c, error.issues);
          if (error instanceof TooManySubrequestsError) return tooManySubrequests(c, error);
          throw error;
        }
        const answered = respond(c, endpoint, result, isTrusted(c.req.header('x-tributary-debug'), options.debugToken), options.sha256);
        return answered instanceof Promise ? await answered : answered;
      } finally {
        bodyRead?.dispose();
      }
    };
    app.on(endpoint.method, endpoint.path, guarded(options.guards?.(endpoint) ?? [], aggregate, options.log));
  }
}

/** 422: valid input, but more upstream requests than this deployment allows. Names the calls. */
function tooManySubrequests(c: Context<AppEnv>, error: TooManySubrequestsError): Response {
  // `attempts` only where retries or hedges multiply the count, so the body stays as it was without them.
  const calls = error.count.calls
    .filter((call) => call.count > 0)
    .map(({ call, count, rule, attempts }) => ({ call, count, rule, ...(attempts > 1 ? { attempts } : {}) }));
  const body = {
    error: { code: 'too_many_subrequests', message: error.message, subrequests: error.count.total, limit: error.limit, calls },
  };
  return c.json(body, 422, { 'cache-control': 'no-store' });
}

/**
 * DESIGN section 2: 200 unless a required call failed; 504 when that failure was time; the
 * `statusMap` status when the failed call maps the upstream status it got.
 */
export function statusOf(result: AggregateResult, endpoint?: CompiledEndpoint): number {
  const { failed } = result;
  if (!failed) return 200;
  if (failed.code === 'http_status' && endpoint) {
    const statusMap = endpoint.calls.find((call) => call.name === failed.call)?.statusMap;
    const upstream = result.errors.find((e) => e.call === failed.call && e.status !== undefined)?.status;
    const mapped = statusMap && upstream !== undefined ? statusMap.get(upstream) : undefined;
    if (mapped !== undefined) return mapped;
  }
  return failed.code === 'timeout' || failed.code === 'deadline_exceeded' ? 504 : 502;
}

const encoder = new TextEncoder();

/** The JSON answer: at once, or once its ETag is hashed for an endpoint with `cacheControl`. */
function respond(c: Context<AppEnv>, endpoint: CompiledEndpoint, result: AggregateResult, trusted: boolean, sha256: Sha256 | undefined): Response | Promise<Response> {
  // For the access log: the outcome travels on the context, the log line is written outside.
  c.set('aggregate', outcomeOf(result.complete, result.errors));
  const body = {
    data: result.data,
    errors: result.errors,
    meta: { complete: result.complete, durationMs: Math.round(result.durationMs), ...(result.cache ? { cache: result.cache } : {}) },
  };
  const status = statusOf(result, endpoint);
  // With its length in bytes, so compression can leave small answers alone.
  const { body: payload, bytes } = jsonBody(JSON.stringify(body));
  const headers: Record<string, string> = {
    'x-aggregate-complete': String(result.complete),
    'server-timing': serverTiming(result, trusted),
    'cache-control': 'no-store',
    vary: 'accept',
  };
  // Only a complete 200 may be cached: a partial answer is not what the next caller should get.
  // The ETag covers `data` (errors are none, meta.complete is true): `durationMs` differs every
  // time, and a weak validator says "the same content", not "the same bytes".
  const { cacheControl } = endpoint;
  if (cacheControl && status === 200 && result.complete) {
    return weakEtag(encoder.encode(JSON.stringify(result.data)), sha256).then((etag) => {
      headers['cache-control'] = cacheControl;
      headers.etag = etag;
      if (noneMatch(c.req.header('if-none-match'), etag)) return answer(c, null, 304, headers);
      return withBody(c, payload, bytes, status, headers);
    });
  }
  return withBody(c, payload, bytes, status, headers);
}

function withBody(c: Context<AppEnv>, payload: string | Uint8Array<ArrayBuffer>, bytes: number, status: number, headers: Record<string, string>): Response {
  headers['content-type'] = 'application/json';
  headers['content-length'] = String(bytes);
  return bodied(answer(c, payload, status, headers), payload);
}

type Parsed =
  | { value: { params: Record<string, unknown>; query: Record<string, unknown>; body?: Record<string, unknown> } }
  | { issues: InputIssue[] }
  /** Answered without running the endpoint: a body refused, or the request stopped while its body arrived. */
  | { answer: Response };

/**
 * The request's input, checked. At once for an endpoint without a body (no promise, no turn);
 * after the body has been read for one with.
 */
function readInput(c: Context<AppEnv>, endpoint: CompiledEndpoint, maxBodyBytes: number, signal: AbortSignal): Parsed | Promise<Parsed> {
  const issues: InputIssue[] = [];
  // Counted, not spread: a user-sized list must never become function arguments.
  let total = 0;
  const add = (error: ZodError, prefix: string): void => {
    total += error.issues.length;
    for (const issue of zodIssues(error, prefix)) issues.push(issue);
  };
  const bodyIssue = (message: string): void => {
    total++;
    issues.push({ field: 'body', message });
  };
  // An endpoint that declares no body never reads one: refused from the headers alone, and the
  // connection closed rather than the body drained.
  const bodyFields = endpoint.input.body;
  if (!bodyFields && announcesBody(c.req.raw.headers)) {
    return { answer: invalidRequest(c, [{ field: 'body', message: `${endpoint.method} ${endpoint.path} takes no request body` }], { connection: 'close' }) };
  }
  const params = endpoint.input.params.safeParse(c.req.param());
  if (!params.success) add(params.error, 'params');

  const raw: Record<string, unknown> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    // `?ids=1,2,3` and `?ids=1&ids=2` both make a list; a scalar takes its first value.
    raw[name] = endpoint.input.arrayQuery.has(name)
      ? values.flatMap((v) => v.split(',')).filter((v) => v !== '')
      : values[0];
  }
  const query = endpoint.input.query.safeParse(raw);
  if (!query.success) add(query.error, 'query');

  const parsed = (body: Record<string, unknown> | undefined): Parsed => {
    if (issues.length > 0 || !params.success || !query.success) return { issues: capIssues(issues, total) };
    return {
      value: {
        params: params.data as Record<string, unknown>,
        query: query.data as Record<string, unknown>,
        ...(body ? { body } : {}),
      },
    };
  };
  if (!bodyFields) return parsed(undefined);
  return readJsonBody(c, maxBodyBytes, signal).then((read): Parsed => {
    switch (read.kind) {
      case 'refused':
        // The rest of the body is not read: the connection closes after the answer.
        return { answer: refused(c, read.status, read.code, read.message) };
      case 'stopped':
        return { answer: stopped(c, read.reason) };
      case 'empty':
        bodyIssue('is required: a JSON object');
        return parsed(undefined);
      case 'invalid':
        bodyIssue('is not valid JSON');
        return parsed(undefined);
      case 'json': {
        if (read.value === null || typeof read.value !== 'object' || Array.isArray(read.value)) {
          bodyIssue('must be a JSON object');
          return parsed(undefined);
        }
        const body = bodyFields.safeParse(read.value);
        if (body.success) return parsed(body.data as Record<string, unknown>);
        add(body.error, 'body');
        return parsed(undefined);
      }
    }
  });
}

/**
 * The body stopped arriving: the server's grace period ended (504, the request ran out of time)
 * or the client went away mid-upload (499, nobody reads it; not a fault).
 */
function stopped(c: Context<AppEnv>, reason: unknown): Response {
  if (isDeadlineError(reason)) {
    return c.json({ error: { code: 'deadline_exceeded', message: reason.message } }, 504, { connection: 'close', 'cache-control': 'no-store' });
  }
  return clientClosedRequest(c);
}

/**
 * `total` and `fanout` for everyone. Per-call durations and waits (which name the calls and
 * upstreams) only for a caller that sent the operator's debug token.
 */
export function serverTiming(result: AggregateResult, trusted: boolean): string {
  const everyone = `total;dur=${result.durationMs.toFixed(1)}, fanout;dur=${result.fanoutMs.toFixed(1)}`;
  if (!trusted) return everyone;
  const entries = [everyone];
  const byCall = new Map<string, { upstream: string; dur: number; wait: number; n: number }>();
  for (const r of result.reports) {
    const entry = byCall.get(r.call) ?? { upstream: r.upstream, dur: 0, wait: 0, n: 0 };
    // For `each`, the slowest element is the one that kept the response waiting.
    entry.dur = Math.max(entry.dur, r.durationMs);
    entry.wait = Math.max(entry.wait, r.waitMs);
    entry.n++;
    byCall.set(r.call, entry);
  }
  for (const [call, e] of byCall) {
    const desc = e.n > 1 ? `${e.upstream} x${e.n}` : e.upstream;
    entries.push(`call_${call};dur=${e.dur.toFixed(1)};desc="${desc}"`, `wait_${call};dur=${e.wait.toFixed(1)}`);
  }
  return entries.join(', ');
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
function isTrusted(sent: string | undefined, token: string | undefined): boolean {
  if (!token || sent === undefined || sent.length !== token.length) return false;
  let diff = 0;
  for (let i = 0; i < token.length; i++) diff |= sent.charCodeAt(i) ^ token.charCodeAt(i);
  return diff === 0;
}
