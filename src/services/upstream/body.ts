import { TributaryError } from '../../lib/errors.ts';
import type { UpstreamBody, UpstreamResponse } from './types.ts';

/** Reads at most `limit` bytes of the body as UTF-8; stops reading (freeing the stream) beyond it. */
export function readLimited(response: UpstreamResponse, limit: number, label: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) return discard(response).then(() => Promise.reject(tooLarge(label, limit)));
  const { body } = response;
  if (!body) return Promise.resolve('');
  // A transport that buffers the body hands it over whole: one reaction, no frame per call.
  if (body.readAll) {
    return body.readAll(limit).then((bytes) => {
      if (!bytes) throw tooLarge(label, limit);
      return utf8.decode(bytes);
    });
  }
  return readChunks(body, limit, label);
}

async function readChunks(body: UpstreamBody, limit: number, label: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early, by the throw, ends the iteration: the stream is cancelled.
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(label, limit);
    chunks.push(chunk);
  }
  if (chunks.length === 1) return utf8.decode(chunks[0]);
  // Decoded as one run of bytes: a character may be split between two chunks.
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return utf8.decode(bytes);
}

/** Stateless when called without `stream`, so one decoder serves every call. */
const utf8 = new TextDecoder();

const tooLarge = (label: string, limit: number): TributaryError =>
  new TributaryError('invalid_response', `${label}: response body is larger than ${limit} bytes`);

/** Frees the connection without reading the body. */
export async function discard(response: UpstreamResponse): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The stream may already be broken; there is nothing left to free.
  }
}
