/**
 * The span tree of an aggregated request, read from a real SDK with an in-memory exporter:
 * names, parents, overlap of parallel calls, semaphore waits, statuses and propagation.
 */
import { propagation, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { redactUrl } from '../../src/services/telemetry.ts';
import { fakeFetcher, json, type Handler } from '../services/fake-fetcher.ts';
import { dashboardConfig, type DashboardOptions } from './dashboard-config.ts';
import {
  durationMs,
  endMs,
  idOf,
  inMemoryTracing,
  isError,
  overlap,
  parentOf,
  parseTraceparent,
  sleep,
  SpanTree,
  startMs,
  traceOf,
} from './in-memory-tracing.ts';

const ROUTE = 'GET /v1/dashboard/:userId';
const CALLS = ['profile', 'orders', 'recs'] as const;

beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  propagation.disable();
});

/** Answers every upstream after a per-host delay, like services of different speeds. */
function delayed(ms: Record<string, number>, answer: Handler = () => json({ ok: true, managerId: '7' })): Handler {
  return async (call) => {
    await sleep(ms[call.target.split('/')[0] as string] ?? 0);
    return answer(call) as Response;
  };
}

function setup(handler: Handler, options: DashboardOptions = {}, tracingOptions: { maxItemSpans?: number } = {}) {
  const tracing = inMemoryTracing(tracingOptions);
  const fake = fakeFetcher(handler);
  const { app } = createApp({ plan: compilePlan(dashboardConfig(options)), fetcher: fake.fetcher, telemetry: tracing.telemetry });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await app.request(path, { headers });
    const body = (await res.json()) as { data: Record<string, unknown>; errors: { call: string; code: string }[] };
    return { res, body };
  };
  return { tracing, fake, app, get };
}

/** The single trace the test produced. */
function onlyTrace(spans: readonly ReadableSpan[]): SpanTree {
  const ids = new Set(spans.map(traceOf));
  expect(ids.size).toBe(1);
  return new SpanTree(spans);
}

