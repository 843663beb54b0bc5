import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { bulkheads, eventually, freePort, startGateway, type RunningGateway } from './gateway-server.ts';

interface Body {
  data: Record<string, any>;
  errors: { call: string; code: string; message: string; status?: number }[];
  meta: { complete: boolean };
}

let upstream: Upstream;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await upstream.close();
});

async function gatewayFor(baseUrl: string, calls: Record<string, unknown>, deadlineMs = 2000): Promise<RunningGateway> {
  const gw = await startGateway({
    upstreams: { u: { baseUrl, timeoutMs: 1000 } },
    endpoints: [{ path: '/v1/x', deadlineMs, calls: { ok: { upstream: 'u', path: '/json/ok' }, ...calls } as never }],
  });
  gateways.push(gw);
  return gw;
}

async function get(url: string): Promise<{ status: number; body: Body; complete: string | null }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Body, complete: res.headers.get('x-aggregate-complete') };
}

describe('network failures through the real Node transport', () => {
  it('a connection reset mid-body is `network`', async () => {
    const scope = 'reset';
    const gw = await gatewayFor(`${upstream.url}/s/${scope}`, { under: { upstream: 'u', path: '/reset' } });
    const res = await get(`${gw.url}/v1/x`);
    expect(res.status).toBe(200);
    expect(res.complete).toBe('false');
    expect(res.body.data.ok.id).toBe('ok');
    expect(res.body.errors).toEqual([expect.objectContaining({ call: 'under', code: 'network' })]);
    expect(upstream.stats(scope).byRoute.reset).toBe(1);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });
  });

  it('a required call reset mid-body answers 502', async () => {
    const scope = 'reset-required';
    const gw = await gatewayFor(`${upstream.url}/s/${scope}`, { under: { upstream: 'u', path: '/reset', required: true } });
    const res = await get(`${gw.url}/v1/x`);
    expect(res.status).toBe(502);
    expect(res.body.errors.find((e) => e.call === 'under')?.code).toBe('network');
  });

  it('a refused connection is `network`, and its message names no secret', async () => {
    const port = await freePort();
    const gw = await startGateway({
      upstreams: {
        dead: { baseUrl: `http://127.0.0.1:${port}`, headers: { 'x-api-key': 'secret-value-123' } },
        live: { baseUrl: `${upstream.url}/s/refused` },
      },
      endpoints: [{ path: '/v1/x', calls: { dead: { upstream: 'dead', path: '/json/a' }, live: { upstream: 'live', path: '/json/b' } } }],
    });
    gateways.push(gw);
    const res = await fetch(`${gw.url}/v1/x`);
    const text = await res.text();
    const body = JSON.parse(text) as Body;
    expect(res.status).toBe(200);
    expect(body.errors).toEqual([expect.objectContaining({ call: 'dead', code: 'network' })]);
    expect(body.data.live.id).toBe('b');
    expect(text).not.toContain('secret-value-123');
  });

  it('a hanging upstream times out and sees its request aborted (the socket is freed)', async () => {
    const scope = 'hang';
    const gw = await gatewayFor(`${upstream.url}/s/${scope}`, { under: { upstream: 'u', path: '/hang', timeoutMs: 100 } });
    const started = performance.now();
    const res = await get(`${gw.url}/v1/x`);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([expect.objectContaining({ call: 'under', code: 'timeout' })]);
    await eventually(() => upstream.stats(scope).aborted === 1);
    expect(upstream.stats(scope).inFlight).toBe(0);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });
  });

  it('a hanging required upstream cut by the deadline answers 504 and its request is aborted', async () => {
    const scope = 'hang-deadline';
    const gw = await gatewayFor(`${upstream.url}/s/${scope}`, { under: { upstream: 'u', path: '/hang', required: true } }, 200);
    const res = await get(`${gw.url}/v1/x`);
    expect(res.status).toBe(504);
    expect(res.body.errors.find((e) => e.call === 'under')?.code).toBe('deadline_exceeded');
    await eventually(() => upstream.stats(scope).aborted === 1);
  });

  it('a body over the limit is cancelled: the upstream does not have to send it all', async () => {
    const scope = 'huge';
    const gw = await startGateway({
      upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, maxBodyBytes: 64 * 1024 } },
      endpoints: [{ path: '/v1/x', calls: { big: { upstream: 'u', path: '/huge/50000000', query: { chunked: '1' } } } }],
    });
    gateways.push(gw);
    const started = performance.now();
    const res = await get(`${gw.url}/v1/x`);
    expect(res.body.errors).toEqual([expect.objectContaining({ call: 'big', code: 'invalid_response' })]);
    expect(performance.now() - started).toBeLessThan(1500);
    // 50 MB were never read: the stream was cancelled and the connection closed.
    await eventually(() => upstream.stats(scope).aborted === 1);
  });

  it('5xx and 404 answers (their bodies discarded), then a body over the declared size, leave the process serving', async () => {
    const scope = 'statuses';
    const gw = await gatewayFor(`${upstream.url}/s/${scope}`, {
      unavailable: { upstream: 'u', path: '/status/503' },
      missing: { upstream: 'u', path: '/status/404' },
      declaredHuge: { upstream: 'u', path: '/huge/5000000' },
    });
    for (let i = 0; i < 5; i++) {
      const res = await get(`${gw.url}/v1/x`);
      expect(res.status).toBe(200);
      expect(res.body.data.ok.id).toBe('ok');
      expect(res.body.errors.map((e) => [e.call, e.code, e.status])).toEqual([
        ['unavailable', 'http_status', 503],
        ['missing', 'http_status', 404],
        ['declaredHuge', 'invalid_response', undefined],
      ]);
    }
    // Discarded bodies destroy their streams; nothing may surface as an unhandled error.
    await new Promise((r) => setTimeout(r, 50));
    expect((await get(`${gw.url}/v1/x`)).status).toBe(200);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });
  });
});
