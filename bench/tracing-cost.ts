/**
 * `npm run bench:tracing`: what tracing adds to a request's CPU, in-process (no sockets, so the
 * gateway's own work only), for the span pipeline Tributary uses and for the OpenTelemetry SDK's
 * tracer provider, batch span processor and protobuf serializer it replaced. Three apps of this
 * checkout (bench/lib/in-process-app.ts): no spans; the SDK; ours. Each records scenario 2's 8
 * spans per request, 100 % sampled, and encodes them to OTLP protobuf bytes that an exporter
 * counts and drops. Rounds rotate the three; each ratio is taken within a round, and the median
 * over the rounds is printed with its range.
 *
 * Settings (environment): BENCH_ROUNDS (default 12), N (requests per app per round, 2000), WARM (3000).
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { join } from 'node:path';
import { SpanBatcher, type EncodedSpans } from '../src/serve/span-batcher.ts';
import type { SpanSink } from '../src/services/tracing/recorded-span.ts';
import { samplerFromEnv } from '../src/services/tracing/samplers.ts';
import { SpanPipeline } from '../src/services/tracing/tracer.ts';
import { positiveSetting } from './lib/env-setting.ts';
import { drive, inProcessGateway } from './lib/in-process-app.ts';
import { figure, rotated } from './lib/stats.ts';

const rounds = positiveSetting('BENCH_ROUNDS', 12);
const measured = positiveSetting('N', 2000);
const warm = positiveSetting('WARM', 3000);

// As the Node entry: spans follow the request through its promises.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const resource = resourceFromAttributes({ 'service.name': 'tributary-bench', 'host.name': 'bench', 'process.pid': process.pid });
let bytes = 0;
const done = { code: 0 };
const sdkExporter = {
  export(spans: ReadableSpan[], callback: (result: typeof done) => void) {
    bytes += (ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array).length;
    callback(done);
  },
  shutdown: async () => {},
};
const ourExporter = {
  export(spans: EncodedSpans, callback: (result: typeof done) => void) {
    bytes += spans.bytes.length;
    callback(done);
  },
  shutdown: async () => {},
};
const sdk = new TracerProvider({ resource, sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }), spanProcessors: [new BatchSpanProcessor({ exporter: sdkExporter })] });
const batcher = new SpanBatcher(ourExporter as never);
const ours = new SpanPipeline({ resource, sampler: samplerFromEnv({}, []), sinks: [batcher as SpanSink] });

const gateway = await inProcessGateway(join(import.meta.dirname, '..'));
const apps = { 'no spans': gateway.app(), 'the SDK': gateway.app(sdk.getTracer('tributary')), 'the span pipeline': gateway.app(ours.getTracer('tributary')) };
type Name = keyof typeof apps;
const names = Object.keys(apps) as Name[];
for (const name of names) await drive(apps[name], warm);
const perRequest: Record<Name, number[]> = { 'no spans': [], 'the SDK': [], 'the span pipeline': [] };
for (let round = 0; round < rounds; round++) {
  // Rotated: each app goes first in turn.
  for (const name of rotated(names, round + 1)) {
    const cpu = process.cpuUsage();
    await drive(apps[name], measured);
    const used = process.cpuUsage(cpu);
    perRequest[name].push((used.user + used.system) / measured);
  }
}
await sdk.forceFlush();
await batcher.forceFlush();

const show = (values: number[], digits: number): string => {
  const f = figure(values);
  return `${f.median.toFixed(digits)} [${f.min.toFixed(digits)}–${f.max.toFixed(digits)}]`;
};
const ratio = (a: Name, b: Name): string => show(perRequest[a].map((v, i) => v / (perRequest[b][i] as number)), 2);
const added = (name: Name): string => show(perRequest[name].map((v, i) => v - (perRequest['no spans'][i] as number)), 0);
console.log(`In-process, ${rounds} rounds × ${measured} requests per app; CPU µs per request, median [min–max]:`);
for (const name of names) console.log(`  ${name.padEnd(18)} ${show(perRequest[name], 0)}`);
console.log(`Tracing adds: the SDK ${added('the SDK')} µs, the span pipeline ${added('the span pipeline')} µs per request`);
console.log(`the span pipeline ÷ the SDK ×${ratio('the span pipeline', 'the SDK')}; traced ÷ no spans: the SDK ×${ratio('the SDK', 'no spans')}, the span pipeline ×${ratio('the span pipeline', 'no spans')}`);
console.log(`(${Math.round(bytes / 1024)} KiB of OTLP encoded in all)`);
