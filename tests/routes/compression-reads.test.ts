/**
 * The compression hook decides from an answer's headers: an answer it leaves alone is never
 * read. (Reading `body` turns @hono/node-server's lightweight response into a WHATWG one written
 * on its slow path: ×1.14 CPU per request on small answers, measured with bench:compare.)
 */
import { Hono } from 'hono';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/app.ts';
import { nodeCompressor } from '../../src/node/compression.ts';
import { compressionHook, replaceAnswer, type Compressor } from '../../src/routes/compression.ts';
import { onError, type AppEnv, type FaultLog } from '../../src/routes/errors.ts';
import { bodied } from '../../src/routes/json-body.ts';
import { requestFrame } from '../../src/routes/request-frame.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json as upstreamJson } from '../services/fake-fetcher.ts';

const bodyOf = Object.getOwnPropertyDescriptor(Response.prototype, 'body')?.get as (this: Response) => ReadableStream | null;

/** A JSON answer that counts how often its body is read, as a stream or whole. */
function counted(json: string): { response: Response; reads: () => number } {
  const response = new Response(json, { headers: { 'content-type': 'application/json', 'content-length': String(json.length) } });
  let reads = 0;
  Object.defineProperty(response, 'body', {
    get() {
      reads++;
      return bodyOf.call(response);
    },
  });
  for (const method of ['arrayBuffer', 'bytes', 'text', 'json', 'blob'] as const) {
    const read = Response.prototype[method] as (this: Response) => Promise<unknown>;
    Object.defineProperty(response, method, {
      value: () => {
        reads++;
        return read.call(response);
      },
    });
  }
  return { response, reads: () => reads };
}

function appAnswering(answer: Response, compressor: Compressor = nodeCompressor, log: FaultLog = () => {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestFrame([compressionHook(compressor, log)], { onError: onError(log), log }));
  app.get('/', () => answer);
  return app;
}

describe('compression reads only what it compresses', () => {
  it('leaves a small JSON answer unread, and says Vary: accept-encoding to a client that could decode', async () => {
    const small = counted('{"ok":true}');
    const res = await appAnswering(small.response).request('/', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.headers.get('content-encoding')).toBe(null);
    expect(res.headers.get('vary')).toBe('accept-encoding');
    expect(small.reads()).toBe(0);
  });

  it('leaves any answer unread, with no Vary, for a client that accepts no encoding it offers', async () => {
    const big = counted(JSON.stringify({ text: 'x'.repeat(4096) }));
    const res = await appAnswering(big.response).request('/');
    expect(res.headers.get('content-encoding')).toBe(null);
    expect(res.headers.get('vary')).toBe(null);
    expect(big.reads()).toBe(0);
    expect((await res.json()) as { text: string }).toEqual({ text: 'x'.repeat(4096) });
  });

  it('reads and compresses an answer over 1 KiB for a client that accepts gzip, whole, with its compressed length', async () => {
    const json = JSON.stringify({ text: 'x'.repeat(4096) });
    const big = counted(json);
    const res = await appAnswering(big.response).request('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(big.reads()).toBeGreaterThan(0);
    const compressed = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(compressed.byteLength);
    expect(compressed.byteLength).toBeLessThan(json.length / 10);
    expect(gunzipSync(compressed).toString()).toBe(json);
  });

  for (const [kind, json] of [
    ['ASCII', JSON.stringify({ text: 'x'.repeat(4096) })],
    ['UTF-8', JSON.stringify({ text: 'é'.repeat(4096) })],
  ] as const) {
    it(`compresses an answer the route made from its ${kind} text from that text, without reading the answer back`, async () => {
      const payload = kind === 'ASCII' ? json : new TextEncoder().encode(json);
      const made = counted(json);
      const res = await appAnswering(bodied(made.response, payload)).request('/', { headers: { 'accept-encoding': 'gzip' } });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(made.reads()).toBe(0);
      const compressed = new Uint8Array(await res.arrayBuffer());
      expect(Number(res.headers.get('content-length'))).toBe(compressed.byteLength);
      expect(gunzipSync(compressed).toString()).toBe(json);
    });
  }

  it("compresses an endpoint's answer from the text the endpoint made, without reading the answer back", async () => {
    const plan = compilePlan({
      upstreams: { u: { baseUrl: 'http://u.test' } },
      endpoints: [{ path: '/v1/items', calls: { items: { upstream: 'u', path: '/items' } } }],
    });
    const items = Array.from({ length: 100 }, (_, i) => ({ id: String(i), name: `Item ${i}` }));
    const { app } = createApp({ plan, fetcher: fakeFetcher(() => upstreamJson(items)).fetcher, compressor: nodeCompressor });
    const read = vi.spyOn(Response.prototype, 'arrayBuffer');
    try {
      const res = await app.request('/v1/items', { headers: { 'accept-encoding': 'gzip' } });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      // Whatever else read its body (the upstream's answer), the gateway's answer was not read back.
      expect(read.mock.contexts.some((r) => (r as Response).headers.has('x-aggregate-complete'))).toBe(false);
      const body = JSON.parse(gunzipSync(new Uint8Array(await res.arrayBuffer())).toString()) as { data: { items: unknown } };
      expect(body.data.items).toEqual(items);
    } finally {
      read.mockRestore();
    }
  });

  it('keeps the status and every header but the length of a compressed answer: a 502 with cookies and an ETag', async () => {
    const json = JSON.stringify({ errors: [{ call: 'a', message: 'é'.repeat(2048) }] });
    const headers = new Headers({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)), etag: 'W/"x"', 'x-request-id': 'r-1' });
    headers.append('set-cookie', 'a=1');
    headers.append('set-cookie', 'b=2');
    const res = await appAnswering(new Response(json, { status: 502, headers })).request('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(502);
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect(res.headers.get('etag')).toBe('W/"x"');
    expect(res.headers.get('x-request-id')).toBe('r-1');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    const compressed = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(compressed.byteLength);
    expect(gunzipSync(compressed).toString()).toBe(json);
  });

  it('sends the answer uncompressed, whole and with its own length, when the compressor fails, and logs why', async () => {
    const json = JSON.stringify({ text: 'x'.repeat(4096) });
    const failing: Compressor = { ...nodeCompressor, compress: () => Promise.reject(new Error('zlib broke')) };
    const logged: { message: string; error: unknown }[] = [];
    const log: FaultLog = (message, error) => void logged.push({ message, error });
    const res = await appAnswering(new Response(json, { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(json.length) } }), failing, log).request('/', {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe(null);
    expect(res.headers.get('vary')).toBe('accept-encoding');
    expect(res.headers.get('content-length')).toBe(String(json.length));
    expect(await res.text()).toBe(json);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.message).toMatch(/GET \(unmatched\)\): compressing the answer \(gzip\) failed; it was sent uncompressed/);
    expect((logged[0]!.error as Error).message).toBe('zlib broke');
  });
});

describe('replaceAnswer', () => {
  it('makes the given response the answer as it is, not a copy merged into the old one', async () => {
    const app = new Hono<AppEnv>();
    const replacement = new Response('{"b":2}', { headers: { 'content-type': 'application/json', 'x-new': '1' } });
    let seen: Response | undefined;
    app.use('*', async (c, next) => {
      await next();
      replaceAnswer(c, replacement);
      seen = c.res;
    });
    app.get('/', (c) => c.json({ a: 1 }, 200, { 'x-old': '1' }));
    const res = await app.request('/');
    expect(seen).toBe(replacement);
    expect(res.headers.get('x-old')).toBe(null);
    expect(await res.json()).toEqual({ b: 2 });
  });
});
