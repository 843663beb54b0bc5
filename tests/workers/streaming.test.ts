/**
 * Streams through the Worker entry, inside workerd: lines leave as calls settle, the invocation
 * is kept alive (ctx.waitUntil) until the calls are done, and the request's spans are exported
 * only after that, so a stream's trace is whole.
 */
import { describe, expect, inject, it } from 'vitest';
import type { OtlpTraces } from '../../src/worker/otlp-json.ts';
import { createWorker } from '../../src/worker/handler.ts';
import { timedLines } from '../contract/lines.ts';
import { executionContext, upstreamScope } from './helpers.ts';
import type { ReceivedExport } from './otlp-receiver.ts';

const config = {
  upstreams: { u: { baseUrl: '${API_URL}', timeoutMs: 5000 } },
  endpoints: [
    {
      path: '/v1/stream',
      deadlineMs: 8000,
      calls: { slow: { upstream: 'u', path: '/delay/1200/slow' }, fast: { upstream: 'u', path: '/json/fast', pick: ['id'] } },
    },
  ],
};

describe('streaming on Workers', () => {
  it('writes the fast call line at once, keeps the invocation alive until the slow call settles, and exports every span after it', async () => {
    const up = upstreamScope('worker-stream');
    const otlp = `${inject('otlpReceiverUrl')}/s/worker-stream-${crypto.randomUUID()}`;
    const worker = createWorker(config, () => {}, () => {});
    const ctx = executionContext();
    const env = { API_URL: up.base, OTEL_EXPORTER_OTLP_ENDPOINT: otlp, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    const start = performance.now();
    const response = await worker.fetch(new Request('http://gateway.test/v1/stream', { headers: { accept: 'application/x-ndjson', 'accept-encoding': 'gzip, br' } }), env, ctx);
    expect(response.status).toBe(200);
    // workerd does not compress: on Cloudflare the edge decides (see README, "Compression").
    expect(response.headers.get('content-encoding')).toBeNull();
    const lines: { value: any; at: number }[] = [];
    for await (const { line, at } of timedLines(response.body as ReadableStream<Uint8Array>, start)) lines.push({ value: JSON.parse(line), at });
    expect(lines.map((l) => l.value.call ?? 'final')).toEqual(['fast', 'slow', 'final']);
    expect(lines[0]?.value).toEqual({ call: 'fast', ok: true, data: { id: 'fast' } });
    expect((lines[1]?.at ?? 0) - (lines[0]?.at ?? 0)).toBeGreaterThan(500);
    expect(lines[1]?.at).toBeGreaterThanOrEqual(1100);

    await ctx.settled();
    const received = (await (await fetch(`${otlp}/__received`)).json()) as ReceivedExport[];
    const names = received.flatMap((e) => (e.body as OtlpTraces).resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.name))));
    expect(names).toEqual(expect.arrayContaining(['GET /v1/stream', 'aggregate GET /v1/stream', 'upstream slow', 'upstream fast']));
  });
});
