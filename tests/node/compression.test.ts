/** Node's compressor: whole answers, small ones at once on the event loop, larger ones on libuv's thread pool. */
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { nodeCompressor, ON_LOOP_BYTES } from '../../src/node/compression.ts';

/** A JSON text of exactly `bytes` bytes, as repetitive as an answer listing many similar items. */
function jsonOf(bytes: number): Uint8Array {
  let text = '[';
  for (let i = 0; ; i++) {
    const item = `${i === 0 ? '' : ','}${JSON.stringify({ id: String(i), name: `Item ${i}`, price: (i % 97) / 10 })}`;
    if (text.length + item.length + 1 > bytes) break;
    text += item;
  }
  return new TextEncoder().encode(`${text}${' '.repeat(bytes - text.length - 1)}]`);
}

const decode = { br: brotliDecompressSync, gzip: gunzipSync } as const;

describe('nodeCompressor.compress', () => {
  for (const encoding of ['br', 'gzip'] as const) {
    for (const [size, bytes] of [
      ['a small answer (4 KiB)', 4 * 1024],
      [`an answer just over ${ON_LOOP_BYTES / 1024} KiB`, ON_LOOP_BYTES + 1],
      ['a large answer (1 MiB)', 1024 * 1024],
    ] as const) {
      it(`${encoding}: ${size} comes back whole and smaller`, async () => {
        const body = jsonOf(bytes);
        expect(body.byteLength).toBe(bytes);
        const compressed = await nodeCompressor.compress(encoding, body);
        expect(compressed.byteLength).toBeLessThan(body.byteLength / 3);
        expect(new Uint8Array(decode[encoding](compressed))).toEqual(body);
      });
    }

    it(`${encoding}: an answer up to ${ON_LOOP_BYTES / 1024} KiB is compressed at once, not after a trip through the thread pool`, async () => {
      let settled = false;
      const compressing = nodeCompressor.compress(encoding, jsonOf(ON_LOOP_BYTES)).then(() => (settled = true));
      // One turn of the event loop: a job on the thread pool has not come back by then.
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).toBe(true);
      await compressing;
    });
  }
});