describe('the span tree of one dashboard request', () => {
  it('is SERVER -> aggregate -> one upstream span per call -> one CLIENT span per attempt', async () => {
    const { tracing, get } = setup(delayed({ 'users.test': 10, 'orders.test': 20, 'recs.test': 30 }));
    const { res } = await get('/v1/dashboard/42');
    expect(res.status).toBe(200);

    const tree = onlyTrace(tracing.spans());
    const server = tree.server();
    expect(server.name).toBe(ROUTE); // the route pattern, never the raw path
    expect(server.attributes['http.route']).toBe('/v1/dashboard/:userId');
    expect(server.attributes['http.request.method']).toBe('GET');
    expect(server.attributes['http.response.status_code']).toBe(200);
    expect(server.parentSpanContext).toBeUndefined();

    const aggregate = tree.one(`aggregate ${ROUTE}`);
    expect(parentOf(aggregate)).toBe(idOf(server));
    expect(aggregate.kind).toBe(SpanKind.INTERNAL);
    expect(aggregate.attributes).toMatchObject({ 'tributary.calls': 3, 'tributary.complete': true, 'tributary.failed': 0 });

    expect(tree.children(aggregate).map((s) => s.name).sort()).toEqual(CALLS.map((c) => `upstream ${c}`).sort());
    const hosts = { profile: 'users.test', orders: 'orders.test', recs: 'recs.test' };
    for (const call of CALLS) {
      const upstream = tree.one(`upstream ${call}`);
      expect(upstream.kind).toBe(SpanKind.INTERNAL);
      expect(upstream.attributes).toMatchObject({ 'tributary.call': call, 'tributary.outcome': 'ok' });
      expect(upstream.status.code).not.toBe(SpanStatusCode.ERROR);
      // Nobody waited: no semaphore.acquire span anywhere.
      const [client, ...more] = tree.children(upstream);
      expect(more).toEqual([]);
      expect(client?.name).toBe('GET');
      expect(client?.kind).toBe(SpanKind.CLIENT);
      expect(client?.attributes).toMatchObject({
        'http.request.method': 'GET',
        'server.address': hosts[call],
        'server.port': 80,
        'http.response.status_code': 200,
      });
      expect(String(client?.attributes['url.full'])).toMatch(new RegExp(`^http://${hosts[call]}/`));
      expect(tree.children(client as ReadableSpan)).toEqual([]);
    }
    expect(tree.named('semaphore.acquire')).toEqual([]);
    expect(tree.spans).toHaveLength(1 + 1 + 3 + 3);
  });

  it('shows the parallel calls as overlapping bars, with the slow one as the long pole', async () => {
    const { tracing, get } = setup(delayed({ 'users.test': 30, 'orders.test': 40, 'recs.test': 80 }));
    await get('/v1/dashboard/42');
    const tree = onlyTrace(tracing.spans());
    const upstreams = CALLS.map((c) => tree.one(`upstream ${c}`));
    for (const a of upstreams) {
      for (const b of upstreams) if (a !== b) expect(overlap(a, b), `${a.name} overlaps ${b.name}`).toBe(true);
    }
    const clients = upstreams.map((u) => tree.children(u, 'GET')[0] as ReadableSpan);
    for (const a of clients) for (const b of clients) if (a !== b) expect(overlap(a, b)).toBe(true);
    // Sequential calls would take 150 ms; in parallel the aggregate lasts about as long as recs.
    const aggregate = tree.one(`aggregate ${ROUTE}`);
    expect(durationMs(aggregate)).toBeLessThan(140);
    expect(durationMs(tree.one('upstream recs'))).toBeGreaterThanOrEqual(70);
    expect(durationMs(tree.one('upstream recs'))).toBeGreaterThan(durationMs(tree.one('upstream profile')));
  });

  it('puts a CLIENT span inside its upstream span, and the upstream span inside the aggregate', async () => {
    const { tracing, get } = setup(delayed({ 'users.test': 10, 'orders.test': 20, 'recs.test': 30 }));
    await get('/v1/dashboard/42');
    const tree = onlyTrace(tracing.spans());
    // Every span's times come from one clock: nesting holds exactly, with no margin.
    const inside = (child: ReadableSpan, parent: ReadableSpan): void => {
      expect(startMs(child), `${child.name} starts inside ${parent.name}`).toBeGreaterThanOrEqual(startMs(parent));
      expect(endMs(child), `${child.name} ends inside ${parent.name}`).toBeLessThanOrEqual(endMs(parent));
    };
    const aggregate = tree.one(`aggregate ${ROUTE}`);
    inside(aggregate, tree.server());
    for (const call of CALLS) {
      const upstream = tree.one(`upstream ${call}`);
      inside(upstream, aggregate);
      inside(tree.children(upstream, 'GET')[0] as ReadableSpan, upstream);
    }
  });
});

