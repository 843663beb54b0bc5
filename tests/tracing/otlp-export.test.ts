/**
 * The real thing: the service started as a process the way the README says, exporting over
 * OTLP/HTTP to a receiver on loopback that this test runs, configured only by OTEL_* variables.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseTraceparent } from './in-memory-tracing.ts';
import {
  fastAndSlowConfig,
  startOtlpReceiver,
  startRecordingUpstream,
  startService,
  waitFor,
  type OtlpRequest,
  type ServiceProcess,
} from './service-process.ts';

/** OTLP JSON encoding (ids in hex, enums as numbers). */
interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number; message?: string };
}
interface OtlpTraces {
  resourceSpans: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans: { scope?: { name?: string }; spans: OtlpSpan[] }[] }[];
}

const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
const STATUS_ERROR = 2;

function attr(list: OtlpKeyValue[] | undefined, key: string): string | number | boolean | undefined {
  const v = list?.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.stringValue ?? v.boolValue ?? v.doubleValue;
}

/** Every span of every trace export, with its resource and scope. */
function decode(requests: OtlpRequest[]) {
  const spans: (OtlpSpan & { resource: OtlpKeyValue[]; scope: string | undefined })[] = [];
  for (const request of requests.filter((r) => r.path === '/v1/traces')) {
    expect(request.contentType).toMatch(/^application\/json/);
    for (const rs of (request.body as OtlpTraces).resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) spans.push({ ...span, resource: rs.resource?.attributes ?? [], scope: ss.scope?.name });
      }
    }
  }
  return spans;
}

const ROUTE = 'GET /v1/page/:id';

