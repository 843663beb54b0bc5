/** A streamed answer outlives its handler: load shedding and the access log count it until its last line. */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { AccessLogEntry } from '../../src/routes/access-log.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { createTelemetry, type Telemetry } from '../../src/services/telemetry.ts';
import { fakeFetcher, json } from '../services/fake-fetcher.ts';
import { inMemoryTracing } from '../tracing/in-memory-tracing.ts';

function setup() {
  const fake = fakeFetcher();
  const log: AccessLogEntry[] = [];
  const tracing = inMemoryTracing();
  const { app } = createApp({
    telemetry: tracing.telemetry,
    plan: compilePlan({
      upstreams: { u: { baseUrl: 'http://u.test' } },
      endpoints: [{ path: '/v1/a', deadlineMs: 60_000, calls: { a: { upstream: 'u', path: '/a' }, b: { upstream: 'u', path: '/b' } } }],
    }),
    fetcher: fake.fetcher,
    admission: { maxInFlight: 1 },
    accessLog: (entry) => log.push(entry),
  });
  return { app, fake, log, tracing };
}

const NDJSON = { headers: { accept: 'application/x-ndjson' } };
const flush = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('a stream in flight', () => {
  it('keeps its load-shedding slot until its last line, so the next request is refused meanwhile', async () => {
    const { app, fake } = setup();
    const streaming = await app.request('/v1/a', NDJSON);
    expect(streaming.status).toBe(200);
    await flush();
    expect(fake.calls).toHaveLength(2);
    const refused = await app.request('/v1/a');
    expect(refused.status).toBe(503);
    for (const call of fake.calls) call.respond(json({ ok: true }));
    const text = await streaming.text();
    expect(text.trim().split('\n')).toHaveLength(3);
    await flush();
    const next = app.request('/v1/a');
    await flush();
    fake.calls[2]?.respond(json({}));
    fake.calls[3]?.respond(json({}));
    expect((await next).status).toBe(200);
  });

  it('is written to the access log once it has ended, with its outcome', async () => {
    const { app, fake, log } = setup();
    const streaming = await app.request('/v1/a', NDJSON);
    await flush();
    expect(log).toEqual([]);
    fake.calls[0]?.respond(json({}));
    fake.calls[1]?.respond(json({}, 500));
    await streaming.text();
    await flush();
    expect(log).toEqual([expect.objectContaining({ route: '/v1/a', status: 200, complete: false, failed: [{ call: 'b', code: 'http_status' }] })]);
  });

  it('carries the request id and traceresponse, as a JSON answer does', async () => {
    const { app, fake, tracing } = setup();
    const streaming = await app.request('/v1/a', { headers: { ...NDJSON.headers, 'x-request-id': 'req-7' } });
    expect(streaming.headers.get('x-request-id')).toBe('req-7');
    await flush();
    for (const call of fake.calls) call.respond(json({}));
    await streaming.text();
    await flush();
    const server = tracing.spans().find((s) => s.name === 'GET /v1/a');
    expect(streaming.headers.get('traceresponse')).toBe(`00-${server?.spanContext().traceId}-${server?.spanContext().spanId}-01`);
  });

  it('ends its SERVER span after the last line, around the aggregate span', async () => {
    const { app, fake, tracing } = setup();
    const streaming = await app.request('/v1/a', NDJSON);
    await flush();
    expect(tracing.spans().map((s) => s.name)).toEqual([]);
    for (const call of fake.calls) call.respond(json({}));
    await streaming.text();
    await flush();
    const names = tracing.spans().map((s) => s.name);
    expect(names.indexOf('GET /v1/a')).toBe(names.length - 1);
    expect(names).toContain('aggregate GET /v1/a');
  });
});

describe('a fault after the stream started', () => {
  it('is logged once and ends the stream with a 500 line naming the request id, nothing more', async () => {
    const fake = fakeFetcher();
    const faults: unknown[] = [];
    const telemetry = createTelemetry();
    // A bug in the call path once the headers are gone: the metrics listener throws.
    const broken = { ...telemetry, upstreamDuration: { record: () => { throw new Error('boom'); } } } as unknown as Telemetry;
    const { app } = createApp({
      plan: compilePlan({ upstreams: { u: { baseUrl: 'http://u.test' } }, endpoints: [{ path: '/v1/a', calls: { a: { upstream: 'u', path: '/a' } } }] }),
      fetcher: fake.fetcher,
      telemetry: broken,
      log: (_message, error) => faults.push(error),
    });
    const res = await app.request('/v1/a', { headers: { ...NDJSON.headers, 'x-request-id': 'req-1' } });
    expect(res.status).toBe(200);
    await flush();
    fake.calls[0]?.respond(json({}));
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{ meta: { complete: false }, complete: false, status: 500, error: { code: 'internal', message: 'internal error', requestId: 'req-1' } }]);
    expect(faults).toEqual([new Error('boom')]);
  });
});
