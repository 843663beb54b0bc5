import { describe, expect, it } from 'vitest';
import { readBody } from '../../src/services/upstream/body.ts';
import type { UpstreamBody, UpstreamResponse } from '../../src/services/upstream/types.ts';

/** An upstream answer whose body arrives in exactly these byte chunks. */
function answer(chunks: Uint8Array[], headers: Record<string, string> = {}, readAll?: UpstreamBody['readAll']): UpstreamResponse {
  return {
    status: 200,
    headers: { get: (name) => headers[name] ?? null },
    body: {
      async *[Symbol.asyncIterator]() {
        yield* chunks;
      },
      cancel: async () => {},
      ...(readAll ? { readAll } : {}),
    },
  };
}

/** What readBody hands over: the text, or the error. */
function read(response: UpstreamResponse, limit: number): Promise<{ text?: string; error?: unknown }> {
  return new Promise((resolve) => {
    readBody(response, limit, 'c', (text) => resolve({ text }), (error) => resolve({ error }));
  });
}

describe('readBody', () => {
  const bytes = new TextEncoder().encode(JSON.stringify({ name: 'Zoë', price: '12 €' }));

  it('decodes a body of one chunk', async () => {
    const { text } = await read(answer([bytes]), 1 << 20);
    expect(JSON.parse(text as string)).toEqual({ name: 'Zoë', price: '12 €' });
  });

  it('decodes characters whose bytes are split between chunks', async () => {
    // One byte per chunk: every multi-byte character (ë, €) is cut.
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    const { text } = await read(answer(chunks), 1 << 20);
    expect(JSON.parse(text as string)).toEqual({ name: 'Zoë', price: '12 €' });
  });

  it('a body over the limit, declared or read whole, is an error naming the limit; a whole read that fails passes its error on', async () => {
    const declared = await read(answer([bytes], { 'content-length': '5000' }), 1000);
    expect(String(declared.error)).toContain('c: response body is larger than 1000 bytes');
    const whole = await read(answer([], {}, async () => undefined), 1000);
    expect(String(whole.error)).toContain('c: response body is larger than 1000 bytes');
    const reset = new Error('socket hang up');
    expect((await read(answer([], {}, () => Promise.reject(reset)), 1000)).error).toBe(reset);
  });

  it('what the text callback throws reaches the error callback, and only one of them is called', async () => {
    const thrown = new Error('not the expected shape');
    for (const response of [answer([bytes]), answer([], {}, async () => bytes)]) {
      let caught: unknown;
      const calls = { text: 0, error: 0 };
      await new Promise<void>((resolve) => {
        readBody(
          response,
          1 << 20,
          'c',
          () => {
            calls.text++;
            throw thrown;
          },
          (error) => {
            calls.error++;
            caught = error;
            resolve();
          },
        );
      });
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(caught).toBe(thrown);
      expect(calls).toEqual({ text: 1, error: 1 });
    }
  });
});
