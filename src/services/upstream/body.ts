import { TributaryError } from '../../lib/errors.ts';
import type { UpstreamBody, UpstreamResponse } from './types.ts';

/**
 * Reads at most `limit` bytes of the body as UTF-8 and hands the text to `onText`; stops reading
 * (freeing the stream) beyond it. `onText` is called once with the text, or else `onError` once
 * with what stopped the read; what `onText` throws goes to `onError` too, which must not throw.
 * Callbacks rather than a promise: the caller's reaction goes on from here, without a promise
 * per step.
 *
 * @example
 * readBody(response, 1 << 20, 'profile', (text) => use(JSON.parse(text)), (error) => fail(error));
 */
export function readBody(response: UpstreamResponse, limit: number, label: string, onText: (text: string) => void, onError: (error: unknown) => void): void {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    discard(response).then(() => onError(tooLarge(label, limit)), onError);
    return;
  }
  const take = (text: string): void => {
    try {
      onText(text);
    } catch (error) {
      onError(error);
    }
  };
  const { body } = response;
  if (!body) return take('');
  // A transport that buffers the body hands it over whole: one reaction, no frame per call.
  if (body.readAll) {
    body.readAll(limit).then((bytes) => {
      if (!bytes) return onError(tooLarge(label, limit));
      let text: string;
      try {
        text = utf8.decode(bytes);
      } catch (error) {
        return onError(error);
      }
      take(text);
    }, onError);
    return;
  }
  readChunks(body, limit, label).then(take, onError);
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
