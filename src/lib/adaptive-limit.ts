import { monotonic, type Clock } from './clock.ts';

/**
 * How one measured call ended, for the limit:
 * - `ok`: its latency is a sample (any answer the upstream gave at its own pace, 2xx or not);
 * - `overload`: the upstream is saying "too much" (a timeout, a 429 or 503, a reset connection);
 * - `ignore`: says nothing about the upstream (the caller cancelled, the deadline passed).
 */
export type LimitSample = 'ok' | 'overload' | 'ignore';

export interface AdaptiveLimitOptions {
  /** The limit never goes below this (>= 1). */
  min: number;
  /** Nor above this. */
  max: number;
  /** Where it starts, between `min` and `max`. */
  initial: number;
  /** Measures each call's latency. Default: `performance.now()`. */
  clock?: Clock;
  /** A window's latency (its fastest tenth) up to `tolerance` × the no-load baseline counts as no load. Default 1.1. */
  tolerance?: number;
  /** A window with any overload multiplies the limit by this. Default 0.8. */
  backoff?: number;
  /** The no-load baseline is the lowest window latency of the last one to two of these periods, ms. Default 30 000. */
  baselineMs?: number;
  /** Told whenever the whole-number limit changes (the bulkhead follows it). */
  onChange?: (limit: number) => void;
}

/**
 * A concurrency limit that follows measured latency and failures, Gradient2/Vegas-style. Calls
 * are measured in windows of `limit` calls (one round trip at full use); calls that started
 * before the last change are left out, since they were admitted under the old limit and would
 * judge the new one by it. At the end of a window:
 * - if any call was an overload (timeout, 429, 503, reset), the limit is multiplied by `backoff`;
 * - otherwise, with `rtt` the window's latency (its 10th percentile, see {@link fastTenth}) and
 *   `baseline` the lowest such latency seen lately (the no-load latency),
 *   `gradient = tolerance × baseline / rtt`:
 *   - gradient >= 1 (latency near the baseline): `limit += √limit`, but only when the window
 *     used at least half the limit, so an upstream that is barely used is not given a limit it
 *     never proved it can take;
 *   - gradient < 1 (latency rose: queueing or contention upstream): `limit ×= max(0.5, gradient)`,
 *     in proportion to how much slower it got.
 *
 * Pure: no timers, no I/O; the clock is injected, so tests drive it with a simulated upstream.
 *
 * @example
 * const limit = new AdaptiveLimit({ min: 4, max: 512, initial: 32, onChange: (n) => (bulkhead.limit = n) });
 * const startedAt = limit.start();
 * const result = await send();
 * limit.record(startedAt, result.ok ? 'ok' : 'overload', bulkhead.running);
 */
export class AdaptiveLimit {
  readonly #min: number;
  readonly #max: number;
  readonly #clock: Clock;
  readonly #tolerance: number;
  readonly #backoff: number;
  readonly #baselineMs: number;
  readonly #onChange: ((limit: number) => void) | undefined;
  #estimate: number;
  #limit: number;
  // The current window.
  #rtts: number[] = [];
  #overloads = 0;
  #peakInFlight = 0;
  // The baseline: lowest window latency of this period and of the one before.
  #baseline = Number.POSITIVE_INFINITY;
  #previousBaseline = Number.POSITIVE_INFINITY;
  #periodStart: number;
  #changedAt = Number.NEGATIVE_INFINITY;

  constructor(options: AdaptiveLimitOptions) {
    const { min, max, initial } = options;
    if (!(Number.isInteger(min) && min >= 1 && Number.isInteger(max) && max >= min && Number.isInteger(initial) && initial >= min && initial <= max)) {
      throw new RangeError(`adaptive limit needs whole numbers 1 <= min <= initial <= max, got min ${min}, initial ${initial}, max ${max}`);
    }
    this.#min = min;
    this.#max = max;
    this.#clock = options.clock ?? monotonic;
    this.#tolerance = options.tolerance ?? 1.1;
    this.#backoff = options.backoff ?? 0.8;
    this.#baselineMs = options.baselineMs ?? 30_000;
    this.#onChange = options.onChange;
    this.#estimate = initial;
    this.#limit = initial;
    this.#periodStart = this.#clock();
  }

  /** The current limit, a whole number between `min` and `max`. */
  get limit(): number {
    return this.#limit;
  }

  /** The no-load latency it compares against, ms; undefined before the first window closed. */
  get baselineMs(): number | undefined {
    const b = Math.min(this.#baseline, this.#previousBaseline);
    return Number.isFinite(b) ? b : undefined;
  }

  /** A clock reading to pass to {@link record} when the call ends. */
  start(): number {
    return this.#clock();
  }

  /**
   * One call ended. `inFlight` is how many calls held a slot when it ended (itself included):
   * it tells a window that used its limit from one that did not.
   */
  record(startedAt: number, sample: LimitSample, inFlight: number): void {
    // A call that started before the last change says nothing about the current limit.
    if (sample === 'ignore' || startedAt < this.#changedAt) return;
    if (sample === 'overload') this.#overloads++;
    else this.#rtts.push(this.#clock() - startedAt);
    if (inFlight > this.#peakInFlight) this.#peakInFlight = inFlight;
    if (this.#rtts.length + this.#overloads >= this.#limit) this.#closeWindow();
  }

  #closeWindow(): void {
    const { rtts, overloads, peakInFlight } = { rtts: this.#rtts, overloads: this.#overloads, peakInFlight: this.#peakInFlight };
    this.#rtts = [];
    this.#overloads = 0;
    this.#peakInFlight = 0;
    let next: number;
    if (overloads > 0 || rtts.length === 0) {
      next = this.#estimate * this.#backoff;
    } else {
      const rtt = fastTenth(rtts);
      const baseline = this.#observeBaseline(rtt);
      const gradient = (this.#tolerance * baseline) / rtt;
      if (gradient < 1) next = this.#estimate * Math.max(0.5, gradient);
      else next = this.#estimate + (peakInFlight * 2 >= this.#limit ? Math.sqrt(this.#estimate) : 0);
    }
    this.#estimate = Math.min(this.#max, Math.max(this.#min, next));
    const limit = Math.min(this.#max, Math.max(this.#min, Math.round(this.#estimate)));
    if (limit !== this.#limit) {
      this.#limit = limit;
      this.#changedAt = this.#clock();
      this.#onChange?.(limit);
    }
  }

  /** Keeps the lowest window latency of this period and the last, so a lasting change of pace is learnt within two periods. */
  #observeBaseline(rtt: number): number {
    const now = this.#clock();
    if (now - this.#periodStart >= this.#baselineMs) {
      this.#previousBaseline = this.#baseline;
      this.#baseline = Number.POSITIVE_INFINITY;
      this.#periodStart = now;
    }
    if (rtt < this.#baseline) this.#baseline = rtt;
    return Math.min(this.#baseline, this.#previousBaseline);
  }
}

/**
 * The window's 10th-percentile latency. Not the median: a delay on our side (a busy event loop, a
 * CPU-starved container) holds back some calls' completions and spares others, while an upstream
 * that queues or contends slows every call, the fastest tenth too.
 */
function fastTenth(values: number[]): number {
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 10)] as number;
}
