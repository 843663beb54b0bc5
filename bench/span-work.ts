/**
 * `npm run bench:spans`: the span work of one scenario 2 request on its own, this checkout against
 * another: the 8 spans the gateway records (SERVER, `aggregate`, and per call an `upstream` span
 * and a CLIENT span), their attributes, the caller's context extracted and `traceparent` injected
 * for each call, every span ended and encoded to OTLP protobuf by the batch processor (the export
 * counts the bytes and drops them). Each checkout's own tracer, sampler, spans, contexts and batch
 * processor; both in one process, taking turns in short rounds, each ratio taken within a round.
 *
 * What it leaves out: the gateway around the spans (bench:tracing and bench:compare with
 * BENCH_TRACING=1 measure that), and the socket and export work.
 *
 * @example
 * git worktree add /tmp/before <rev> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 * BENCH_BASE=/tmp/before npm run bench:spans
 * BENCH_BASE=/tmp/before OTEL_TRACES_SAMPLER=always_off npm run bench:spans   # nothing sampled
 *
 * Settings (environment): BENCH_BASE (required: the other checkout), BENCH_ROUNDS (default 60),
 * N (requests per checkout per round, 2000), WARM (20000), OTEL_TRACES_SAMPLER (default
 * parentbased_always_on, as the gateway).
 */
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, type Context, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { baseCheckout, positiveSetting } from './lib/env-setting.ts';
import { median, percentile, rotated } from './lib/stats.ts';

const base = baseCheckout('src/services/tracing/tracer.ts');
if (!base) throw new Error('BENCH_BASE must name the other checkout (a directory with src/services/tracing/tracer.ts)');
const rounds = positiveSetting('BENCH_ROUNDS', 60);
const measured = positiveSetting('N', 2000);
const warm = positiveSetting('WARM', 20000);
const sampler = process.env.OTEL_TRACES_SAMPLER;

// As the Node entry: an AsyncLocalStorage context manager and the W3C propagators.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
const resource = resourceFromAttributes({ 'service.name': 'tributary-bench', 'host.name': 'bench', 'process.pid': process.pid });
let bytes = 0;
const exporter = {
  export(batch: { bytes: Uint8Array }, done: (result: { code: number }) => void) {
    bytes += batch.bytes.length;
    done({ code: 0 });
  },
  shutdown: async () => {},
};

/** One request's span work, with checkout `root`'s modules. */
async function requestOf(root: string): Promise<{ request: (i: number) => void; flush: () => Promise<void> }> {
  const { SpanBatcher } = await import(join(root, 'src/serve/span-batcher.ts'));
  const { samplerFromEnv } = await import(join(root, 'src/services/tracing/samplers.ts'));
  const { SpanPipeline } = await import(join(root, 'src/services/tracing/tracer.ts'));
  // The root context the checkout's requests start from (before it had its own: the API's).
  const contextModule = join(root, 'src/services/tracing/context.ts');
  const empty: Context = existsSync(contextModule) ? (await import(contextModule)).EMPTY_CONTEXT : ROOT_CONTEXT;
  const batcher = new SpanBatcher(exporter);
  const tracer: Tracer = new SpanPipeline({ resource, sampler: samplerFromEnv(sampler ? { OTEL_TRACES_SAMPLER: sampler } : {}, []), sinks: [batcher] }).getTracer('tributary');
  const inbound: Record<string, string> = {};
  const getter = { keys: (h: Record<string, string>) => Object.keys(h), get: (h: Record<string, string>, k: string) => h[k] };
  const calls = ['users', 'orders', 'recs'];
  const now = (): number => performance.now();
  function request(i: number): void {
    const parent = propagation.extract(empty, inbound, getter);
    const server = tracer.startSpan(
      'GET',
      {
        kind: SpanKind.SERVER,
        startTime: now(),
        attributes: {
          'http.request.method': 'GET',
          'url.scheme': 'http',
          'url.path': `/v1/agg/${i}`,
          'server.address': '127.0.0.1',
          'server.port': 8787,
          'client.address': '127.0.0.1',
          'network.protocol.version': '1.1',
          'user_agent.original': 'autocannon',
        },
      },
      parent,
    );
    const serverContext = trace.setSpan(parent, server);
    const aggregate = tracer.startSpan('aggregate agg', { startTime: now(), attributes: { 'tributary.endpoint': '/v1/agg/:id', 'tributary.calls': 3 } }, serverContext);
    const aggregateContext = trace.setSpan(serverContext, aggregate);
    for (const name of calls) {
      const upstream = tracer.startSpan(`upstream ${name}`, { startTime: now(), attributes: { 'tributary.call': name, 'upstream.name': name } }, aggregateContext);
      const upstreamContext = trace.setSpan(aggregateContext, upstream);
      const client = tracer.startSpan('GET', { kind: SpanKind.CLIENT, startTime: now() }, upstreamContext);
      if (client.isRecording()) {
        client.setAttribute('http.request.method', 'GET');
        client.setAttribute('url.full', `http://127.0.0.1:4000/d/0/${name}/${i}`);
        client.setAttribute('url.template', `/d/0/${name}/{id}`);
        client.setAttribute('server.address', '127.0.0.1');
        client.setAttribute('server.port', 4000);
        client.setAttribute('upstream.name', name);
      }
      const headers: Record<string, string> = {};
      propagation.inject(trace.setSpan(upstreamContext, client), headers);
      client.setAttribute('http.response.status_code', 200);
      client.end(now());
      upstream.setAttribute('tributary.outcome', 'ok');
      upstream.end(now());
    }
    aggregate.setAttributes({ 'tributary.complete': true, 'tributary.failed': 0 });
    aggregate.end(now());
    server.setAttribute('http.route', '/v1/agg/:id');
    server.updateName('GET /v1/agg/:id');
    server.setAttribute('http.response.status_code', 200);
    server.setAttribute('tributary.request_id', `req-${i}`);
    server.end(now());
  }
  return { request, flush: () => batcher.forceFlush() };
}

const sides = { new: await requestOf(resolve(import.meta.dirname, '..')), old: await requestOf(base) };
const names = ['new', 'old'] as const;
for (const name of names) for (let i = 0; i < warm; i++) sides[name].request(i);
const perRequest = { new: [] as number[], old: [] as number[] };
for (let round = 0; round < rounds; round++) {
  // Rotated: each goes first in every other round.
  for (const name of rotated(names, round + 1)) {
    const cpu = process.cpuUsage();
    for (let i = 0; i < measured; i++) sides[name].request(i);
    const used = process.cpuUsage(cpu);
    perRequest[name].push((used.user + used.system) / measured);
  }
}
for (const name of names) await sides[name].flush();
const ratios = perRequest.new.map((v, i) => v / (perRequest.old[i] as number)).sort((a, b) => a - b);
console.log(`Span work of one scenario 2 request (8 spans, ${sampler ?? 'parentbased_always_on'}), ${rounds} rounds × ${measured} requests per checkout; CPU µs per request, median:`);
console.log(`  new (${resolve(import.meta.dirname, '..')}) ${median(perRequest.new).toFixed(1)}, old (${base}) ${median(perRequest.old).toFixed(1)}`);
console.log(`new ÷ old ×${median(ratios).toFixed(2)} (IQR ${percentile(ratios, 25).toFixed(2)}–${percentile(ratios, 75).toFixed(2)}); ${(bytes / 1e6).toFixed(0)} MB of OTLP encoded in all`);
