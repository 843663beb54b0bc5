/**
 * What the SERVER and CLIENT spans say, and what a caller gets back: the attributes a sampler
 * sees at span start, the request id, `url.template`, the link from a dependent call to the call
 * it waited for, and the `traceresponse` header of a sampled request.
 */
import { propagation, SpanKind, type Attributes } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { serve, type ServerType } from '@hono/node-server';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  SamplingDecision,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type Sampler,
} from '@opentelemetry/sdk-trace';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { createTelemetry } from '../../src/services/telemetry.ts';
import { fakeFetcher, json, type Handler } from '../services/fake-fetcher.ts';
import { dashboardConfig } from './dashboard-config.ts';
import { idOf, inMemoryPipeline, inMemoryTracing, sleep, SpanTree, traceOf } from './in-memory-tracing.ts';

beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
});

const ok: Handler = () => json({ ok: true, managerId: '7' });

/** Samples everything, and keeps the attributes each SERVER span had when the sampler was asked. */
class RecordingSampler implements Sampler {
  readonly seen: Attributes[] = [];
  shouldSample(_context: unknown, _traceId: string, _name: string, kind: SpanKind, attributes: Attributes) {
    if (kind === SpanKind.SERVER) this.seen.push({ ...attributes });
    return { decision: SamplingDecision.RECORD_AND_SAMPLED };
  }
  toString(): string {
    return 'RecordingSampler';
  }
}

function withSampler(sampler: Sampler, handler: Handler = ok, config: TributaryConfigInput = dashboardConfig()) {
  const exporter = new InMemorySpanExporter();
  const provider = inMemoryPipeline(exporter, sampler);
  const fake = fakeFetcher(handler);
  const { app } = createApp({ plan: compilePlan(config), fetcher: fake.fetcher, telemetry: createTelemetry({ tracer: provider.getTracer('test') }) });
  return { app, fake, spans: () => exporter.getFinishedSpans() };
}

