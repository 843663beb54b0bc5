/**
 * Tracing on Workers, inside workerd: the Worker records a request's spans and POSTs them as
 * OTLP/HTTP JSON inside `ctx.waitUntil`, to a real receiver on loopback (run in Node by
 * tests/workers/otlp-receiver-setup.ts). The test waits for the waitUntil promises with
 * `waitOnExecutionContext` and reads back what the receiver got.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import type { ExecutionContext } from 'hono';
import { describe, expect, inject, it } from 'vitest';
import demoConfig from '../../src/worker/demo-config.ts';
import { createWorker, type WorkerEnv } from '../../src/worker/handler.ts';
import type { OtlpKeyValue, OtlpSpan, OtlpTraces } from '../../src/worker/otlp-json.ts';
import { eventually, executionContext, upstreamScope, type AggregateBody } from './helpers.ts';
import type { ReceivedExport } from './otlp-receiver.ts';

const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const STATUS_ERROR = 2;

/** A corner of the receiver for one test: its OTLP base URL and what arrived there. */
function collector(label: string) {
  const base = `${inject('otlpReceiverUrl')}/s/${label}-${crypto.randomUUID()}`;
  return {
    base,
    async received(): Promise<ReceivedExport[]> {
      const response = await fetch(`${base}/__received`);
      if (!response.ok) throw new Error(`__received answered ${response.status}`);
      return (await response.json()) as ReceivedExport[];
    },
  };
}

type DecodedSpan = OtlpSpan & { resource: OtlpKeyValue[]; scope: string };

function spansOf(exports: ReceivedExport[]): DecodedSpan[] {
  return exports.flatMap((e) =>
    (e.body as OtlpTraces).resourceSpans.flatMap((rs) =>
      rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ ...s, resource: rs.resource.attributes, scope: ss.scope.name }))),
    ),
  );
}

function attr(list: OtlpKeyValue[] | undefined, key: string): string | number | boolean | undefined {
  const v = list?.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? (v.doubleValue as number | undefined);
}

