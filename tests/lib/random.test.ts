import { describe, expect, it } from 'vitest';
import { putHex, randomInto, randomUuid } from '../../src/lib/random.ts';

describe('randomUuid', () => {
  it('makes version 4 UUIDs in lower case, as crypto.randomUUID does, each different', () => {
    const seen = new Set<string>();
    // More than one pool of random bytes (4 KiB is 256 UUIDs): the refill is crossed several times.
    for (let i = 0; i < 2000; i++) {
      const id = randomUuid();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(2000);
    expect(crypto.randomUUID()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('spreads its hex digits evenly (no position stuck)', () => {
    const counts = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 500; i++) [...randomUuid()].forEach((c, at) => counts[at]!.add(c));
    const fixed = counts.map((s, at) => (s.size === 1 ? at : -1)).filter((at) => at >= 0);
    // The four dashes and the version digit are the only fixed characters.
    expect(fixed).toEqual([8, 13, 14, 18, 23]);
    expect(counts[19]!.size).toBe(4); // the variant: 8, 9, a or b
  });
});

describe('randomInto', () => {
  it('hands out bytes across the pool refills for any length, never a byte it does not have', () => {
    // 12 does not divide the 4 KiB pool: draws end short of its end and must refill, not run past it.
    const into = new Array<number>(13);
    for (let i = 0; i < 3000; i++) {
      randomInto(into, i % 2 === 0 ? 12 : 13);
      const drawn = into.slice(0, i % 2 === 0 ? 12 : 13);
      expect(drawn.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)).toBe(true);
    }
  });

  it('refuses more bytes than its pool holds at once', () => {
    expect(() => randomInto([], 4097)).toThrow(RangeError);
  });

  it('fills the asked length with bytes and returns their OR', () => {
    const into = new Array<number>(16).fill(-1);
    const any = randomInto(into, 12);
    expect(into.slice(0, 12).every((b) => Number.isInteger(b) && b >= 0 && b <= 255)).toBe(true);
    expect(into.slice(12)).toEqual([-1, -1, -1, -1]);
    expect(any).toBe(into.slice(0, 12).reduce((a, b) => a | b, 0));
  });

  it('putHex writes the two lower-case hex digits of every byte value where it is told', () => {
    const codes = [0, 0, 0];
    for (let byte = 0; byte < 256; byte++) {
      putHex(codes, 1, byte);
      expect(String.fromCharCode(...codes.slice(1))).toBe(byte.toString(16).padStart(2, '0'));
      expect(codes[0]).toBe(0);
    }
  });
});