describe('the SERVER span', () => {
  it('gives the sampler method, scheme, path without the query, server address and port at span start', async () => {
    const sampler = new RecordingSampler();
    const { app } = withSampler(sampler);
    await app.request('https://gateway.test:8443/v1/dashboard/42?debug=1&token=abc', { headers: { 'user-agent': 'probe/1' } });
    expect(sampler.seen).toEqual([
      {
        'http.request.method': 'GET',
        'url.scheme': 'https',
        'url.path': '/v1/dashboard/42',
        'server.address': 'gateway.test',
        'server.port': 8443,
        'user_agent.original': 'probe/1',
      },
    ]);
  });

  it('names the server each request named, request after request (the same host, another one, a port, IPv6)', async () => {
    const sampler = new RecordingSampler();
    const { app } = withSampler(sampler);
    const urls = [
      'http://gateway.test/v1/dashboard/1',
      'http://gateway.test/v1/dashboard/2',
      'https://gateway.test/v1/dashboard/3',
      'http://other.test:8080/v1/dashboard/4',
      'http://[::1]:9000/v1/dashboard/5',
      'http://gateway.test/v1/dashboard/6',
    ];
    for (const url of urls) await app.request(url);
    expect(sampler.seen.map((a) => [a['server.address'], a['server.port']])).toEqual([
      ['gateway.test', 80],
      ['gateway.test', 80],
      ['gateway.test', 443],
      ['other.test', 8080],
      ['::1', 9000],
      ['gateway.test', 80],
    ]);
  });

  it('records the route, the status and the request id the response carries, and no query string anywhere', async () => {
    const tracing = inMemoryTracing();
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fakeFetcher(ok).fetcher, telemetry: tracing.telemetry });
    const res = await app.request('http://gateway.test/v1/dashboard/42?token=abc', { headers: { 'x-request-id': 'req-123' } });
    expect(res.headers.get('x-request-id')).toBe('req-123');
    const server = new SpanTree(tracing.spans()).server();
    expect(server.attributes).toMatchObject({
      'http.route': '/v1/dashboard/:userId',
      'http.response.status_code': 200,
      'url.path': '/v1/dashboard/42',
      'server.address': 'gateway.test',
      'server.port': 80,
      'tributary.request_id': 'req-123',
    });
    expect(JSON.stringify(tracing.spans().map((s) => s.attributes))).not.toContain('token=abc');
  });

  it('names a generated request id too, the one the response carries', async () => {
    const tracing = inMemoryTracing();
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fakeFetcher(ok).fetcher, telemetry: tracing.telemetry });
    const res = await app.request('/v1/dashboard/42');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new SpanTree(tracing.spans()).server().attributes['tributary.request_id']).toBe(id);
  });

  it('on Node: client.address is the socket peer (never X-Forwarded-For), with the HTTP version and the local port', async () => {
    const tracing = inMemoryTracing();
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fakeFetcher(ok).fetcher, telemetry: tracing.telemetry });
    const server: ServerType = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    try {
      await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/v1/dashboard/42`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
      await res.arrayBuffer();
      const span = await waitForServerSpan(() => tracing.spans());
      expect(span.attributes).toMatchObject({
        'client.address': '127.0.0.1',
        'network.protocol.version': '1.1',
        'server.address': '127.0.0.1',
        'server.port': port,
      });
      expect(JSON.stringify(span.attributes)).not.toContain('203.0.113.9');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('in-process (no socket): no client.address rather than a guess from headers', async () => {
    const tracing = inMemoryTracing();
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fakeFetcher(ok).fetcher, telemetry: tracing.telemetry });
    await app.request('/v1/dashboard/42', { headers: { 'x-forwarded-for': '203.0.113.9', 'cf-connecting-ip': '203.0.113.10' } });
    const server = new SpanTree(tracing.spans()).server();
    expect(server.attributes['client.address']).toBeUndefined();
  });
});

async function waitForServerSpan(spans: () => ReadableSpan[]): Promise<ReadableSpan> {
  // The SERVER span ends in middleware right after the response is handed over.
  for (let i = 0; i < 100; i++) {
    const found = spans().find((s) => s.kind === SpanKind.SERVER);
    if (found) return found;
    await sleep(10);
  }
  throw new Error('no SERVER span after 1 s');
}

describe('traceresponse', () => {
  it('every response of a sampled request carries 00-<trace id>-<SERVER span id>-01: 200, 400, 404, 502', async () => {
    const tracing = inMemoryTracing();
    const handler: Handler = (call) => (call.target.startsWith('users.test/users/500') ? json({}, 503) : json({ ok: true }));
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fakeFetcher(handler).fetcher, telemetry: tracing.telemetry });
    const cases = [
      ['/v1/dashboard/42', 200],
      ['/v1/items', 400],
      ['/nowhere', 404],
      ['/v1/dashboard/500', 502],
    ] as const;
    for (const [path, status] of cases) {
      tracing.exporter.reset();
      const res = await app.request(path);
      expect(res.status, path).toBe(status);
      const server = new SpanTree(tracing.spans()).server();
      expect(res.headers.get('traceresponse'), path).toBe(`00-${traceOf(server)}-${idOf(server)}-01`);
    }
  });

  it('an internal fault (500) still carries it, so the failed request can be found', async () => {
    const tracing = inMemoryTracing();
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fakeFetcher(ok).fetcher, telemetry: tracing.telemetry, log: () => {} });
    app.get('/boom', () => {
      throw new Error('bug');
    });
    const res = await app.request('/boom');
    expect(res.status).toBe(500);
    expect(res.headers.get('traceresponse')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('continues the caller trace: the same trace id, the SERVER span as the new parent', async () => {
    const tracing = inMemoryTracing();
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fakeFetcher(ok).fetcher, telemetry: tracing.telemetry });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await app.request('/v1/dashboard/1', { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    const server = new SpanTree(tracing.spans()).server();
    expect(res.headers.get('traceresponse')).toBe(`00-${traceId}-${idOf(server)}-01`);
  });

  it('is absent when the request was not sampled, and when no SDK is registered', async () => {
    const off = withSampler(new AlwaysOffSampler());
    const res = await off.app.request('/v1/dashboard/42');
    expect(res.status).toBe(200);
    expect(res.headers.get('traceresponse')).toBeNull();
    expect(off.spans()).toEqual([]);
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fakeFetcher(ok).fetcher });
    expect((await app.request('/v1/dashboard/42')).headers.get('traceresponse')).toBeNull();
  });

  it('is exposed to browser code by CORS', async () => {
    const config = { ...dashboardConfig(), cors: { origins: ['https://app.test'] } };
    const tracing = inMemoryTracing();
    const { app } = createApp({ plan: compilePlan(config), fetcher: fakeFetcher(ok).fetcher, telemetry: tracing.telemetry });
    const res = await app.request('/v1/dashboard/42', { headers: { origin: 'https://app.test' } });
    expect(res.headers.get('access-control-expose-headers')?.split(/,\s*/)).toContain('traceresponse');
  });
});

describe('CLIENT spans', () => {
  it('carry url.template: the path template as written, under the upstream base path', async () => {
    const config: TributaryConfigInput = {
      upstreams: { users: { baseUrl: 'http://users.test/api/v2' } },
      endpoints: [{ path: '/v1/users/:userId', calls: { profile: { upstream: 'users', path: '/users/{params.userId}', query: { token: 'secret' } } } }],
    };
    const tracing = inMemoryTracing();
    const { app } = createApp({ plan: compilePlan(config), fetcher: fakeFetcher(ok).fetcher, telemetry: tracing.telemetry });
    await app.request('/v1/users/42');
    const client = new SpanTree(tracing.spans()).spans.find((s) => s.kind === SpanKind.CLIENT) as ReadableSpan;
    expect(client.attributes['url.template']).toBe('/api/v2/users/{params.userId}');
    expect(client.attributes['url.full']).toBe('http://users.test/api/v2/users/42?token=REDACTED');
  });
});

describe('a dependent call', () => {
  it("links its upstream span to the span of the call it waited for, and names it", async () => {
    const tracing = inMemoryTracing();
    const fake = fakeFetcher(async (call) => {
      if (call.target.startsWith('users.test/users/42')) await sleep(20);
      return json({ ok: true, managerId: '7' });
    });
    const { app } = createApp({ plan: compilePlan(dashboardConfig()), fetcher: fake.fetcher, telemetry: tracing.telemetry });
    expect((await app.request('/v1/users/42/with-manager')).status).toBe(200);
    const tree = new SpanTree(tracing.spans());
    const profile = tree.one('upstream profile');
    const manager = tree.one('upstream manager');
    expect(manager.attributes['tributary.waited_for']).toBe('profile');
    expect(manager.links.map((l) => [l.context.spanId, l.attributes])).toEqual([[idOf(profile), { 'tributary.depends_on': 'profile' }]]);
    expect(manager.links[0]?.context.traceId).toBe(traceOf(profile));
    // A call with no dependency has neither.
    const other = tree.one('upstream other');
    expect(other.links).toEqual([]);
    expect(other.attributes['tributary.waited_for']).toBeUndefined();
  });
});
