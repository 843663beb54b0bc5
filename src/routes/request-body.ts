import type { Context } from 'hono';

/** What reading a client's JSON body came to. */
export type BodyRead =
  | { kind: 'json'; value: unknown }
  /** Sent, but not JSON. */
  | { kind: 'invalid' }
  /** Nothing was sent (`content-length: 0`, or an empty stream). */
  | { kind: 'empty' }
  /** Refused before or while reading: too large (413), or not `application/json` (415). */
  | { kind: 'refused'; status: 413 | 415; code: 'body_too_large' | 'unsupported_media_type'; message: string }
  /** `signal` aborted first (the client left, or the server cut the request off): its reason. */
  | { kind: 'stopped'; reason: unknown };

/**
 * Whether the request says it carries a body. Only the framing headers count, so a body that is
 * not wanted is never touched: in HTTP/1.1 a request without `content-length` or
 * `transfer-encoding` has none.
 */
export function announcesBody(headers: Headers): boolean {
  if (headers.has('transfer-encoding')) return true;
  const length = headers.get('content-length');
  return length !== null && length.trim() !== '0';
}

/**
 * Reads the request's body as JSON, at most `maxBytes` of it. Refused without reading a byte:
 * a body that is not `application/json` (or `+json`), so a cross-site form or a `text/plain`
 * `fetch` cannot post one without a CORS preflight, and a `content-length` above the limit.
 * A body sent in chunks is counted as it arrives and reading stops at the limit. A read that
 * fails (the client went away mid-upload) or an abort of `signal` is `stopped`, not an error.
 *
 * @example
 * const read = await readJsonBody(c, 1024 * 1024, signal);
 * if (read.kind === 'refused') return c.json({ error: { code: read.code, message: read.message } }, read.status);
 */
export async function readJsonBody(c: Context, maxBytes: number, signal: AbortSignal): Promise<BodyRead> {
  const request = c.req.raw;
  const length = request.headers.get('content-length');
  if (length !== null && length.trim() === '0') return { kind: 'empty' };
  if (request.body === null) return { kind: 'empty' };
  const type = mediaType(request.headers.get('content-type'));
  if (type === undefined || !isJson(type)) {
    const got = type === undefined ? 'the request has no content-type' : `got ${type}`;
    return { kind: 'refused', status: 415, code: 'unsupported_media_type', message: `the request body must be application/json; ${got}` };
  }
  // Node's parser has checked content-length, and delivers exactly that many bytes.
  const declared = length === null || request.headers.has('transfer-encoding') ? undefined : Number(length);
  if (declared !== undefined && declared > maxBytes) return tooLarge(maxBytes);
  if (signal.aborted) return { kind: 'stopped', reason: signal.reason };

  let text: string | { over: true };
  try {
    text = await untilAborted(declared === undefined ? readCounted(request, maxBytes, signal) : c.req.text(), signal);
  } catch (error) {
    return { kind: 'stopped', reason: signal.aborted ? signal.reason : error };
  }
  if (typeof text !== 'string') return tooLarge(maxBytes);
  if (text.length === 0) return { kind: 'empty' };
  try {
    return { kind: 'json', value: JSON.parse(text) };
  } catch {
    return { kind: 'invalid' };
  }
}

function tooLarge(maxBytes: number): BodyRead {
  return { kind: 'refused', status: 413, code: 'body_too_large', message: `the request body is larger than ${maxBytes} bytes` };
}

/** `type/subtype` in lower case, without parameters; undefined when absent or empty. */
function mediaType(header: string | null): string | undefined {
  if (header === null) return undefined;
  const semicolon = header.indexOf(';');
  const type = (semicolon < 0 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  return type === '' ? undefined : type;
}

function isJson(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** A body of unknown length, read chunk by chunk; stops (and cancels the stream) past `maxBytes`. */
async function readCounted(request: Request, maxBytes: number, signal: AbortSignal): Promise<string | { over: true }> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving early (limit, abort) cancels the stream, so nothing more is buffered for us.
  const stop = (): void => void reader.cancel().catch(() => {});
  signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        stop();
        return { over: true };
      }
      chunks.push(value);
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** `work`, or a rejection with `signal.reason` as soon as it aborts; no listener left behind. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
