import { get, type IncomingMessage } from 'node:http';
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCompressor, ON_LOOP_BYTES } from '../../src/node/compression.ts';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { bulkheads, eventually, startGateway, type RunningGateway } from './gateway-server.ts';

let upstream: Upstream;
let gw: RunningGateway;
const scope = 'stream-compression';

beforeAll(async () => {
  upstream = await startUpstream();
  const base = `${upstream.url}/s/${scope}`;
  gw = await startGateway(
    {
      upstreams: { u: { baseUrl: base, timeoutMs: 5000 } },
      endpoints: [
        {
          path: '/v1/stream',
          deadlineMs: 8000,
          calls: { slow: { upstream: 'u', path: '/delay/1500/slow' }, fast: { upstream: 'u', path: '/json/fast' } },
        },
        { path: '/v1/big', calls: { big: { upstream: 'u', path: '/huge/4000' } } },
        { path: '/v1/bigger', calls: { big: { upstream: 'u', path: '/huge/100000' } } },
        { path: '/v1/small', calls: { small: { upstream: 'u', path: '/json/s' } } },
        { path: '/v1/hang', deadlineMs: 8000, calls: { fast: { upstream: 'u', path: '/json/f' }, hung: { upstream: 'u', path: '/hang/h' } } },
        {
          path: '/v1/mixed/:n',
          deadlineMs: 400,
          calls: {
            ok: { upstream: 'u', path: '/json/{params.n}' },
            fail: { upstream: 'u', path: '/status/503' },
            hang: { upstream: 'u', path: '/hang/{params.n}' },
            main: { upstream: 'u', path: '/status/500', query: { delay: '{params.n}' }, required: true },
          },
        },
      ],
    },
    { compressor: nodeCompressor },
  );
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

interface RawAnswer {
  res: IncomingMessage;
  /** Lines of the decoded body, each with the client's time (ms since the request) it arrived. */
  lines: AsyncIterable<{ line: string; at: number }>;
  /** Bytes of an encoded body received so far, as sent (before decoding); 0 for a plain body. */
  received: () => number;
}

/** A plain HTTP/1.1 request; the body is decoded chunk by chunk as it arrives, as a browser does. */
function request(path: string, headers: Record<string, string>): Promise<RawAnswer> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    get(`${gw.url}${path}`, { headers }, (res) => {
      let received = 0;
      const encoding = res.headers['content-encoding'];
      const decoded = encoding === 'gzip' ? res.pipe(createGunzip()) : encoding === 'br' ? res.pipe(createBrotliDecompress()) : res;
      // Piped, the body flows anyway; a plain body is left to the reader below.
      if (decoded !== res) res.on('data', (chunk: Buffer) => (received += chunk.length));
      async function* lines(): AsyncGenerator<{ line: string; at: number }> {
        let buffered = '';
        for await (const chunk of decoded) {
          buffered += String(chunk);
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            yield { line: buffered.slice(0, newline), at: performance.now() - start };
            buffered = buffered.slice(newline + 1);
          }
        }
        if (buffered !== '') yield { line: buffered, at: performance.now() - start };
      }
      resolve({ res, lines: lines(), received: () => received });
    }).once('error', reject);
  });
}

async function collect(answer: RawAnswer): Promise<{ line: string; at: number }[]> {
  const all: { line: string; at: number }[] = [];
  for await (const line of answer.lines) all.push(line);
  return all;
}

describe('compressed streams on Node', () => {
  for (const encoding of ['gzip', 'br'] as const) {
    it(`flushes each ${encoding} line as it is written: the fast call arrives while the slow one runs`, async () => {
      const answer = await request('/v1/stream', { accept: 'application/x-ndjson', 'accept-encoding': encoding });
      expect(answer.res.statusCode).toBe(200);
      expect(answer.res.headers['content-encoding']).toBe(encoding);
      const lines = await collect(answer);
      expect(lines.map((l) => JSON.parse(l.line).call ?? 'final')).toEqual(['fast', 'slow', 'final']);
      expect((lines[1]?.at ?? 0) - (lines[0]?.at ?? 0)).toBeGreaterThan(700);
      expect(lines[1]?.at).toBeGreaterThanOrEqual(1400);
    });
  }
});

