import { describe, expect, it } from 'vitest';
import { readLimited } from '../../src/services/upstream/body.ts';
import type { UpstreamResponse } from '../../src/services/upstream/types.ts';

/** An upstream answer whose body arrives in exactly these byte chunks. */
function answer(chunks: Uint8Array[]): UpstreamResponse {
  return {
    status: 200,
    headers: { get: () => null },
    body: {
      async *[Symbol.asyncIterator]() {
        yield* chunks;
      },
      cancel: async () => {},
    },
  };
}

describe('readLimited', () => {
  const bytes = new TextEncoder().encode(JSON.stringify({ name: 'Zoë', price: '12 €' }));

  it('decodes a body of one chunk', async () => {
    expect(JSON.parse(await readLimited(answer([bytes]), 1 << 20, 'c'))).toEqual({ name: 'Zoë', price: '12 €' });
  });

  it('decodes characters whose bytes are split between chunks', async () => {
    // One byte per chunk: every multi-byte character (ë, €) is cut.
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    expect(JSON.parse(await readLimited(answer(chunks), 1 << 20, 'c'))).toEqual({ name: 'Zoë', price: '12 €' });
  });
});
