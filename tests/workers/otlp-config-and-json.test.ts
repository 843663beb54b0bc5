/**
 * The two small pieces of Workers tracing on their own: reading the OTEL_* variables, and the
 * OTLP/HTTP JSON encoding of spans (checked against real SDK spans, ended by a real provider).
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { nanos, toOtlpTraces } from '../../src/worker/otlp-json.ts';
import { parseTracingConfig } from '../../src/worker/tracing-config.ts';

describe('parseTracingConfig (OTEL_* variables)', () => {
  it('no endpoint: nothing to export, and nothing to complain about', () => {
    expect(parseTracingConfig({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_SAMPLER: 'always_on' })).toEqual({ config: undefined, problems: [] });
  });

  it('OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/traces; the traces endpoint is used as given and wins', () => {
    expect(parseTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/' }).config?.url).toBe('https://otlp.example.com/v1/traces');
    expect(parseTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com/otlp' }).config?.url).toBe('https://otlp.example.com/otlp/v1/traces');
    const both = parseTracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://a.example.com',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b.example.com/api/traces?key=s3cret',
    }).config;
    expect(both?.url).toBe('https://b.example.com/api/traces?key=s3cret');
    expect(both?.shownUrl).toBe('https://b.example.com/api/traces');
  });

  it('headers: percent-decoded, traces headers over general ones; a bad entry is reported by position, not content', () => {
    const { config, problems } = parseTracingConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Basic%20dXNlcjpwYXNz, x-team=a, secret-without-equals',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=b',
    });
    expect(config?.headers).toEqual({ authorization: 'Basic dXNlcjpwYXNz', 'x-team': 'b' });
    expect(problems).toEqual(['OTEL_EXPORTER_OTLP_HEADERS: ignored what is not key=value (entry 3)']);
  });

  it('service.name: OTEL_SERVICE_NAME, else OTEL_RESOURCE_ATTRIBUTES, else tributary', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(parseTracingConfig(endpoint).config?.resource['service.name']).toBe('tributary');
    const fromAttrs = parseTracingConfig({ ...endpoint, OTEL_RESOURCE_ATTRIBUTES: 'service.name=edge,deployment.environment.name=prod' }).config;
    expect(fromAttrs?.resource).toMatchObject({ 'service.name': 'edge', 'deployment.environment.name': 'prod' });
    expect(parseTracingConfig({ ...endpoint, OTEL_SERVICE_NAME: 'gw', OTEL_RESOURCE_ATTRIBUTES: 'service.name=edge' }).config?.resource['service.name']).toBe('gw');
  });

  it('switched off, or asked for what Workers cannot do', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com' };
    expect(parseTracingConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).config).toBeUndefined();
    expect(parseTracingConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).toEqual({ config: undefined, problems: [] });
    const console = parseTracingConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'console' });
    expect(console.config).toBeUndefined();
    expect(console.problems[0]).toContain('OTEL_TRACES_EXPORTER=console is not supported on Workers');
    const bad = parseTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'otlp.example.com:4318' });
    expect(bad.config).toBeUndefined();
    expect(bad.problems[0]).toContain('not an http(s) URL');
    const grpc = parseTracingConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(grpc.config?.protocol).toBe('http/protobuf');
    expect(grpc.problems).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported on Workers (use http/protobuf or http/json); traces are sent as http/protobuf',
    ]);
  });

  it('protocol: http/protobuf by default; the traces variable over the shared one', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com' };
    const protocol = (vars: Record<string, string>) => parseTracingConfig({ ...endpoint, ...vars });
    expect(protocol({})).toMatchObject({ config: { protocol: 'http/protobuf' }, problems: [] });
    expect(protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).config?.protocol).toBe('http/json');
    expect(protocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }).config?.protocol).toBe('http/protobuf');
    expect(protocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ' http/json ' }).config?.protocol).toBe('http/json');
    expect(protocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }).problems[0]).toMatch(/^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc is not supported/);
  });

  it('samplers: the standard names, with OTEL_TRACES_SAMPLER_ARG for the ratio', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otlp.example.com' };
    const described = (vars: Record<string, string>) => parseTracingConfig({ ...endpoint, ...vars }).config?.sampler.toString();
    expect(described({})).toMatch(/^ParentBased\{root=AlwaysOnSampler/);
    expect(described({ OTEL_TRACES_SAMPLER: 'always_off' })).toBe('AlwaysOffSampler');
    expect(described({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' })).toBe('TraceIdRatioBased{0.25}');
    expect(described({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' })).toMatch(/root=TraceIdRatioBased\{0.5\}/);
    const wrong = parseTracingConfig({ ...endpoint, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' });
    expect(wrong.config?.sampler.toString()).toBe('TraceIdRatioBased{1}');
    expect(wrong.problems).toHaveLength(1);
  });
});

describe('toOtlpTraces (OTLP/HTTP JSON)', () => {
  function spans(): ReadableSpan[] {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer('tributary');
    const server = tracer.startSpan('GET /x', { kind: SpanKind.SERVER, startTime: [1_700_000_000, 5] }, ROOT_CONTEXT);
    const client = tracer.startSpan(
      'GET',
      {
        kind: SpanKind.CLIENT,
        startTime: [1_700_000_000, 1_000],
        attributes: { 'http.response.status_code': 504, 'tributary.wait_ms': 1.5, ok: false, ids: ['a', 'b'], big: 2 ** 60 },
      },
      trace.setSpan(ROOT_CONTEXT, server),
    );
    client.addEvent('retry', { attempt: 2 }, [1_700_000_000, 2_000]);
    client.setStatus({ code: SpanStatusCode.ERROR, message: 'timed out' });
    client.end([1_700_000_001, 0]);
    server.end([1_700_000_002, 999_999_999]);
    return exporter.getFinishedSpans();
  }

  it('ids in hex, kind + 1, times as ns strings, typed attribute values, status, events, parent only when there is one', () => {
    const [client, server] = spans() as [ReadableSpan, ReadableSpan];
    const body = toOtlpTraces([client, server], { 'service.name': 'svc' });
    expect(body.resourceSpans).toHaveLength(1);
    const rs = body.resourceSpans[0]!;
    expect(rs.resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 'svc' } }]);
    expect(rs.scopeSpans).toHaveLength(1);
    expect(rs.scopeSpans[0]!.scope).toEqual({ name: 'tributary' });
    const [c, s] = rs.scopeSpans[0]!.spans as [any, any];
    expect(s.kind).toBe(2);
    expect(s).not.toHaveProperty('parentSpanId');
    expect(s.startTimeUnixNano).toBe('1700000000000000005');
    expect(s.endTimeUnixNano).toBe('1700000002999999999');
    expect(s.status).toEqual({ code: 0 });
    expect(c.kind).toBe(3);
    expect(c.traceId).toBe(server.spanContext().traceId);
    expect(c.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(c.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(c.parentSpanId).toBe(server.spanContext().spanId);
    expect(c.attributes).toEqual([
      { key: 'http.response.status_code', value: { intValue: '504' } },
      { key: 'tributary.wait_ms', value: { doubleValue: 1.5 } },
      { key: 'ok', value: { boolValue: false } },
      { key: 'ids', value: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } } },
      // Beyond 2^53 a JS number is no longer an exact integer: sent as a double.
      { key: 'big', value: { doubleValue: 2 ** 60 } },
    ]);
    expect(c.status).toEqual({ code: 2, message: 'timed out' });
    expect(c.events).toEqual([{ timeUnixNano: '1700000000000002000', name: 'retry', attributes: [{ key: 'attempt', value: { intValue: '2' } }], droppedAttributesCount: 0 }]);
    expect(server.spanContext().traceFlags & TraceFlags.SAMPLED).toBe(TraceFlags.SAMPLED);
    // It survives a JSON round trip (no BigInt, no NaN).
    expect(JSON.parse(JSON.stringify(body))).toEqual(body);
  });

  it('nanos: exact beyond 2^53', () => {
    expect(nanos([1_799_999_999, 123_456_789])).toBe('1799999999123456789');
  });
});
