import { describe, expect, it, vi } from 'vitest';
import { fullJitter, parseRetryAfter } from '../../src/lib/backoff.ts';

/** The largest value Math.random can return. */
const ALMOST_ONE = 1 - Number.EPSILON / 2;

describe('fullJitter', () => {
  it('the ceiling doubles with each retry: base, 2 * base, 4 * base', () => {
    expect(fullJitter(0, 100, 10_000, () => ALMOST_ONE)).toBeCloseTo(100);
    expect(fullJitter(1, 100, 10_000, () => ALMOST_ONE)).toBeCloseTo(200);
    expect(fullJitter(3, 100, 10_000, () => ALMOST_ONE)).toBeCloseTo(800);
  });

  it('never waits longer than the cap', () => {
    expect(fullJitter(5, 100, 2000, () => ALMOST_ONE)).toBeCloseTo(2000);
    expect(fullJitter(50, 100, 2000, () => ALMOST_ONE)).toBeCloseTo(2000);
    expect(fullJitter(5000, 100, 2000, () => ALMOST_ONE)).toBeCloseTo(2000); // 2 ** 5000 is Infinity
  });

  it('can be as short as zero: the whole range is used, not only its upper half', () => {
    expect(fullJitter(4, 100, 10_000, () => 0)).toBe(0);
    expect(fullJitter(2, 100, 10_000, () => 0.5)).toBe(200);
  });

  it('spreads delays uniformly over the range', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647; // Park-Miller: a fixed sequence, so the test is stable
      return (seed - 1) / 2147483646;
    };
    const delays = Array.from({ length: 10_000 }, () => fullJitter(2, 100, 10_000, random));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(400);
    const quarters = [0, 0, 0, 0];
    for (const d of delays) quarters[Math.min(3, Math.floor(d / 100))]! += 1;
    for (const count of quarters) expect(count).toBeGreaterThan(2300); // 2500 each, give or take
  });

  it('a zero base or a zero cap gives no delay, even after many retries', () => {
    expect(fullJitter(2000, 0, 1000, () => ALMOST_ONE)).toBe(0);
    expect(fullJitter(3, 100, 0, () => ALMOST_ONE)).toBe(0);
  });

  it('refuses a negative or fractional retry index and a negative base or cap', () => {
    expect(() => fullJitter(-1, 100, 1000)).toThrow(RangeError);
    expect(() => fullJitter(1.5, 100, 1000)).toThrow(RangeError);
    expect(() => fullJitter(0, -100, 1000)).toThrow(RangeError);
    expect(() => fullJitter(0, 100, Number.NaN)).toThrow(RangeError);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2015-10-21T07:28:00Z');

  it('reads delta-seconds: "120" is two minutes', () => {
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(' 5 ')).toBe(5000);
    expect(parseRetryAfter('007')).toBe(7000);
  });

  it('reads an HTTP date as the time left until it', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:30:00 GMT', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0);
  });

  it('a date already past means retry now: 0, not a negative delay', () => {
    expect(parseRetryAfter('Tue, 20 Oct 2015 07:28:00 GMT', now)).toBe(0);
  });

  it('reads the two obsolete date forms that recipients must still accept', () => {
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:29:00 GMT', now)).toBe(60_000); // RFC 850
    expect(parseRetryAfter('Wed Oct 21 07:29:30 2015', now)).toBe(90_000); // asctime
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', now)).toBe(0);
  });

  it('reads a two-digit year as the nearest past one when it would be more than 50 years ahead', () => {
    const in2040 = Date.parse('2040-01-01T00:00:00Z');
    expect(parseRetryAfter('Monday, 01-Jan-40 00:01:00 GMT', in2040)).toBe(60_000); // 2040
    const in2030 = Date.parse('2030-01-01T00:00:00Z');
    expect(parseRetryAfter('Friday, 01-Jan-99 00:00:00 GMT', in2030)).toBe(0); // 1999, not 2099
  });

  it('uses the current time by default', () => {
    vi.useFakeTimers({ now });
    try {
      expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:45 GMT')).toBe(45_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives undefined for a missing, empty or negative value', () => {
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('   ')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
  });

  it('gives undefined for garbage, even what Date.parse would accept', () => {
    for (const value of ['soon', '1.5', '120s', '1e3', '0x10', 'abc 1', '2015-10-21T07:30:00Z', 'Wed, 21 Oct 2015']) {
      expect(parseRetryAfter(value, now), value).toBeUndefined();
    }
  });

  it('gives undefined for a date that does not exist', () => {
    expect(parseRetryAfter('Mon, 31 Feb 2015 07:30:00 GMT', now)).toBeUndefined();
    expect(parseRetryAfter('Wed, 21 Oct 2015 25:00:00 GMT', now)).toBeUndefined();
    expect(parseRetryAfter('Wed, 21 Foo 2015 07:30:00 GMT', now)).toBeUndefined();
  });
});
