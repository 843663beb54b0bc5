export interface LatencyWindowOptions {
  /** How many of the latest samples are kept. Default 200. */
  size?: number;
  /** `percentile()` answers nothing until this many samples are held. Default 20. */
  minSamples?: number;
}

/**
 * The last `size` latencies of an upstream, for a percentile that follows its recent behaviour
 * (a hedge sent after the p95). A fixed ring of numbers, no timers: it can live across requests.
 *
 * @example
 * const latency = new LatencyWindow({ size: 200, minSamples: 20 });
 * latency.record(clock() - startedAt);
 * const hedgeAfter = latency.percentile(95); // undefined until 20 samples
 */
export class LatencyWindow {
  readonly #samples: Float64Array;
  readonly #minSamples: number;
  #count = 0;
  #next = 0;
  /** The samples in order, until the next `record()`: hot paths ask for a percentile per call. */
  #sorted: Float64Array | undefined;

  constructor(options: LatencyWindowOptions = {}) {
    const size = options.size ?? 200;
    const minSamples = options.minSamples ?? 20;
    if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`size must be a whole number >= 1, got ${size}`);
    if (!(Number.isInteger(minSamples) && minSamples >= 0 && minSamples <= size)) {
      throw new RangeError(`minSamples must be a whole number from 0 to size (${size}), got ${minSamples}`);
    }
    this.#samples = new Float64Array(size);
    this.#minSamples = minSamples;
  }

  /** Samples held: at most `size`. */
  get count(): number {
    return this.#count;
  }

  /** Adds a sample, replacing the oldest once `size` are held. A negative or non-finite one is ignored. */
  record(ms: number): void {
    // One NaN would sort anywhere and poison every later percentile.
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    this.#count = Math.min(this.#count + 1, this.#samples.length);
    this.#sorted = undefined;
  }

  /**
   * The nearest-rank `p`th percentile (`p` from 0 to 100) of the samples held: the smallest
   * sample that at least `p`% of them are at or below. Undefined while fewer than `minSamples`.
   */
  percentile(p: number): number | undefined {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be from 0 to 100, got ${p}`);
    if (this.#count === 0 || this.#count < this.#minSamples) return undefined;
    // A typed array sorts numerically.
    this.#sorted ??= this.#samples.slice(0, this.#count).sort();
    // Multiply first: 7 / 100 * 100 is 7.000000000000001, which would round up to rank 8.
    const rank = Math.max(1, Math.ceil((p * this.#count) / 100));
    return this.#sorted[rank - 1];
  }
}