describe('semaphore.acquire', () => {
  it('with a per-request limit of 1: a span for each call that waited, ending before its CLIENT span starts', async () => {
    const { tracing, get } = setup(delayed({ 'users.test': 30, 'orders.test': 30, 'recs.test': 30 }), { maxConcurrency: 1 });
    await get('/v1/dashboard/42');
    const tree = onlyTrace(tracing.spans());
    // Declaration order: profile starts at once, orders and recs queue behind it.
    expect(tree.children(tree.one('upstream profile'), 'semaphore.acquire')).toEqual([]);
    for (const call of ['orders', 'recs']) {
      const upstream = tree.one(`upstream ${call}`);
      const waits = tree.children(upstream, 'semaphore.acquire');
      expect(waits, call).toHaveLength(1);
      const wait = waits[0] as ReadableSpan;
      const client = tree.children(upstream, 'GET')[0] as ReadableSpan;
      expect(wait.attributes['tributary.semaphore']).toBe('request');
      expect(Number(wait.attributes['tributary.wait_ms'])).toBeGreaterThanOrEqual(20);
      expect(durationMs(wait)).toBeGreaterThanOrEqual(20);
      expect(endMs(wait)).toBeLessThanOrEqual(startMs(client));
      expect(startMs(wait)).toBeGreaterThanOrEqual(startMs(upstream));
      expect(isError(wait)).toBe(false);
    }
    // With a limit of 1 nothing overlaps on the wire: the waterfall is a staircase.
    const clients = tree.named('GET').sort((a, b) => startMs(a) - startMs(b));
    for (let i = 1; i < clients.length; i++) {
      expect(startMs(clients[i] as ReadableSpan)).toBeGreaterThanOrEqual(endMs(clients[i - 1] as ReadableSpan));
    }
    expect(tree.named('semaphore.acquire')).toHaveLength(2);
  });

  it('with an upstream bulkhead of 1 shared by two requests: the second request records an upstream wait', async () => {
    const { tracing, get } = setup(delayed({ 'users.test': 40 }), { usersConcurrency: 1 });
    await Promise.all([get('/v1/dashboard/1'), get('/v1/dashboard/2')]);
    const spans = tracing.spans();
    const waits = spans.filter((s) => s.name === 'semaphore.acquire');
    expect(waits).toHaveLength(1);
    const wait = waits[0] as ReadableSpan;
    expect(wait.attributes).toMatchObject({ 'tributary.semaphore': 'upstream', 'upstream.name': 'users' });
    expect(Number(wait.attributes['tributary.wait_ms'])).toBeGreaterThanOrEqual(25);
    const tree = SpanTree.of(spans, traceOf(wait));
    const profile = tree.one('upstream profile');
    expect(parentOf(wait)).toBe(idOf(profile));
    const client = tree.children(profile, 'GET')[0] as ReadableSpan;
    expect(endMs(wait)).toBeLessThanOrEqual(startMs(client));
    // The other request's profile did not wait, and neither did any orders or recs call.
    const other = SpanTree.of(spans, traceOf(spans.find((s) => s.kind === SpanKind.SERVER && traceOf(s) !== traceOf(wait)) as ReadableSpan));
    expect(other.named('semaphore.acquire')).toEqual([]);
    expect(tree.children(tree.one('upstream orders'), 'semaphore.acquire')).toEqual([]);
  });

  it('keeps every span in its own request when 20 requests share an upstream bulkhead', async () => {
    const { tracing, fake, get } = setup(delayed({ 'users.test': 15, 'orders.test': 5, 'recs.test': 5 }), { usersConcurrency: 2 });
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => get(`/v1/dashboard/${i + 1}`)));
    expect(responses.map((r) => r.res.status)).toEqual(Array(20).fill(200));

    const spans = tracing.spans();
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(servers).toHaveLength(20);
    expect(new Set(servers.map(traceOf)).size).toBe(20);
    const byId = new Map(spans.map((s) => [idOf(s), s]));
    const serverOfTrace = new Map(servers.map((s) => [traceOf(s), s]));

    let waited = 0;
    for (const span of spans) {
      if (span.kind === SpanKind.SERVER) continue;
      const parent = byId.get(parentOf(span) ?? '');
      expect(parent, `${span.name} has a parent span`).toBeDefined();
      expect(traceOf(parent as ReadableSpan)).toBe(traceOf(span));
      expect(serverOfTrace.has(traceOf(span))).toBe(true);
      if (span.name.startsWith('aggregate ')) expect((parent as ReadableSpan).kind).toBe(SpanKind.SERVER);
      if (span.name.startsWith('upstream ')) expect((parent as ReadableSpan).name).toBe(`aggregate ${ROUTE}`);
      if (span.kind === SpanKind.CLIENT || span.name === 'semaphore.acquire') {
        // Under the upstream span of the same call, in the same request.
        expect((parent as ReadableSpan).name).toMatch(/^upstream /);
        expect(span.attributes['upstream.name'] ?? 'users').toBe((parent as ReadableSpan).attributes['upstream.name']);
      }
      if (span.name === 'semaphore.acquire') {
        waited++;
        const client = spans.find((s) => s.kind === SpanKind.CLIENT && parentOf(s) === parentOf(span)) as ReadableSpan;
        expect(endMs(span)).toBeLessThanOrEqual(startMs(client));
      }
    }
    // 20 profile calls through 2 slots: most of them waited.
    expect(waited).toBeGreaterThanOrEqual(10);
    // Every upstream request carried the traceparent of the CLIENT span that made it.
    const clients = new Map(spans.filter((s) => s.kind === SpanKind.CLIENT).map((s) => [idOf(s), s]));
    expect(fake.calls).toHaveLength(60);
    for (const call of fake.calls) {
      const tp = parseTraceparent(call.headers.get('traceparent'));
      const client = clients.get(tp?.parentId ?? '');
      expect(client, `traceparent of ${call.url}`).toBeDefined();
      expect(traceOf(client as ReadableSpan)).toBe(tp?.traceId);
      expect(client?.attributes['url.full']).toBe(redactUrl(call.url));
    }
  });
});

