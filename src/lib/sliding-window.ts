import { monotonic, type Clock } from './clock.ts';

export interface SlidingWindowOptions {
  /** How far back `sum()` looks. */
  windowMs: number;
  /** How many slices the window is cut into: more is smoother, fewer is cheaper. Default 10. */
  buckets?: number;
  clock?: Clock;
}

interface Bucket<F extends string> {
  /** Which slice of time (`floor(now / bucketMs)`) the counts belong to. */
  slice: number;
  counts: Map<F, number>;
}

/**
 * A few named counters over the last `windowMs`, kept in a ring of time buckets. Buckets expire
 * as the clock moves on, with no timer: each `add()` or `sum()` reads the clock and ignores (or
 * reuses) the buckets that are too old. Plain data, so it can live across requests.
 *
 * A count is forgotten `windowMs` after the start of its bucket: the window is exact to within
 * one bucket (`windowMs / buckets`).
 *
 * @example
 * const window = new SlidingWindow<'calls' | 'retries'>({ windowMs: 10_000, buckets: 10 });
 * window.add('calls');
 * if (window.sum('retries') < window.sum('calls') * 0.2) window.add('retries');
 */
export class SlidingWindow<F extends string = string> {
  readonly windowMs: number;
  readonly #bucketMs: number;
  readonly #buckets: Bucket<F>[];
  readonly #clock: Clock;

  constructor(options: SlidingWindowOptions) {
    const buckets = options.buckets ?? 10;
    if (!(options.windowMs > 0) || !Number.isFinite(options.windowMs)) {
      throw new RangeError(`windowMs must be a finite number > 0, got ${options.windowMs}`);
    }
    if (!(Number.isInteger(buckets) && buckets >= 1)) {
      throw new RangeError(`buckets must be a whole number >= 1, got ${buckets}`);
    }
    this.windowMs = options.windowMs;
    this.#bucketMs = options.windowMs / buckets;
    this.#buckets = Array.from({ length: buckets }, () => ({ slice: Number.NEGATIVE_INFINITY, counts: new Map<F, number>() }));
    this.#clock = options.clock ?? monotonic;
  }

  /** Adds `n` to `field` in the current bucket. */
  add(field: F, n = 1): void {
    const slice = this.#slice();
    const length = this.#buckets.length;
    const bucket = this.#buckets[((slice % length) + length) % length] as Bucket<F>;
    if (bucket.slice !== slice) {
      // The ring came round: what this bucket held is a whole window old.
      bucket.slice = slice;
      bucket.counts.clear();
    }
    bucket.counts.set(field, (bucket.counts.get(field) ?? 0) + n);
  }

  /** The total of `field` over the buckets still inside the window. */
  sum(field: F): number {
    const slice = this.#slice();
    let total = 0;
    for (const bucket of this.#buckets) {
      const age = slice - bucket.slice;
      if (age >= 0 && age < this.#buckets.length) total += bucket.counts.get(field) ?? 0;
    }
    return total;
  }

  /** Forgets every count. */
  reset(): void {
    for (const bucket of this.#buckets) {
      bucket.slice = Number.NEGATIVE_INFINITY;
      bucket.counts.clear();
    }
  }

  #slice(): number {
    return Math.floor(this.#clock() / this.#bucketMs);
  }
}