describe('compressed JSON answers on Node', () => {
  it('compresses an answer over 1 KiB whole, with the best encoding the client accepts and its compressed length', async () => {
    const answer = await request('/v1/big', { 'accept-encoding': 'gzip, br' });
    expect(answer.res.headers['content-encoding']).toBe('br');
    expect(answer.res.headers['transfer-encoding']).toBeUndefined();
    expect(answer.res.headers.vary).toMatch(/accept-encoding/i);
    const text = (await collect(answer)).map((l) => l.line).join('\n');
    const body = JSON.parse(text);
    expect(body.meta.complete).toBe(true);
    expect(Number(answer.res.headers['content-length'])).toBe(answer.received());
    expect(answer.received()).toBeLessThan(text.length / 2);
  });

  it('compresses an answer larger than what is compressed on the event loop, whole', async () => {
    const plain = await request('/v1/bigger', {});
    const text = (await collect(plain)).map((l) => l.line).join('\n');
    expect(Buffer.byteLength(text)).toBeGreaterThan(ON_LOOP_BYTES);
    const answer = await request('/v1/bigger', { 'accept-encoding': 'br' });
    expect(answer.res.headers['content-encoding']).toBe('br');
    const decoded = (await collect(answer)).map((l) => l.line).join('\n');
    expect(JSON.parse(decoded).data).toEqual(JSON.parse(text).data);
    expect(Number(answer.res.headers['content-length'])).toBe(answer.received());
  });

  it('compresses the OpenAPI document too, with its compressed length', async () => {
    const plain = await request('/openapi.json', {});
    const text = (await collect(plain)).map((l) => l.line).join('\n');
    expect(JSON.parse(text).paths['/v1/big']).toBeDefined();
    expect(Number(plain.res.headers['content-length'])).toBe(Buffer.byteLength(text));
    const gzipped = await request('/openapi.json', { 'accept-encoding': 'gzip' });
    expect(gzipped.res.headers['content-encoding']).toBe('gzip');
    expect((await collect(gzipped)).map((l) => l.line).join('\n')).toBe(text);
    expect(Number(gzipped.res.headers['content-length'])).toBe(gzipped.received());
    expect(gzipped.received()).toBeLessThan(text.length / 2);
  });

  it('leaves an answer under 1 KiB, and a client that accepts no encoding, uncompressed', async () => {
    const small = await request('/v1/small', { 'accept-encoding': 'gzip, br' });
    expect(small.res.headers['content-encoding']).toBeUndefined();
    expect(small.res.headers.vary).toBe('accept, accept-encoding');
    expect(JSON.parse((await collect(small))[0]?.line ?? '').data.small.id).toBe('s');
    const plain = await request('/v1/big', {});
    expect(plain.res.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse((await collect(plain)).map((l) => l.line).join('\n')).meta.complete).toBe(true);
  });
});

describe('a streaming client disconnecting on Node', () => {
  it('cancels the calls still running', async () => {
    const answer = await request('/v1/hang', { accept: 'application/x-ndjson', 'accept-encoding': 'gzip' });
    const iterator = answer.lines[Symbol.asyncIterator]();
    expect(JSON.parse((await iterator.next()).value.line).call).toBe('fast');
    await eventually(() => upstream.stats(scope).inFlight === 1);
    answer.res.destroy();
    await eventually(() => upstream.stats(scope).aborted === 1, 3000);
    expect(upstream.stats(scope).inFlight).toBe(0);
    expect(gw.faults).toEqual([]);
  });
});

describe('streams leave nothing behind on Node', () => {
  it('after streamed requests that fail, time out or lose their client, no permit is held and no upstream request is open', async () => {
    const requests: Promise<unknown>[] = [];
    for (let n = 0; n < 20; n++) {
      const headers = { accept: n % 2 === 0 ? 'application/x-ndjson' : 'text/event-stream', 'accept-encoding': n % 3 === 0 ? 'br' : 'gzip' };
      const controller = new AbortController();
      // Every fourth client leaves mid-stream.
      if (n % 4 === 3) setTimeout(() => controller.abort(), 30 + n * 5);
      requests.push(
        fetch(`${gw.url}/v1/mixed/${n * 20}`, { headers, signal: controller.signal }).then(
          async (res) => {
            expect(res.status).toBe(200);
            const text = await res.text();
            expect(text).toMatch(/"status":(502|504)/);
          },
          (error: unknown) => expect(controller.signal.aborted, String(error)).toBe(true),
        ).catch((error: unknown) => {
          if (!controller.signal.aborted) throw error;
        }),
      );
    }
    const settled = await Promise.allSettled(requests);
    expect(settled.filter((r) => r.status === 'rejected')).toEqual([]);
    await eventually(() => bulkheads(gw.engine).u?.running === 0 && upstream.stats(scope).inFlight === 0, 3000);
    expect(bulkheads(gw.engine)).toEqual({ u: { running: 0, waiting: 0 } });
    expect(gw.faults).toEqual([]);
  });
});