describe('statuses and error.type', () => {
  const cases: { kind: string; handler: Handler; errorType: string; status?: number }[] = [
    { kind: 'a timeout', handler: () => 'hold', errorType: 'timeout' },
    { kind: 'an upstream 500', handler: () => json({ boom: true }, 500), errorType: '500', status: 500 },
    { kind: 'a network failure', handler: () => { throw new TypeError('fetch failed'); }, errorType: 'network' },
    { kind: 'a body that is not JSON', handler: () => new Response('<html>oops', { status: 200 }), errorType: 'invalid_response', status: 200 },
  ];
  for (const c of cases) {
    it(`marks ${c.kind} as an error with error.type ${c.errorType}, on the upstream and the CLIENT span`, async () => {
      const handler: Handler = (call) => (call.target.startsWith('recs.test') ? c.handler(call) : json({ ok: true }));
      const { tracing, get } = setup(handler, { recsTimeoutMs: 50 });
      const { res, body } = await get('/v1/dashboard/42');
      expect(res.status).toBe(200); // recs is optional: a partial answer
      expect(body.errors.map((e) => e.call)).toEqual(['recs']);

      const tree = onlyTrace(tracing.spans());
      const recs = tree.one('upstream recs');
      expect(recs.status.code).toBe(SpanStatusCode.ERROR);
      expect(recs.attributes['error.type']).toBe(c.errorType);
      expect(recs.attributes['tributary.outcome']).toBe('error');
      expect(recs.attributes['tributary.cancelled']).toBeUndefined();
      const client = tree.children(recs, 'GET')[0] as ReadableSpan;
      expect(client.status.code).toBe(SpanStatusCode.ERROR);
      expect(client.attributes['error.type']).toBe(c.errorType);
      expect(client.attributes['http.response.status_code']).toBe(c.status);
      // The siblings succeeded, and a partial answer is not a server error.
      for (const ok of ['profile', 'orders']) expect(isError(tree.one(`upstream ${ok}`))).toBe(false);
      const aggregate = tree.one(`aggregate ${ROUTE}`);
      expect(aggregate.attributes).toMatchObject({ 'tributary.complete': false, 'tributary.failed': 1 });
      expect(isError(aggregate)).toBe(false);
      expect(isError(tree.server())).toBe(false);
    });
  }

  it('does not mark a sibling cancelled by a required failure as an error, but says it was cancelled and why', async () => {
    const handler: Handler = (call) => {
      if (call.target.startsWith('users.test')) return sleep(20).then(() => json({ down: true }, 503));
      return 'hold'; // orders and recs are still running when profile fails
    };
    const { tracing, fake, get } = setup(handler);
    const { res } = await get('/v1/dashboard/42');
    expect(res.status).toBe(502);
    expect(fake.to('orders.test')[0]?.abortReason).toBeDefined();

    const tree = onlyTrace(tracing.spans());
    const profile = tree.one('upstream profile');
    expect(profile.status.code).toBe(SpanStatusCode.ERROR);
    expect(profile.attributes['error.type']).toBe('503');
    for (const call of ['orders', 'recs']) {
      const span = tree.one(`upstream ${call}`);
      expect(span.status.code, call).not.toBe(SpanStatusCode.ERROR);
      expect(span.attributes['error.type']).toBeUndefined();
      expect(span.attributes['tributary.cancelled']).toBe(true);
      expect(span.attributes['tributary.cancel_reason']).toMatch(/profile/);
      expect(span.attributes['tributary.outcome']).toBe('cancelled');
      const client = tree.children(span, 'GET')[0] as ReadableSpan;
      expect(client.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(client.attributes['tributary.cancelled']).toBe(true);
    }
    // The required failure is what fails the request: aggregate and SERVER are errors.
    const aggregate = tree.one(`aggregate ${ROUTE}`);
    expect(aggregate.status.code).toBe(SpanStatusCode.ERROR);
    expect(aggregate.attributes['tributary.failed_required']).toBe('profile');
    expect(tree.server().status.code).toBe(SpanStatusCode.ERROR);
    expect(tree.server().attributes['http.response.status_code']).toBe(502);
  });

  it('marks a call never started because its dependency failed as cancelled, with no CLIENT span', async () => {
    const handler: Handler = (call) => (call.target.startsWith('users.test') ? json({}, 500) : json({ ok: true }));
    const { tracing, fake, get } = setup(handler, { profileRequired: false });
    const { res } = await get('/v1/users/42/with-manager');
    expect(res.status).toBe(502);
    expect(fake.to('users.test')).toHaveLength(1);
    const tree = onlyTrace(tracing.spans());
    const manager = tree.one('upstream manager');
    expect(isError(manager)).toBe(false);
    expect(manager.attributes['tributary.cancelled']).toBe(true);
    expect(manager.attributes['tributary.cancel_reason']).toMatch(/profile/);
    expect(tree.children(manager)).toEqual([]);
  });
});

describe('propagation', () => {
  it('sends each upstream a traceparent with the request trace id and its CLIENT span as parent', async () => {
    const { tracing, fake, get } = setup(delayed({}));
    await get('/v1/dashboard/42');
    const tree = onlyTrace(tracing.spans());
    const traceId = traceOf(tree.server());
    expect(fake.calls).toHaveLength(3);
    for (const call of fake.calls) {
      const tp = parseTraceparent(call.headers.get('traceparent'));
      expect(tp?.traceId, call.url).toBe(traceId);
      expect(tp?.flags).toBe('01');
      const client = tree.spans.find((s) => idOf(s) === tp?.parentId);
      expect(client?.kind).toBe(SpanKind.CLIENT);
    }
  });

  it('continues an inbound traceparent', async () => {
    const { tracing, fake, get } = setup(delayed({}));
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    await get('/v1/dashboard/42', { traceparent: `00-${traceId}-${parentId}-01` });
    const tree = onlyTrace(tracing.spans());
    const server = tree.server();
    expect(traceOf(server)).toBe(traceId);
    expect(server.parentSpanContext?.spanId).toBe(parentId);
    expect(server.parentSpanContext?.isRemote).toBe(true);
    for (const call of fake.calls) expect(parseTraceparent(call.headers.get('traceparent'))?.traceId).toBe(traceId);
  });

  it('starts a new trace when the inbound traceparent is malformed', async () => {
    const { tracing, get } = setup(delayed({}));
    await get('/v1/dashboard/42', { traceparent: '00-zzzz-not-a-trace-01' });
    const server = onlyTrace(tracing.spans()).server();
    expect(server.parentSpanContext).toBeUndefined();
    expect(traceOf(server)).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('url.full', () => {
  it('redacts secret-looking query values and keeps the others', async () => {
    const { tracing, fake, get } = setup(delayed({}));
    await get('/v1/dashboard/42');
    const client = onlyTrace(tracing.spans()).children(onlyTrace(tracing.spans()).one('upstream orders'), 'GET')[0] as ReadableSpan;
    const url = String(client.attributes['url.full']);
    // The upstream did receive the secrets; the span must not.
    expect(fake.to('orders.test')[0]?.url).toContain('k-123-secret');
    expect(url).not.toContain('k-123-secret');
    expect(url).not.toContain('s-456-secret');
    const query = new URL(url).searchParams;
    expect(query.get('api_key')).toBe('REDACTED');
    expect(query.get('session')).toBe('REDACTED');
    expect(query.get('user')).toBe('42');
    // Upstream headers (the orders authorization) are not attributes either.
    expect(JSON.stringify(client.attributes)).not.toContain('do-not-log-me');
  });

  it('drops credentials from the URL', () => {
    const url = redactUrl('https://alice:hunter2@api.test:8443/x?token=abc&page=2&X-Amz-Signature=def');
    expect(url).not.toContain('alice');
    expect(url).not.toContain('hunter2');
    expect(url).not.toContain('abc');
    expect(url).not.toContain('def');
    expect(url).toContain('page=2');
    expect(url.startsWith('https://api.test:8443/x?')).toBe(true);
  });
});

describe('each', () => {
  const ids = (n: number): string => Array.from({ length: n }, (_, i) => `i${i}`).join(',');

  it('with 200 elements: one upstream span with tributary.items=200 and at most 50 CLIENT spans under it', async () => {
    const { tracing, fake, get } = setup(() => json({ ok: true }));
    const { res } = await get(`/v1/items?ids=${ids(200)}`);
    expect(res.status).toBe(200);
    expect(fake.calls).toHaveLength(200);

    const tree = onlyTrace(tracing.spans());
    const upstream = tree.one('upstream items');
    expect(upstream.attributes['tributary.items']).toBe(200);
    expect(upstream.attributes['tributary.items_traced']).toBe(50);
    const clients = tree.named('GET');
    expect(clients).toHaveLength(50);
    for (const client of clients) expect(parentOf(client)).toBe(idOf(upstream));
    expect(clients.map((c) => c.attributes['tributary.item']).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    // Waits for the request's 16 slots are recorded for traced elements only, under the call's span.
    const waits = tree.named('semaphore.acquire');
    expect(waits.length).toBeLessThanOrEqual(50);
    for (const wait of waits) expect(parentOf(wait)).toBe(idOf(upstream));
    // Untraced elements still join the trace: their traceparent names the upstream span.
    const traceId = traceOf(upstream);
    const parents = fake.calls.map((c) => parseTraceparent(c.headers.get('traceparent')));
    expect(parents.every((p) => p?.traceId === traceId)).toBe(true);
    expect(parents.filter((p) => p?.parentId === idOf(upstream))).toHaveLength(150);
    expect(tree.spans.length).toBeLessThanOrEqual(3 + 50 + 50);
  });

  it('honours a smaller maxItemSpans', async () => {
    const { tracing, get } = setup(() => json({ ok: true }), {}, { maxItemSpans: 5 });
    await get(`/v1/items?ids=${ids(30)}`);
    const tree = onlyTrace(tracing.spans());
    expect(tree.named('GET')).toHaveLength(5);
    expect(tree.one('upstream items').attributes).toMatchObject({ 'tributary.items': 30, 'tributary.items_traced': 5 });
  });
});
