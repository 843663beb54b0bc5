/**
 * What a client of the real Node server reads in an answer's headers: each of the request's own
 * headers (its id) exactly once, on every kind of answer, and a Content-Length that matches.
 */
import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeCompressor } from '../../src/node/compression.ts';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { startGateway, type RunningGateway } from './gateway-server.ts';

let upstream: Upstream;
let gw: RunningGateway;

beforeAll(async () => {
  upstream = await startUpstream();
  const base = `${upstream.url}/s/answer-headers`;
  gw = await startGateway(
    {
      upstreams: { u: { baseUrl: base, timeoutMs: 5000 } },
      endpoints: [
        { path: '/v1/ok/:id', input: { params: { id: { type: 'string', pattern: '^[0-9]+$' } } }, calls: { a: { upstream: 'u', path: '/json/{params.id}' } } },
        { path: '/v1/failing', calls: { a: { upstream: 'u', path: '/status/503', required: true } } },
        { path: '/v1/big', calls: { big: { upstream: 'u', path: '/huge/4000' } } },
        { path: '/v1/word/:word', input: { params: { word: { type: 'string' } } }, calls: { a: { upstream: 'u', path: '/json/{params.word}' } } },
      ],
    },
    { compressor: nodeCompressor },
  );
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

interface Raw {
  status: number;
  /** Header names, lower-cased, in the order they were written, with duplicates. */
  names: string[];
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function fetchRaw(path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    get(`${gw.url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const names = res.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
        resolve({ status: res.statusCode ?? 0, names, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

const once = (raw: Raw, name: string): number => raw.names.filter((n) => n === name).length;

describe('answer headers on the Node server', () => {
  it('an endpoint answer carries its id once, with its own headers and an exact Content-Length', async () => {
    const raw = await fetchRaw('/v1/ok/7', { 'x-request-id': 'req-ok-7' });
    expect(raw.status).toBe(200);
    expect(raw.headers['x-request-id']).toBe('req-ok-7');
    for (const name of ['x-request-id', 'content-type', 'content-length', 'cache-control', 'server-timing', 'x-aggregate-complete', 'vary']) {
      expect(once(raw, name), name).toBe(1);
    }
    expect(Number(raw.headers['content-length'])).toBe(raw.body.byteLength);
    expect(JSON.parse(raw.body.toString())).toMatchObject({ meta: { complete: true } });
  });

  it('an answer with characters beyond ASCII has a Content-Length in bytes, not characters', async () => {
    const word = 'café-日本-🌊';
    const raw = await fetchRaw(`/v1/word/${encodeURIComponent(word)}`);
    expect(raw.status).toBe(200);
    expect(Number(raw.headers['content-length'])).toBe(raw.body.byteLength);
    expect(raw.body.toString()).toContain(word);
    expect(JSON.parse(raw.body.toString())).toMatchObject({ meta: { complete: true } });
  });

  it('a 502, a 400 and a 404 carry it once too', async () => {
    for (const [path, status] of [
      ['/v1/failing', 502],
      ['/v1/ok/abc', 400],
      ['/nowhere', 404],
    ] as const) {
      const raw = await fetchRaw(path, { 'x-request-id': `req-${status}` });
      expect(raw.status, path).toBe(status);
      expect(raw.headers['x-request-id'], path).toBe(`req-${status}`);
      expect(once(raw, 'x-request-id'), path).toBe(1);
    }
  });

  it('a compressed answer keeps its id and its own headers, once each, with the compressed Content-Length, and says how it varies', async () => {
    const raw = await fetchRaw('/v1/big', { 'x-request-id': 'req-big', 'accept-encoding': 'gzip' });
    expect(raw.status).toBe(200);
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(raw.headers['x-request-id']).toBe('req-big');
    for (const name of ['x-request-id', 'content-type', 'content-length', 'content-encoding', 'cache-control', 'server-timing', 'x-aggregate-complete', 'vary']) {
      expect(once(raw, name), name).toBe(1);
    }
    expect(Number(raw.headers['content-length'])).toBe(raw.body.byteLength);
    expect(raw.headers.vary).toBe('accept, accept-encoding');
    expect(JSON.parse(gunzipSync(raw.body).toString())).toMatchObject({ meta: { complete: true } });
  });
});
