import {
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context as TraceContext,
  type Span,
  type SpanContext,
  type TextMapGetter,
} from '@opentelemetry/api';
import type { Context } from 'hono';
import { EMPTY_CONTEXT } from '../services/tracing/context.ts';
import { addAnswerHeader } from './answer-headers.ts';
import type { AppEnv } from './errors.ts';
import type { RequestHook } from './request-frame.ts';

const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};

/** Methods the HTTP semantic conventions name; any other is `_OTHER`, so the label set stays closed. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

/**
 * The SERVER span of a request, named `METHOD route-pattern` (never the raw path), continuing
 * an inbound `traceparent`, and the `http.server.request.duration` metric of every request,
 * traced or not, both timed from the request's acceptance. The attributes samplers read
 * (method, scheme, address, port, path, client) are set at span start; route, status and request
 * id once the request is over. A sampled request's response carries `traceresponse` (W3C Trace
 * Context Level 2), so a frontend developer can find the trace of a slow request. Handlers set
 * `route`. The telemetry is the engine's (`c.get('engine')`): the process's on Node, the
 * request's own on Workers. Untraced, only the caller's trace context is kept, for the
 * upstreams' `traceparent`.
 *
 * @example
 * app.use('*', requestFrame([acceptedHook, engineHook, serverSpanHook, ...], { ...frameOptions, activeTrace }));
 */
export const serverSpanHook: RequestHook = {
  name: 'server span',
  enter(c) {
    const { telemetry } = c.get('engine');
    if (!telemetry.traces) {
      const { headers } = c.req.raw;
      const carries = headers.has('traceparent') || headers.has('baggage');
      c.set('traceContext', carries ? propagation.extract(EMPTY_CONTEXT, headers, headerGetter) : EMPTY_CONTEXT);
      return undefined;
    }
    const parent = propagation.extract(EMPTY_CONTEXT, c.req.raw.headers, headerGetter);
    const span = telemetry.tracer.startSpan(
      c.req.method,
      { kind: SpanKind.SERVER, startTime: acceptedAt(c), attributes: requestAttributes(c, knownMethod(c.req.method)) },
      parent,
    );
    const spanContext = span.spanContext();
    if (spanContext.traceFlags & TraceFlags.SAMPLED) addAnswerHeader(c, 'traceresponse', traceresponse(spanContext));
    c.set('traceContext', trace.setSpan(parent, span));
    return undefined;
  },
  done(c) {
    const { telemetry } = c.get('engine');
    const ended = performance.now();
    const method = knownMethod(c.req.method);
    const route = c.get('route');
    const status = c.res.status;
    if (telemetry.metrics) {
      telemetry.serverDuration.record((ended - acceptedAt(c)) / 1000, {
        'http.request.method': method,
        'http.response.status_code': status,
        ...(route ? { 'http.route': route } : {}),
        ...(status >= 500 ? { 'error.type': String(status) } : {}),
      });
    }
    if (!telemetry.traces) return;
    const span = trace.getSpan(c.get('traceContext'));
    if (!span) return;
    if (span.isRecording()) describeResponse(span, c, method, route, status);
    span.end(ended);
  },
};

/**
 * The trace context the rest of a traced request runs in (for the frame's `activeTrace`):
 * its SERVER span's; undefined when the engine does not trace.
 */
export function activeTrace(c: Context<AppEnv>): TraceContext | undefined {
  return c.get('engine').telemetry.traces ? c.get('traceContext') : undefined;
}

/** When the request was accepted (the frame's first hook); now, where no hook noted it. */
const acceptedAt = (c: Context<AppEnv>): number => c.get('acceptedAt') ?? performance.now();

const knownMethod = (method: string): string => (KNOWN_METHODS.has(method) ? method : '_OTHER');

