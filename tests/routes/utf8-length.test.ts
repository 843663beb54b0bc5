import { describe, expect, it } from 'vitest';
import { utf8Length } from '../../src/routes/utf8-length.ts';

const encoded = (text: string): number => new TextEncoder().encode(text).byteLength;

describe('utf8Length', () => {
  it('is the byte count TextEncoder writes, for every width of character', () => {
    for (const text of ['', 'plain ascii {"a":1}', 'café', 'Ωmega', '日本語', 'wave 🌊 and 👩‍👩‍👧', 'mixed é日🌊 end', '\u0000\u007f\u0080\u07ff\u0800\uffff']) {
      expect(utf8Length(text), JSON.stringify(text)).toBe(encoded(text));
    }
  });

  it('counts a lone surrogate as U+FFFD, three bytes, wherever it stands', () => {
    for (const text of ['\ud800', '\udc00', 'a\ud83c', '\ud83cz', '\udf0a\ud83c', 'x\ud83c\ud83c\udf0a']) {
      expect(utf8Length(text), JSON.stringify(text)).toBe(encoded(text));
    }
  });

  it('agrees with TextEncoder on random strings of every code unit', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let n = 0; n < 2000; n++) {
      const units = Array.from({ length: next() % 40 }, () => {
        const pick = next() % 4;
        return pick === 0 ? next() % 0x80 : pick === 1 ? 0xd800 + (next() % 0x800) : next() % 0x10000;
      });
      const text = String.fromCharCode(...units);
      expect(utf8Length(text)).toBe(encoded(text));
    }
  });
});
