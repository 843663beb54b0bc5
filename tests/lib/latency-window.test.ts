import { afterEach, describe, expect, it, vi } from 'vitest';
import { LatencyWindow } from '../../src/lib/latency-window.ts';

/** A window holding 1, 2, ..., n recorded in a shuffled order. */
function filled(n: number, options: { size?: number; minSamples?: number } = {}): LatencyWindow {
  const window = new LatencyWindow({ size: n, minSamples: 1, ...options });
  const values = Array.from({ length: n }, (_, i) => i + 1);
  for (let i = 0; i < n; i++) window.record(values[(i * 7) % n] as number); // 7 is coprime with the sizes used
  return window;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('LatencyWindow', () => {
  it('answers nothing until minSamples are recorded', () => {
    const window = new LatencyWindow({ minSamples: 20 });
    for (let i = 0; i < 19; i++) window.record(100);
    expect(window.percentile(95)).toBeUndefined();
    window.record(100);
    expect(window.percentile(95)).toBe(100);
  });

  it('defaults to 200 samples and 20 before answering', () => {
    const window = new LatencyWindow();
    for (let i = 1; i <= 19; i++) window.record(i);
    expect(window.percentile(50)).toBeUndefined();
    for (let i = 20; i <= 300; i++) window.record(i);
    expect(window.count).toBe(200);
    expect(window.percentile(0)).toBe(101); // 1 to 100 were pushed out
  });

  it('gives the nearest-rank percentile: the smallest sample at or above p% of them', () => {
    const window = filled(100);
    expect(window.percentile(50)).toBe(50);
    expect(window.percentile(90)).toBe(90);
    expect(window.percentile(95)).toBe(95);
    expect(window.percentile(99)).toBe(99);
    expect(window.percentile(99.5)).toBe(100);
    expect(window.percentile(100)).toBe(100);
    expect(window.percentile(7)).toBe(7); // 7 / 100 * 100 is 7.000000000000001 in floating point
    expect(window.percentile(0)).toBe(1);
  });

  it('rounds the rank up on a small window, never interpolating between samples', () => {
    const window = filled(20);
    expect(window.percentile(95)).toBe(19); // rank 19 of 20
    expect(window.percentile(96)).toBe(20); // rank 19.2, up to 20
    expect(window.percentile(50)).toBe(10);
    const five = filled(5);
    expect(five.percentile(50)).toBe(3); // rank 2.5, up to 3
  });

  it('looks only at the last `size` samples', () => {
    const window = new LatencyWindow({ size: 10, minSamples: 10 });
    for (let i = 0; i < 10; i++) window.record(1000); // a slow spell that has passed
    for (let i = 0; i < 10; i++) window.record(10);
    expect(window.percentile(100)).toBe(10);
    window.record(500);
    expect(window.percentile(100)).toBe(500);
    expect(window.percentile(90)).toBe(10);
    expect(window.count).toBe(10);
  });

  it('a sample recorded after a percentile was read is in the next answer', () => {
    const window = new LatencyWindow({ size: 50, minSamples: 1 });
    window.record(5);
    expect(window.percentile(100)).toBe(5);
    expect(window.percentile(100)).toBe(5);
    window.record(80);
    expect(window.percentile(100)).toBe(80);
    expect(window.percentile(0)).toBe(5);
  });

  it('sorts once per new sample, however many percentiles are read (one per call on the hot path)', () => {
    const typedArray = Object.getPrototypeOf(Float64Array.prototype) as { sort(): unknown };
    const sort = vi.spyOn(typedArray, 'sort');
    const window = filled(50);
    window.percentile(50);
    window.percentile(95);
    window.percentile(99);
    expect(sort).toHaveBeenCalledTimes(1);
    window.record(7);
    window.percentile(95);
    window.percentile(95);
    expect(sort).toHaveBeenCalledTimes(2);
  });

  it('sorts numerically, not as text', () => {
    const window = new LatencyWindow({ size: 3, minSamples: 1 });
    window.record(9);
    window.record(100);
    window.record(25);
    expect(window.percentile(0)).toBe(9);
    expect(window.percentile(50)).toBe(25);
    expect(window.percentile(100)).toBe(100);
  });

  it('ignores a negative, NaN or infinite sample rather than letting it skew every percentile', () => {
    const window = new LatencyWindow({ size: 10, minSamples: 2 });
    window.record(40);
    window.record(Number.NaN);
    window.record(-3);
    window.record(Number.POSITIVE_INFINITY);
    expect(window.count).toBe(1);
    expect(window.percentile(50)).toBeUndefined();
    window.record(60);
    expect(window.percentile(0)).toBe(40);
    expect(window.percentile(100)).toBe(60);
  });

  it('keeps fractional milliseconds', () => {
    const window = new LatencyWindow({ size: 2, minSamples: 1 });
    window.record(12.75);
    expect(window.percentile(95)).toBe(12.75);
  });

  it('refuses a percentile outside 0 to 100', () => {
    const window = filled(10);
    expect(() => window.percentile(101)).toThrow(RangeError);
    expect(() => window.percentile(-1)).toThrow(RangeError);
    expect(() => window.percentile(Number.NaN)).toThrow(RangeError);
  });

  it('refuses a size below 1, or a minSamples it could never reach', () => {
    expect(() => new LatencyWindow({ size: 0 })).toThrow(RangeError);
    expect(() => new LatencyWindow({ size: 1.5 })).toThrow(RangeError);
    expect(() => new LatencyWindow({ size: 10, minSamples: 11 })).toThrow(RangeError);
    expect(() => new LatencyWindow({ size: 10, minSamples: -1 })).toThrow(RangeError);
  });
});
