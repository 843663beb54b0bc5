import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../src/services/upstream/json-depth.ts';

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('nestsDeeperThan: the depth check before an upstream answer is parsed', () => {
  it('allows exactly the limit, refuses one level more, also at the shortest text that can hold it', () => {
    for (const max of [1, 4, 64]) {
      expect(nestsDeeperThan(nested(max), max)).toBe(false);
      expect(nestsDeeperThan(nested(max + 1), max)).toBe(true);
      expect(nestsDeeperThan(`{"a":${nested(max)}}`, max)).toBe(true);
      expect(nestsDeeperThan(`{"a":${nested(max - 1)}}`, max)).toBe(false);
    }
  });

  it('counts objects and arrays alike, and no bracket inside a string, escaped quotes included', () => {
    expect(nestsDeeperThan('{"a":{"b":[{"c":1}]}}', 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[{"c":1}]}}', 4)).toBe(false);
    const inString = JSON.stringify({ a: '[[[[{{{{\\"[[[[', b: ['"]]]]'] });
    expect(nestsDeeperThan(inString, 2)).toBe(false);
    expect(nestsDeeperThan(inString, 1)).toBe(true);
  });

  it('a text too short to nest deeper is not scanned: brackets left open fail to parse instead', () => {
    // 5 characters cannot hold valid JSON nested 3 deep (6 at least): JSON.parse refuses it.
    expect(nestsDeeperThan('[[[[[', 2)).toBe(false);
    expect(() => JSON.parse('[[[[[')).toThrow();
    expect(nestsDeeperThan('[[[[[[', 2)).toBe(true);
  });

  it('a long flat answer is not deep however many brackets it has', () => {
    const list = JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ id: i, tags: [`t${i}`] })));
    expect(nestsDeeperThan(list, 3)).toBe(false);
    expect(nestsDeeperThan(list, 2)).toBe(true);
  });
});
