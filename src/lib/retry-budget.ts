import { monotonic, type Clock } from './clock.ts';
import { SlidingWindow } from './sliding-window.ts';

export interface RetryBudgetOptions {
  /** Retries (and hedges) allowed per first attempt, over the window: 0.2 is one in five. */
  ratio: number;
  /** Retries allowed per second whatever the traffic, so a quiet upstream can still be retried. */
  minPerSecond: number;
  /** Default 10 000. */
  windowMs?: number;
  clock?: Clock;
}

/** What the budget holds now, for messages and metrics. */
export interface RetryBudgetCounts {
  /** First attempts recorded in the window. */
  calls: number;
  /** Retries and hedges spent in the window. */
  retries: number;
  /** How many retries the window allows at its current number of calls. */
  allowed: number;
  windowMs: number;
}

/** Absorbs float error, so a ratio like 0.1 over 30 calls pays for its 3 retries. */
const EPSILON = 1e-9;

/**
 * A retry budget shared by every call to an upstream (Envoy's retry budget, gRPC's retry
 * throttling): retries and hedges may add at most `ratio` of the first attempts, plus
 * `minPerSecond`, over a sliding window. When an upstream is down and every call wants to
 * retry, the extra load it gets stays bounded instead of multiplying. Plain data, no timers.
 *
 * @example
 * const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1 });
 * budget.recordCall();
 * if (shouldRetry && budget.tryRetry()) await sendAgain();
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #window: SlidingWindow<'calls' | 'retries'>;

  constructor(options: RetryBudgetOptions) {
    if (!(options.ratio >= 0) || !Number.isFinite(options.ratio)) {
      throw new RangeError(`retry budget ratio must be a finite number >= 0, got ${options.ratio}`);
    }
    if (!(options.minPerSecond >= 0) || !Number.isFinite(options.minPerSecond)) {
      throw new RangeError(`retry budget minPerSecond must be a finite number >= 0, got ${options.minPerSecond}`);
    }
    const windowMs = options.windowMs ?? 10_000;
    this.#ratio = options.ratio;
    this.#floor = (options.minPerSecond * windowMs) / 1000;
    this.#window = new SlidingWindow({ windowMs, clock: options.clock ?? monotonic });
  }

  /** Counts a first attempt: each one earns `ratio` of a retry. */
  recordCall(): void {
    this.#window.add('calls');
  }

  /** Spends one retry (or hedge) if the window allows it; otherwise spends nothing and says no. */
  tryRetry(): boolean {
    const retries = this.#window.sum('retries');
    if (retries + 1 > this.#limit(this.#window.sum('calls')) + EPSILON) return false;
    this.#window.add('retries');
    return true;
  }

  get counts(): RetryBudgetCounts {
    const calls = this.#window.sum('calls');
    return {
      calls,
      retries: this.#window.sum('retries'),
      allowed: Math.floor(this.#limit(calls) + EPSILON),
      windowMs: this.#window.windowMs,
    };
  }

  #limit(calls: number): number {
    return this.#ratio * calls + this.#floor;
  }
}