/** `00-<trace id>-<span id>-<flags>`: the SERVER span, as the caller would name its child. */
function traceresponse(span: SpanContext): string {
  return `00-${span.traceId}-${span.spanId}-${(span.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * What is known before the handler runs, cheaply (no URL parsing: this runs for every request,
 * traced or not). `client.address` is the socket's peer, never a forwarding header a client
 * could write: on Node the socket @hono/node-server passes in `c.env.incoming`, on Workers the
 * platform's own `cf-connecting-ip` (trusted only when the request carries Cloudflare's `cf`).
 */
function requestAttributes(c: Context<AppEnv>, method: string): Attributes {
  const url = c.req.url;
  const schemeEnd = url.indexOf('://');
  const scheme = url.slice(0, schemeEnd);
  const pathStart = url.indexOf('/', schemeEnd + 3);
  const { address, port } = hostAndPort(url.slice(schemeEnd + 3, pathStart < 0 ? url.length : pathStart), scheme);
  const peer = peerOf(c);
  const agent = c.req.header('user-agent');
  // Field by field, in the order the spans have always listed them: no empty object spread per field.
  const attributes: Attributes = { 'http.request.method': method };
  if (method !== c.req.method) attributes['http.request.method_original'] = c.req.method;
  attributes['url.scheme'] = scheme;
  attributes['url.path'] = c.req.path;
  attributes['server.address'] = address;
  if (port !== undefined) attributes['server.port'] = port;
  if (peer.address) attributes['client.address'] = peer.address;
  if (peer.protocol) attributes['network.protocol.version'] = peer.protocol;
  if (agent) attributes['user_agent.original'] = agent;
  return attributes;
}

/** The last authority {@link hostAndPort} took apart: most requests name the same host. */
let lastHost = { authority: '', scheme: '', address: '', port: undefined as number | undefined };

/** `host:port` (or `[v6]:port`) of the request's authority, with the scheme's default port. */
function hostAndPort(authority: string, scheme: string): { address: string; port: number | undefined } {
  if (authority === lastHost.authority && scheme === lastHost.scheme) return lastHost;
  const colon = authority.lastIndexOf(':');
  const bracket = authority.lastIndexOf(']');
  const hasPort = colon > bracket;
  const host = hasPort ? authority.slice(0, colon) : authority;
  const address = host.startsWith('[') ? host.slice(1, -1) : host;
  const explicit = hasPort ? Number(authority.slice(colon + 1)) : Number.NaN;
  const port = Number.isInteger(explicit) ? explicit : scheme === 'https' ? 443 : scheme === 'http' ? 80 : undefined;
  lastHost = { authority, scheme, address, port };
  return lastHost;
}

interface NodeIncoming {
  socket?: { remoteAddress?: string };
  httpVersion?: string;
}

/** The peer address and HTTP version, from whatever the runtime gives; nothing from client-written headers. */
function peerOf(c: Context<AppEnv>): { address?: string | undefined; protocol?: string | undefined } {
  // @hono/node-server passes `{ incoming, outgoing }` as the env.
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
  if (incoming && typeof incoming === 'object') {
    return { address: incoming.socket?.remoteAddress, protocol: incoming.httpVersion === '2.0' ? '2' : incoming.httpVersion };
  }
  // Workers: `request.cf` exists only on requests that came through Cloudflare, which sets
  // cf-connecting-ip itself (a client cannot).
  const cf = (c.req.raw as Request & { cf?: { httpProtocol?: unknown } }).cf;
  if (cf && typeof cf === 'object') {
    const protocol = typeof cf.httpProtocol === 'string' ? cf.httpProtocol.replace(/^HTTP\//i, '') : undefined;
    return { address: c.req.header('cf-connecting-ip'), protocol: protocol === '2.0' ? '2' : protocol };
  }
  return {};
}

/** Route, status, request id and outcome, known only once the handler has answered. */
function describeResponse(span: Span, c: Context<AppEnv>, method: string, route: string | undefined, status: number): void {
  if (route) {
    span.setAttribute('http.route', route);
    span.updateName(`${method === '_OTHER' ? 'HTTP' : method} ${route}`);
  } else if (method === '_OTHER') {
    span.updateName('HTTP');
  }
  span.setAttribute('http.response.status_code', status);
  const requestId = c.get('requestId');
  if (requestId) span.setAttribute('tributary.request_id', requestId);
  if (status >= 500) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  if (c.req.raw.signal.aborted) span.setAttribute('tributary.cancelled', true);
}