function one(spans: DecodedSpan[], name: string): DecodedSpan {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one span "${name}", found ${found.length} among: ${spans.map((s) => s.name).join(', ')}`);
  return found[0] as DecodedSpan;
}

function clientOf(spans: DecodedSpan[], parent: DecodedSpan): DecodedSpan {
  const found = spans.filter((s) => s.parentSpanId === parent.spanId && s.kind === KIND.CLIENT);
  if (found.length !== 1) throw new Error(`expected one CLIENT span under ${parent.name}, found ${found.length}`);
  return found[0] as DecodedSpan;
}

function parseTraceparent(value: unknown): { traceId: string; parentId: string; flags: string } | undefined {
  const m = typeof value === 'string' ? /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value) : null;
  return m ? { traceId: m[1] as string, parentId: m[2] as string, flags: m[3] as string } : undefined;
}

/**
 * A Worker over a test config, with its log captured. These tests read the spans, so they ask
 * for http/json unless a test sets a protocol itself (the default, http/protobuf, has its own test).
 */
function worker(config: unknown = demoConfig) {
  const logs: string[] = [];
  const real = createWorker(config, (message, error) => void logs.push(error === undefined ? message : `${message} ${String(error)}`), () => {});
  const handler = {
    fetch: (request: Request, env: WorkerEnv, ctx: ExecutionContext) =>
      real.fetch(request, { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', ...env }, ctx),
  };
  return { handler, logs };
}

async function readJson(response: Response): Promise<AggregateBody> {
  return (await response.json()) as AggregateBody;
}

const demoEnv = (): WorkerEnv => {
  const demo = inject('demoUpstreams');
  return { USERS_URL: demo.users, ORDERS_URL: demo.orders, RECS_URL: demo.recs, CATALOG_URL: demo.catalog };
};

/** Two calls on the loopback test upstream, which echoes the headers it got (traceparent among them). */
const echoConfig = {
  upstreams: { api: { baseUrl: '${API_URL}' } },
  endpoints: [
    {
      path: '/v1/page/:id',
      calls: {
        main: { upstream: 'api', path: '/json/main-{params.id}', required: true },
        side: { upstream: 'api', path: '/json/side-{params.id}' },
      },
    },
  ],
};

describe('trace export from the Worker (OTLP/HTTP JSON, ctx.waitUntil)', () => {
  it('the demo dashboard: the SERVER, aggregate, upstream and CLIENT spans reach the collector, the timed-out call as an error', async () => {
    const otlp = collector('dashboard');
    const { handler, logs } = worker();
    const env = {
      ...demoEnv(),
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base,
      OTEL_SERVICE_NAME: 'tributary-edge',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=k%3Dsecret-123, x-team = edge',
    };
    const ctx = createExecutionContext();
    const response = await handler.fetch(new Request('http://gateway.test/v1/dashboard/42'), env, ctx);
    const body = await readJson(response);
    expect(response.status).toBe(200);
    expect(body.errors.map((e) => [e.call, e.code])).toEqual([['recs', 'timeout']]);
    await waitOnExecutionContext(ctx);

    const received = await otlp.received();
    expect(received).toHaveLength(1);
    const sent = received[0] as ReceivedExport;
    expect(sent.path).toBe('/v1/traces');
    expect(sent.contentType).toMatch(/^application\/json/);
    expect(sent.headers['x-api-key']).toBe('k=secret-123');
    expect(sent.headers['x-team']).toBe('edge');

    const spans = spansOf(received);
    const server = one(spans, 'GET /v1/dashboard/:userId');
    expect(server.kind).toBe(KIND.SERVER);
    expect(server.parentSpanId ?? '').toBe('');
    expect(attr(server.attributes, 'http.route')).toBe('/v1/dashboard/:userId');
    expect(attr(server.attributes, 'http.response.status_code')).toBe(200);
    expect(server.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spans.every((s) => s.traceId === server.traceId)).toBe(true);

    const aggregate = one(spans, 'aggregate GET /v1/dashboard/:userId');
    expect(aggregate.kind).toBe(KIND.INTERNAL);
    expect(aggregate.parentSpanId).toBe(server.spanId);
    expect(attr(aggregate.attributes, 'tributary.complete')).toBe(false);
    const calls = ['profile', 'orders', 'recs'].map((name) => one(spans, `upstream ${name}`));
    for (const call of calls) {
      expect(call.parentSpanId).toBe(aggregate.spanId);
      const client = clientOf(spans, call);
      expect(client.name).toBe('GET');
      expect(attr(client.attributes, 'server.address')).toBe('127.0.0.1');
    }
    const [profile, , recs] = calls as [DecodedSpan, DecodedSpan, DecodedSpan];
    expect(attr(clientOf(spans, profile).attributes, 'http.response.status_code')).toBe(200);
    expect(profile.status.code).not.toBe(STATUS_ERROR);
    // The timed-out call: an error with error.type=timeout, on its upstream and its CLIENT span.
    expect(recs.status.code).toBe(STATUS_ERROR);
    expect(attr(recs.attributes, 'error.type')).toBe('timeout');
    const recsClient = clientOf(spans, recs);
    expect(recsClient.status.code).toBe(STATUS_ERROR);
    expect(attr(recsClient.attributes, 'error.type')).toBe('timeout');
    expect(spans).toHaveLength(1 + 1 + 3 + 3);

    // Wall-clock times in ns (workerd's clock moves only across I/O, so equal times are allowed).
    const ns = (t: string) => BigInt(t);
    const now = BigInt(Date.now()) * 1_000_000n;
    const hour = 3_600_000_000_000n;
    for (const span of spans) {
      expect(ns(span.startTimeUnixNano) <= ns(span.endTimeUnixNano)).toBe(true);
      expect(ns(span.startTimeUnixNano) > now - hour && ns(span.endTimeUnixNano) < now + hour).toBe(true);
      expect(ns(span.startTimeUnixNano) >= ns(server.startTimeUnixNano) && ns(span.endTimeUnixNano) <= ns(server.endTimeUnixNano)).toBe(true);
      expect(attr(span.resource, 'service.name')).toBe('tributary-edge');
      expect(span.scope).toBe('tributary');
    }
    // recs waited ~250 ms for its timeout: its span is visibly longer than profile's.
    expect(ns(recs.endTimeUnixNano) - ns(recs.startTimeUnixNano)).toBeGreaterThanOrEqual(200_000_000n);
    expect(logs).toEqual([]);
  });

  it('every upstream request carries a traceparent of the trace, parented by its CLIENT span; an inbound traceparent is continued', async () => {
    const otlp = collector('propagate');
    const up = upstreamScope('traceparent');
    const { handler } = worker(echoConfig);
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const ctx = createExecutionContext();
    const request = new Request('http://gateway.test/v1/page/7', { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    const response = await handler.fetch(request, { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base }, ctx);
    const body = await readJson(response);
    expect(response.status).toBe(200);
    await waitOnExecutionContext(ctx);

    const spans = spansOf(await otlp.received());
    const server = one(spans, 'GET /v1/page/:id');
    expect(server.traceId).toBe(traceId);
    expect(server.parentSpanId).toBe(callerSpan);
    for (const name of ['main', 'side']) {
      const client = clientOf(spans, one(spans, `upstream ${name}`));
      const seen = parseTraceparent(body.data[name].headers.traceparent);
      expect(seen, `traceparent the upstream got for ${name}`).toEqual({ traceId, parentId: client.spanId, flags: '01' });
    }
  });

  it('two requests at once: each export holds only its own trace (nothing shared between requests)', async () => {
    const otlp = collector('concurrent');
    const up = upstreamScope('concurrent');
    const { handler } = worker(echoConfig);
    const env = { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base };
    const contexts = [createExecutionContext(), createExecutionContext()];
    const responses = await Promise.all(
      contexts.map((ctx, i) => handler.fetch(new Request(`http://gateway.test/v1/page/${i}`), env, ctx)),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));

    const received = await otlp.received();
    expect(received).toHaveLength(2);
    const traces = received.map((r) => spansOf([r]));
    for (const spans of traces) {
      expect(spans).toHaveLength(1 + 1 + 2 + 2);
      expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    }
    expect(traces[0]?.[0]?.traceId).not.toBe(traces[1]?.[0]?.traceId);
    const paths = traces.map((spans) => attr(one(spans, 'GET /v1/page/:id').attributes, 'url.path')).sort();
    expect(paths).toEqual(['/v1/page/0', '/v1/page/1']);
  });

  it('the response does not wait for the export: it is out while the collector still holds its answer', async () => {
    const otlp = collector('hold');
    const up = upstreamScope('hold');
    const { handler, logs } = worker(echoConfig);
    const ctx = createExecutionContext();
    const env = { API_URL: up.base, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.base}/v1/traces?hold=400` };
    const response = await handler.fetch(new Request('http://gateway.test/v1/page/1'), env, ctx);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    // The export arrives, and is still unanswered: the response above did not wait for it.
    await eventually(async () => (await otlp.received()).length === 1, 1000, 10);
    expect((await otlp.received()).map((r) => r.answered)).toEqual([false]);
    await waitOnExecutionContext(ctx);
    expect((await otlp.received()).map((r) => r.answered)).toEqual([true]);
    expect(logs).toEqual([]);
  });
});

describe('what the spans say, and what the caller gets back', () => {
  it('a sampled request gets traceresponse: its trace id and SERVER span id; an unsampled one gets none', async () => {
    const otlp = collector('traceresponse');
    const up = upstreamScope('traceresponse');
    const { handler } = worker(echoConfig);
    const env = { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base };
    const ctx = createExecutionContext();
    const response = await handler.fetch(new Request('http://gateway.test/v1/page/11'), env, ctx);
    await response.arrayBuffer();
    await waitOnExecutionContext(ctx);
    const server = one(spansOf(await otlp.received()), 'GET /v1/page/:id');
    expect(response.headers.get('traceresponse')).toBe(`00-${server.traceId}-${server.spanId}-01`);

    const offCtx = createExecutionContext();
    const off = await handler.fetch(new Request('http://gateway.test/v1/page/12'), { ...env, OTEL_TRACES_SAMPLER: 'always_off' }, offCtx);
    await off.arrayBuffer();
    await waitOnExecutionContext(offCtx);
    expect(off.status).toBe(200);
    expect(off.headers.get('traceresponse')).toBeNull();
    // Without OTEL variables nothing is sampled here either.
    const plain = await handler.fetch(new Request('http://gateway.test/v1/page/13'), { API_URL: up.base }, createExecutionContext());
    await plain.arrayBuffer();
    expect(plain.headers.get('traceresponse')).toBeNull();
  });

  it('the SERVER span: address, port, path without the query, the request id; the client address and HTTP version from Cloudflare, not from a header', async () => {
    const otlp = collector('server-attributes');
    const up = upstreamScope('server-attributes');
    const { handler } = worker(echoConfig);
    const env = { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base };
    const send = async (request: Request) => {
      const ctx = createExecutionContext();
      const response = await handler.fetch(request, env, ctx);
      await response.arrayBuffer();
      await waitOnExecutionContext(ctx);
      return response;
    };
    // As Cloudflare delivers it: `request.cf`, and cf-connecting-ip set by the platform.
    const viaEdge = new Request('https://gateway.test/v1/page/14?token=abc', {
      headers: { 'cf-connecting-ip': '203.0.113.7', 'x-request-id': 'edge-14' },
      cf: { httpProtocol: 'HTTP/2' },
    } as RequestInit);
    const response = await send(viaEdge);
    expect(response.headers.get('x-request-id')).toBe('edge-14');
    // A request without `cf` (not through the edge): a client-written cf-connecting-ip means nothing.
    await send(new Request('http://gateway.test/v1/page/15', { headers: { 'cf-connecting-ip': '198.51.100.1', 'x-forwarded-for': '198.51.100.2' } }));

    const servers = spansOf(await otlp.received()).filter((s) => s.kind === KIND.SERVER);
    const edge = servers.find((s) => attr(s.attributes, 'url.path') === '/v1/page/14') as DecodedSpan;
    expect(attr(edge.attributes, 'server.address')).toBe('gateway.test');
    expect(attr(edge.attributes, 'server.port')).toBe(443);
    expect(attr(edge.attributes, 'url.scheme')).toBe('https');
    expect(attr(edge.attributes, 'tributary.request_id')).toBe('edge-14');
    expect(attr(edge.attributes, 'client.address')).toBe('203.0.113.7');
    expect(attr(edge.attributes, 'network.protocol.version')).toBe('2');
    expect(JSON.stringify(edge.attributes)).not.toContain('token=abc');
    const direct = servers.find((s) => attr(s.attributes, 'url.path') === '/v1/page/15') as DecodedSpan;
    expect(attr(direct.attributes, 'server.port')).toBe(80);
    expect(attr(direct.attributes, 'client.address')).toBeUndefined();
    expect(JSON.stringify(direct.attributes)).not.toMatch(/198\.51\.100/);
  });

  it('CLIENT spans carry url.template, the path template as written', async () => {
    const otlp = collector('url-template');
    const up = upstreamScope('url-template');
    const { handler } = worker(echoConfig);
    const ctx = createExecutionContext();
    await (await handler.fetch(new Request('http://gateway.test/v1/page/16'), { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base }, ctx)).arrayBuffer();
    await waitOnExecutionContext(ctx);
    const spans = spansOf(await otlp.received());
    const basePath = new URL(up.base).pathname.replace(/\/+$/, '');
    expect(attr(clientOf(spans, one(spans, 'upstream main')).attributes, 'url.template')).toBe(`${basePath}/json/main-{params.id}`);
    expect(attr(clientOf(spans, one(spans, 'upstream side')).attributes, 'url.template')).toBe(`${basePath}/json/side-{params.id}`);
  });
});

describe('OTEL_EXPORTER_OTLP_PROTOCOL on Workers', () => {
  it('unset: http/protobuf, as the specification says; http/json when asked', async () => {
    const up = upstreamScope('protocol');
    const logs: string[] = [];
    const plain = createWorker(echoConfig, (message) => void logs.push(message), () => {});
    const send = async (label: string, vars: WorkerEnv) => {
      const otlp = collector(label);
      const ctx = createExecutionContext();
      await (await plain.fetch(new Request('http://gateway.test/v1/page/20'), { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base, ...vars }, ctx)).arrayBuffer();
      await waitOnExecutionContext(ctx);
      const received = await otlp.received();
      expect(received).toHaveLength(1);
      return received[0] as ReceivedExport;
    };
    const protobuf = await send('protobuf', {});
    expect(protobuf.contentType).toBe('application/x-protobuf');
    // Protobuf strings are plain bytes: the span names are in the body.
    expect(String(protobuf.body)).toContain('GET /v1/page/:id');
    expect(String(protobuf.body)).toContain('upstream main');
    const json = await send('json', { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    expect(json.contentType).toMatch(/^application\/json/);
    expect(spansOf([json]).map((s) => s.name)).toContain('GET /v1/page/:id');
    const grpc = await send('grpc', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(grpc.contentType).toBe('application/x-protobuf');
    expect(logs).toEqual([
      'tributary: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported on Workers (use http/protobuf or http/json); traces are sent as http/protobuf',
    ]);
  });
});

describe('when nothing is exported', () => {
  it('no OTEL variables: no export is scheduled, and the inbound traceparent still reaches the upstreams', async () => {
    const up = upstreamScope('no-otel');
    const { handler, logs } = worker(echoConfig);
    const ctx = executionContext();
    let scheduled = 0;
    const counting = { ...ctx, waitUntil: (p: Promise<unknown>) => void (scheduled++, ctx.waitUntil(p)) };
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const inbound = `00-${traceId}-b7ad6b7169203331-01`;
    const request = new Request('http://gateway.test/v1/page/3', { headers: { traceparent: inbound } });
    // OTEL_SERVICE_NAME alone names a service but configures no endpoint.
    const response = await handler.fetch(request, { API_URL: up.base, OTEL_SERVICE_NAME: 'x' }, counting);
    const body = await readJson(response);
    expect(response.status).toBe(200);
    expect(scheduled).toBe(0);
    // No tracer records: the upstream gets the caller's own context, unchanged.
    expect(body.data.main.headers.traceparent).toBe(inbound);
    expect(parseTraceparent(body.data.side.headers.traceparent)?.traceId).toBe(traceId);
    expect(logs).toEqual([]);
  });

  it('without an inbound traceparent and without OTEL variables, upstreams get no traceparent', async () => {
    const up = upstreamScope('no-parent');
    const { handler } = worker(echoConfig);
    const response = await handler.fetch(new Request('http://gateway.test/v1/page/4'), { API_URL: up.base }, createExecutionContext());
    const body = await readJson(response);
    expect(response.status).toBe(200);
    expect(body.data.main.headers.traceparent).toBeUndefined();
  });

  it('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none switch the export off', async () => {
    const otlp = collector('disabled');
    const up = upstreamScope('disabled');
    const { handler, logs } = worker(echoConfig);
    for (const off of [{ OTEL_SDK_DISABLED: 'true' }, { OTEL_TRACES_EXPORTER: 'none' }]) {
      const ctx = createExecutionContext();
      const response = await handler.fetch(new Request('http://gateway.test/v1/page/5'), { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base, ...off }, ctx);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      await waitOnExecutionContext(ctx);
    }
    expect(await otlp.received()).toEqual([]);
    expect(logs).toEqual([]);
  });

  it('OTEL_TRACES_SAMPLER: always_off exports nothing and sends unsampled traceparents; parentbased_traceidratio=0 follows a sampled caller', async () => {
    const otlp = collector('sampler');
    const up = upstreamScope('sampler');
    const { handler } = worker(echoConfig);
    const base = { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base };
    const run = async (env: WorkerEnv, headers: Record<string, string> = {}) => {
      const ctx = createExecutionContext();
      const response = await handler.fetch(new Request('http://gateway.test/v1/page/6', { headers }), env, ctx);
      const body = await readJson(response);
      await waitOnExecutionContext(ctx);
      return body;
    };

    const off = await run({ ...base, OTEL_TRACES_SAMPLER: 'always_off' });
    expect(parseTraceparent(off.data.main.headers.traceparent)?.flags).toBe('00');
    expect(await otlp.received()).toEqual([]);

    const ratio = { ...base, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' };
    await run(ratio);
    expect(await otlp.received()).toEqual([]);
    const traceId = 'aaaabbbbccccddddeeeeffff00001111';
    await run(ratio, { traceparent: `00-${traceId}-1111222233334444-01` });
    const spans = spansOf(await otlp.received());
    expect(spans.length).toBeGreaterThan(0);
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);
  });
});

describe('a collector that fails', () => {
  it('unreachable: the response is the same, nothing throws, one log line per request that names no secret', async () => {
    const up = upstreamScope('unreachable');
    const { handler, logs } = worker(echoConfig);
    const env = {
      API_URL: up.base,
      OTEL_EXPORTER_OTLP_ENDPOINT: inject('closedUrl'),
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20do-not-log-me',
    };
    const plain = await readJson(await handler.fetch(new Request('http://gateway.test/v1/page/8'), { API_URL: up.base }, createExecutionContext()));
    const ctx = createExecutionContext();
    const response = await handler.fetch(new Request('http://gateway.test/v1/page/8'), env, ctx);
    expect(response.status).toBe(200);
    const traced = await readJson(response);
    expect(Object.keys(traced.data)).toEqual(Object.keys(plain.data));
    expect(traced.errors).toEqual([]);
    await expect(waitOnExecutionContext(ctx)).resolves.toBeUndefined();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(`trace export to ${inject('closedUrl')}/v1/traces failed`);
    expect(logs.join('\n')).not.toContain('do-not-log-me');
  });

  it('answering 500: logged once with the status, the query and headers of the endpoint left out', async () => {
    const otlp = collector('status');
    const up = upstreamScope('status');
    const { handler, logs } = worker(echoConfig);
    const env = {
      API_URL: up.base,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${otlp.base}/v1/traces?status=500&token=do-not-log-me`,
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-api-key=do-not-log-me-either',
    };
    const ctx = createExecutionContext();
    const response = await handler.fetch(new Request('http://gateway.test/v1/page/9'), env, ctx);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    await waitOnExecutionContext(ctx);
    expect(await otlp.received()).toHaveLength(1);
    expect(logs).toEqual([`tributary: trace export to ${otlp.base}/v1/traces failed: HTTP 500 (6 spans lost)`]);
  });

  it('variables it cannot use are logged once per isolate, not per request', async () => {
    const otlp = collector('problems');
    const up = upstreamScope('problems');
    const { handler, logs } = worker(echoConfig);
    const env = { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.base, OTEL_TRACES_SAMPLER: 'jaeger_remote', OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key' };
    for (let i = 0; i < 3; i++) {
      const ctx = createExecutionContext();
      await (await handler.fetch(new Request('http://gateway.test/v1/page/10'), env, ctx)).arrayBuffer();
      await waitOnExecutionContext(ctx);
    }
    expect(logs).toEqual([
      'tributary: OTEL_EXPORTER_OTLP_HEADERS: ignored what is not key=value (entry 1)',
      'tributary: OTEL_TRACES_SAMPLER=jaeger_remote is not supported (always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio); using parentbased_always_on',
    ]);
    // The default sampler still exports every request.
    expect(await otlp.received()).toHaveLength(3);
  });
});