describe('OTLP/HTTP export from the Node process', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let service: ServiceProcess | undefined;

  beforeEach(async () => {
    receiver = await startOtlpReceiver();
    upstream = await startRecordingUpstream();
  });
  afterEach(async () => {
    await service?.stop('SIGKILL').catch(() => {});
    service = undefined;
    await receiver.close();
    await upstream.close();
  });

  // JSON, so the test can read the spans (the default, http/protobuf, has its own tests below).
  const otelEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'tributary-test',
    OTEL_METRICS_EXPORTER: 'none',
    ...extra,
  });

  it('exports the request trace on graceful shutdown: names, parents, the timeout as an error, service.name', async () => {
    // A schedule delay far beyond the test: whatever arrives was flushed by the shutdown.
    service = await startService(fastAndSlowConfig(upstream.url), otelEnv({ OTEL_BSP_SCHEDULE_DELAY: '60000' }));
    const res = await fetch(`${service.url}/v1/page/42?view=full`, { headers: { 'x-request-id': 'req-42' } });
    const body = (await res.json()) as { errors: { call: string; code: string }[] };
    expect(res.status).toBe(200);
    expect(body.errors.map((e) => [e.call, e.code])).toEqual([['extra', 'timeout']]);
    expect(receiver.requests.filter((r) => r.path === '/v1/traces')).toEqual([]);
    const traceresponse = res.headers.get('traceresponse');
    const port = Number(new URL(service.url).port);

    expect(await service.stop('SIGTERM')).toBe(0);
    service = undefined;
    // No metrics were asked for (OTEL_METRICS_EXPORTER=none).
    expect(receiver.requests.filter((r) => r.path === '/v1/metrics')).toEqual([]);

    const spans = decode(receiver.requests);
    const named = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(found, `spans named "${name}" among ${spans.map((s) => s.name).join(', ')}`).toHaveLength(1);
      return found[0] as (typeof spans)[number];
    };
    const server = named(ROUTE);
    expect(server.kind).toBe(KIND.SERVER);
    expect(server.parentSpanId ?? '').toBe('');
    expect(attr(server.attributes, 'http.route')).toBe('/v1/page/:id');
    expect(attr(server.attributes, 'http.response.status_code')).toBe(200);
    // Where the request came from and what it asked, from the socket: no query, no forwarding header.
    expect(attr(server.attributes, 'client.address')).toBe('127.0.0.1');
    expect(attr(server.attributes, 'server.address')).toBe('127.0.0.1');
    expect(attr(server.attributes, 'server.port')).toBe(port);
    expect(attr(server.attributes, 'network.protocol.version')).toBe('1.1');
    expect(attr(server.attributes, 'url.path')).toBe('/v1/page/42');
    expect(attr(server.attributes, 'tributary.request_id')).toBe('req-42');
    // The caller was told where to find the trace.
    expect(traceresponse).toBe(`00-${server.traceId}-${server.spanId}-01`);
    const traceId = server.traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(spans.every((s) => s.traceId === traceId)).toBe(true);

    const aggregate = named(`aggregate ${ROUTE}`);
    expect(aggregate.parentSpanId).toBe(server.spanId);
    const main = named('upstream main');
    const extra = named('upstream extra');
    expect(main.parentSpanId).toBe(aggregate.spanId);
    expect(extra.parentSpanId).toBe(aggregate.spanId);
    const clientOf = (parent: OtlpSpan) => {
      const found = spans.filter((s) => s.parentSpanId === parent.spanId && s.kind === KIND.CLIENT);
      expect(found).toHaveLength(1);
      return found[0] as (typeof spans)[number];
    };
    const mainClient = clientOf(main);
    const extraClient = clientOf(extra);
    expect(mainClient.name).toBe('GET');
    expect(attr(mainClient.attributes, 'http.response.status_code')).toBe(200);
    expect(attr(mainClient.attributes, 'server.address')).toBe('127.0.0.1');
    expect(attr(mainClient.attributes, 'url.full')).toBe(`${upstream.url}/fast/main/42`);
    expect(attr(mainClient.attributes, 'url.template')).toBe('/fast/main/{params.id}');

    // The timed-out call is an error, on its upstream span and its CLIENT span.
    expect(extra.status?.code).toBe(STATUS_ERROR);
    expect(attr(extra.attributes, 'error.type')).toBe('timeout');
    expect(extraClient.status?.code).toBe(STATUS_ERROR);
    expect(attr(extraClient.attributes, 'error.type')).toBe('timeout');
    expect(main.status?.code ?? 0).not.toBe(STATUS_ERROR);
    // Siblings overlap: extra started before main ended.
    expect(BigInt(extra.startTimeUnixNano)).toBeLessThan(BigInt(main.endTimeUnixNano));

    for (const span of spans) {
      expect(attr(span.resource, 'service.name')).toBe('tributary-test');
      expect(span.scope).toBe('tributary');
    }
    expect(spans).toHaveLength(1 + 1 + 2 + 2);

    // The upstream saw the same trace, each request parented by the CLIENT span that sent it.
    const byPath = new Map(upstream.received.map((r) => [r.path, parseTraceparent(r.traceparent)]));
    expect(byPath.get('/fast/main/42')).toEqual({ traceId, parentId: mainClient.spanId, flags: '01' });
    expect(byPath.get('/slow/extra/42')).toEqual({ traceId, parentId: extraClient.spanId, flags: '01' });
  });

  it('honours OTEL_BSP_SCHEDULE_DELAY: spans reach the collector without waiting for shutdown', async () => {
    service = await startService(fastAndSlowConfig(upstream.url), otelEnv({ OTEL_BSP_SCHEDULE_DELAY: '100' }));
    const res = await fetch(`${service.url}/v1/page/7`);
    await res.arrayBuffer();
    // 100 ms delay: well within 3 s. The SDK's default (5 s) would miss it.
    const spans = await waitFor(
      'spans exported by the batch processor on its schedule',
      () => {
        const found = decode(receiver.requests);
        return found.some((s) => s.name === ROUTE) ? found : undefined;
      },
      3000,
    );
    expect(spans.some((s) => s.name === 'upstream extra')).toBe(true);
  });

  it('honours OTEL_TRACES_SAMPLER=always_off: nothing exported, upstreams still get an unsampled traceparent', async () => {
    service = await startService(fastAndSlowConfig(upstream.url), otelEnv({ OTEL_TRACES_SAMPLER: 'always_off' }));
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const res = await fetch(`${service.url}/v1/page/9`, { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-00` } });
    await res.arrayBuffer();
    expect(await service.stop('SIGTERM')).toBe(0);
    service = undefined;
    expect(decode(receiver.requests)).toEqual([]);
    const sent = parseTraceparent(upstream.received.find((r) => r.path === '/fast/main/9')?.traceparent);
    expect(sent?.traceId).toBe(traceId);
    expect(sent?.flags).toBe('00');
  });

  it('with no OTEL configuration, an inbound traceparent still reaches the upstreams', async () => {
    service = await startService(fastAndSlowConfig(upstream.url), {});
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${service.url}/v1/page/7`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await res.arrayBuffer();
    expect(await service.stop('SIGTERM')).toBe(0);
    service = undefined;
    const sent = parseTraceparent(upstream.received.find((r) => r.path === '/fast/main/7')?.traceparent);
    expect(sent?.traceId).toBe(traceId);
    expect(decode(receiver.requests)).toEqual([]);
  });

  describe('OTEL_EXPORTER_OTLP_PROTOCOL, for traces and metrics alike', () => {
    const exportsOf = (path: string) => receiver.requests.filter((r) => r.path === path);
    /** Both signals on a short schedule, the protocol variables as given. */
    const bothSignals = (protocol: Record<string, string>): Record<string, string> => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      OTEL_METRIC_EXPORT_INTERVAL: '100',
      ...protocol,
    });
    async function oneRequestAndBothExports(env: Record<string, string>): Promise<{ traces: OtlpRequest; metrics: OtlpRequest }> {
      service = await startService(fastAndSlowConfig(upstream.url), env);
      await (await fetch(`${service.url}/v1/page/1`)).arrayBuffer();
      // The first metric export may come before the request: wait for one that has it.
      return waitFor('a trace export and a metric export with the request in it', () => {
        const traces = exportsOf('/v1/traces').find((r) => bytes(r).includes('GET /v1/page/:id'));
        const metrics = exportsOf('/v1/metrics').find((r) => bytes(r).includes('http.server.request.duration'));
        return traces && metrics ? { traces, metrics } : undefined;
      });
    }
    const bytes = (r: OtlpRequest): string => (Buffer.isBuffer(r.body) ? r.body.toString('latin1') : JSON.stringify(r.body));

    it('unset: both signals are sent as http/protobuf, the specification default', async () => {
      const { traces, metrics } = await oneRequestAndBothExports(bothSignals({}));
      expect(traces.contentType).toBe('application/x-protobuf');
      expect(metrics.contentType).toBe('application/x-protobuf');
      // Protobuf strings are plain bytes: the span and metric names are in there.
      expect(bytes(traces)).toContain('GET /v1/page/:id');
      expect(bytes(metrics)).toContain('http.client.request.duration');
      expect(service?.stderr()).not.toMatch(/not supported/);
    });

    it('http/json: both signals as JSON, the HTTP metrics among them, in seconds', async () => {
      const { traces, metrics } = await oneRequestAndBothExports(bothSignals({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }));
      expect(traces.contentType).toMatch(/^application\/json/);
      expect(metrics.contentType).toMatch(/^application\/json/);
      const names = JSON.stringify(metrics.body);
      for (const name of ['http.server.request.duration', 'http.client.request.duration', 'tributary.upstream.duration']) expect(names).toContain(name);
      expect(names).toMatch(/"name":"http\.server\.request\.duration","description":"[^"]*","unit":"s"/);
    });

    it('the per-signal variables win over the shared one', async () => {
      const { traces, metrics } = await oneRequestAndBothExports(
        bothSignals({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf' }),
      );
      expect(traces.contentType).toMatch(/^application\/json/);
      expect(metrics.contentType).toBe('application/x-protobuf');
    });

    it('grpc (not supported): one line that names the variable, and http/protobuf instead', async () => {
      const { traces, metrics } = await oneRequestAndBothExports(bothSignals({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }));
      expect(traces.contentType).toBe('application/x-protobuf');
      expect(metrics.contentType).toBe('application/x-protobuf');
      const lines = (service?.stderr() ?? '').split('\n').filter((l) => l.includes('OTEL_EXPORTER_OTLP_PROTOCOL'));
      expect(lines).toEqual([
        'tributary: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported (use http/protobuf or http/json); traces and metrics are sent as http/protobuf',
      ]);
    });
  });
});
