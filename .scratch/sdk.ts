import { trace, context, SpanKind, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { TracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const SER = process.env.SER !== '0';
import { encodeSpans } from '/work/main/src/services/tracing/otlp-protobuf.ts';
let bytes = 0;
const exporter = { export(spans: any[], cb: any) { if (SER) bytes += (process.env.SER === '2' ? encodeSpans(spans) : ProtobufTraceSerializer.serializeRequest(spans)!).length; cb({ code: 0 }); }, shutdown: async () => {}, forceFlush: async () => {} };
const provider = new TracerProvider({ resource: resourceFromAttributes({ 'service.name': 'b', 'host.name': 'x', 'process.pid': 1 }), spanProcessors: [new BatchSpanProcessor({ exporter, maxQueueSize: 1e6, maxExportBatchSize: 512, scheduledDelayMillis: 1e9 })] });
import { SpanPipeline } from '/work/main/src/services/tracing/tracer.ts';
import { ParentBasedSampler, AlwaysOnSampler } from '@opentelemetry/sdk-trace';
const bsp = new BatchSpanProcessor({ exporter, maxQueueSize: 1e6, maxExportBatchSize: 512, scheduledDelayMillis: 1e9 });
const lean = new SpanPipeline({ resource: resourceFromAttributes({ 'service.name': 'b', 'host.name': 'x', 'process.pid': 1 }), sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), sinks: [bsp] });
const tracer = process.env.LEAN === '1' ? lean.getTracer('tributary') : provider.getTracer('tributary');
const flush = () => process.env.LEAN === '1' ? bsp.forceFlush() : provider.forceFlush();
import { spanTime } from '/work/main/src/services/telemetry.ts';
function request() {
  const s = tracer.startSpan('GET', { kind: SpanKind.SERVER, startTime: spanTime(), attributes: { 'http.request.method': 'GET', 'url.scheme': 'http', 'url.path': '/v1/agg/1', 'server.address': '127.0.0.1', 'server.port': 8080, 'client.address': '127.0.0.1', 'network.protocol.version': '1.1', 'user_agent.original': 'autocannon' } }, ROOT_CONTEXT);
  const c1 = trace.setSpan(ROOT_CONTEXT, s);
  const a = tracer.startSpan('aggregate agg', { startTime: spanTime(), attributes: { 'tributary.endpoint': '/v1/agg/:id', 'tributary.calls': 3 } }, c1);
  const c2 = trace.setSpan(c1, a);
  for (let i = 0; i < 3; i++) {
    const u = tracer.startSpan('upstream a' + i, { startTime: spanTime(), attributes: { 'tributary.call': 'a' + i, 'upstream.name': 'u' + i } }, c2);
    const c3 = trace.setSpan(c2, u);
    const cl = tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: spanTime() }, c3);
    cl.setAttributes({ 'http.request.method': 'GET', 'url.full': 'http://127.0.0.1:4001/items/1', 'url.template': '/items/{params.id}', 'server.address': '127.0.0.1', 'server.port': 4001, 'upstream.name': 'u' + i });
    const h: Record<string, string> = {}; propagation.inject(trace.setSpan(c3, cl), h);
    cl.setAttribute('http.response.status_code', 200); cl.end(spanTime());
    u.setAttribute('tributary.outcome', 'ok'); u.end(spanTime());
  }
  a.end(spanTime());
  s.setAttribute('http.route', '/v1/agg/:id'); s.updateName('GET /v1/agg/:id'); s.setAttribute('http.response.status_code', 200); s.setAttribute('tributary.request_id', 'abcdef0123456789');
  s.end(spanTime());
}
const N = 50000;
for (let i = 0; i < 20000; i++) request();
await flush();
const t0 = performance.now();
for (let i = 0; i < N; i++) { request(); if (i % 64 === 0) await new Promise((r) => setImmediate(r)); }
await flush();
console.log(process.env.SER, process.env.LEAN, 'µs/req', ((performance.now() - t0) * 1000 / N).toFixed(1), 'bytes/req', (bytes / (N + 20000)).toFixed(0));
