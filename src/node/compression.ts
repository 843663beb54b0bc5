import { Duplex } from 'node:stream';
import { brotliCompress, constants, createBrotliCompress, createGzip, gzip } from 'node:zlib';
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
    return new Promise((resolve, reject) => {
      const done = (error: Error | null, result: Buffer): void => (error ? reject(error) : resolve(result));
      if (encoding === 'br') {
        // The size lets the encoder size its buffers for this body instead of for a stream.
        brotliCompress(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 4, [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength } }, done);
      } else {
        gzip(body, done);
      }
    });
  },
};
