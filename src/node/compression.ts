import { Duplex } from 'node:stream';
import { brotliCompress, brotliCompressSync, constants, createBrotliCompress, createGzip, gzip, gzipSync, type BrotliOptions } from 'node:zlib';
import type { Compressor } from '../routes/compression.ts';

/**
 * Brotli and gzip from `node:zlib`: a stream flushed after every chunk (its lines leave one by
 * one), a whole answer in one piece on libuv's thread pool. Brotli at quality 4: dynamic
 * answers, compressed once each, where 11 costs far more CPU than it saves bytes. Hono's own
 * `compress` middleware is not used: it builds on `CompressionStream`, which has no brotli in
 * Node 24 and cannot flush per line.
 *
 * @example
 * createApp({ plan, fetcher, compressor: nodeCompressor });
 */
export const nodeCompressor: Compressor = {
  encodings: ['br', 'gzip'],
  create(encoding) {
    const zlib =
      encoding === 'br'
        ? createBrotliCompress({ flush: constants.BROTLI_OPERATION_FLUSH, params: { [constants.BROTLI_PARAM_QUALITY]: 4 } })
        : createGzip({ flush: constants.Z_SYNC_FLUSH });
    return Duplex.toWeb(zlib) as ReadableWritablePair<Uint8Array, Uint8Array>;
  },
  compress(encoding, body) {
    if (body.byteLength <= ON_LOOP_BYTES) {
      try {
        return Promise.resolve(encoding === 'br' ? brotliCompressSync(body, wholeBrotli(body)) : gzipSync(body));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return new Promise((resolve, reject) => {
      const done = (error: Error | null, result: Buffer): void => (error ? reject(error) : resolve(result));
      if (encoding === 'br') brotliCompress(body, wholeBrotli(body), done);
      else gzip(body, done);
    });
  },
};

/**
 * Bodies up to this size are compressed on the event loop, at once: for them the hop to libuv's
 * thread pool and back costs more time than the compression (a 4 KiB answer: 0.06–0.09 ms of
 * brotli in isolation, 0.23 ms inside a busy gateway; 0.3–0.6 ms more through the pool there).
 * Larger ones go to the pool, so the loop never waits for the compression of a large answer.
 */
export const ON_LOOP_BYTES = 32 * 1024;

/** Brotli for a whole body: the size lets the encoder size its buffers for it instead of for a stream. */
function wholeBrotli(body: Uint8Array): BrotliOptions {
  return { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength } };
}
