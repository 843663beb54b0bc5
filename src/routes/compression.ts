import type { Context } from 'hono';
import { logRequestFault, type AppEnv, type FaultLog } from './errors.ts';
import { bodyBytes } from './json-body.ts';
import type { RequestHook } from './request-frame.ts';

export type Encoding = 'br' | 'gzip';

/**
 * What compresses a body, injected by the entry that has it (Node: `node:zlib`).
 */
export interface Compressor {
  /** In order of preference, for clients that accept several equally. */
  encodings: readonly Encoding[];
  /**
   * A stream's compressor. Each chunk written must come out compressed at once (a sync flush
   * per write), so a stream's lines reach the client one by one instead of waiting in it.
   */
  create(encoding: Encoding): ReadableWritablePair<Uint8Array, Uint8Array>;
  /** A whole body at once (an answer of known length), without blocking the event loop. */
  compress(encoding: Encoding, body: Uint8Array): Promise<Uint8Array>;
}

/** Bodies smaller than this gain too little to be worth the CPU. */
export const COMPRESS_THRESHOLD_BYTES = 1024;

const COMPRESSIBLE = /^\s*(?:application\/(?:json|x-ndjson)|text\/event-stream)\s*(?:;|$)/i;
const STREAMED = /^\s*(?:application\/x-ndjson|text\/event-stream)\s*(?:;|$)/i;

/**
 * Compresses JSON answers of at least {@link COMPRESS_THRESHOLD_BYTES} and every stream (whose
 * size is not known when it starts), when the client accepts one of the compressor's encodings.
 * Leaves alone HEAD, 204/304, bodies already encoded and `Cache-Control: no-transform`. An answer
 * of known length is compressed whole and keeps a `Content-Length`; a stream is compressed chunk
 * by chunk as it is written.
 *
 * @example
 * app.use('*', requestFrame([compressionHook(nodeCompressor)], frameOptions));
 */
export function compressionHook(compressor: Compressor, log?: FaultLog): RequestHook {
  return { name: 'compression', respond: (c) => compress(c, compressor, log) };
}

function compress(c: Context<AppEnv>, compressor: Compressor, log: FaultLog | undefined): Promise<void> | undefined {
  // A client that accepts none of our encodings gets every answer as it is, with no Vary: an
  // uncompressed answer suits any client, so a cache may give it to any. Nothing is read.
  const encoding = chooseEncoding(c.req.header('accept-encoding'), compressor.encodings);
  if (!encoding) return;
  const res = c.res;
  if (c.req.method === 'HEAD' || res.status === 204 || res.status === 304) return;
  // Headers only: reading `res.body` would turn @hono/node-server's lightweight response into a
  // WHATWG one streamed on the slow path, for every answer, even the ones left uncompressed.
  const type = res.headers.get('content-type') ?? '';
  if (!COMPRESSIBLE.test(type)) return;
  if (res.headers.has('content-encoding') || /(?:^|,)\s*no-transform\s*(?:,|$)/i.test(res.headers.get('cache-control') ?? '')) return;
  // Whether this answer is compressed depends on Accept-Encoding, small or not: caches must know.
  const vary = res.headers.get('vary');
  if (!/(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(vary ?? '')) res.headers.set('vary', vary ? `${vary}, accept-encoding` : 'accept-encoding');
  const length = res.headers.get('content-length');
  if (length === null ? !STREAMED.test(type) : Number(length) < COMPRESS_THRESHOLD_BYTES) return;
  if (length !== null) return compressWhole(c, res, compressor, encoding, log);
  if (!res.body) return;
  c.res = new Response(res.body.pipeThrough(compressor.create(encoding)), res);
  // Hono's setter copies the old headers over the new response.
  c.res.headers.delete('content-length');
  c.res.headers.set('content-encoding', encoding);
}

/**
 * An answer of known length, compressed in one piece: no stream, no flush per chunk, and the
 * answer keeps a `Content-Length` (what it was written with, on @hono/node-server's fast path).
 * Should the compressor fail, the answer goes out as it was, uncompressed (a client that accepts
 * an encoding accepts none too), and the failure is logged once for the request.
 */
async function compressWhole(c: Context<AppEnv>, res: Response, compressor: Compressor, encoding: Encoding, log: FaultLog | undefined): Promise<void> {
  // The bytes the answer was made from, when the route kept them: not read back from the Response.
  const bytes = bodyBytes(res) ?? new Uint8Array(await res.arrayBuffer());
  const headers = new Headers(res.headers);
  let body: Uint8Array = bytes;
  try {
    body = await compressor.compress(encoding, bytes);
    headers.set('content-encoding', encoding);
  } catch (error) {
    // The bytes are read: the answer is rebuilt from them, with its own headers.
    if (log) logRequestFault(log, c, `compressing the answer (${encoding}) failed; it was sent uncompressed`, error);
  }
  headers.set('content-length', String(body.byteLength));
  replaceAnswer(c, new Response(body as Uint8Array<ArrayBuffer>, { status: res.status, headers }));
}

/**
 * Makes `answer` the request's answer as it is. Hono's `c.res` setter would merge it into the
 * answer it replaces, re-creating it from its `body` (a stream, which @hono/node-server writes on
 * its stream path) with the old headers copied over; `answer` has every header already.
 */
export function replaceAnswer(c: Context<AppEnv>, answer: Response): void {
  c.res = undefined as unknown as Response;
  c.res = answer;
}

/**
 * The encoding to use: the accepted one with the highest `q` (`*` counts for any not named),
 * the compressor's order on a tie; undefined when none is accepted.
 *
 * @example
 * chooseEncoding('gzip, br;q=0.8', ['br', 'gzip']); // 'gzip'
 */
export function chooseEncoding(header: string | undefined, offered: readonly Encoding[]): Encoding | undefined {
  if (!header) return undefined;
  const q = new Map<string, number>();
  for (const entry of header.split(',')) {
    const [name = '', ...params] = entry.split(';');
    const param = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const value = param === undefined ? 1 : Number(param.slice(2));
    q.set(name.trim().toLowerCase(), Number.isFinite(value) ? value : 0);
  }
  let best: { encoding: Encoding; q: number } | undefined;
  for (const encoding of offered) {
    const weight = q.get(encoding) ?? q.get('*') ?? 0;
    if (weight > 0 && (!best || weight > best.q)) best = { encoding, q: weight };
  }
  return best?.encoding;
}
