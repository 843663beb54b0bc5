import { Duplex } from 'node:stream';
import { constants, createBrotliCompress, createGzip } from 'node:zlib';
import type { Compressor } from '../routes/compression.ts';

/**
 * Brotli and gzip from `node:zlib`, flushed after every chunk (a stream's lines leave one by
 * one). Brotli at quality 4: dynamic answers, compressed once each, where 11 costs far more
 * CPU than it saves bytes. Hono's own `compress` middleware is not used: it builds on
 * `CompressionStream`, which has no brotli in Node 24 and cannot flush per line.
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
};
