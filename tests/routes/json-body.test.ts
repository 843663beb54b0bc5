import { describe, expect, it } from 'vitest';
import { jsonBody } from '../../src/routes/json-body.ts';

describe('jsonBody', () => {
  it('keeps ASCII text a string, its length its byte count', () => {
    for (const text of ['{}', '{"a":1,"b":"plain \\u00e9 escaped"}', '{"c":"\\u0000\\u007f"}']) {
      expect(jsonBody(text)).toEqual({ body: text, bytes: text.length });
    }
  });

  it('gives other text as the UTF-8 bytes TextEncoder writes, with their count', () => {
    for (const text of ['{"a":"café"}', '{"w":"🌊 日本"}', '{"x":"\u0080"}', 'ascii first, then one é at the end']) {
      const expected = new TextEncoder().encode(text);
      const { body, bytes } = jsonBody(text);
      expect(body).toEqual(expected);
      expect(bytes).toBe(expected.byteLength);
      expect(bytes).toBeGreaterThan(text.length);
    }
  });
});
