import { linkSignal, type LinkedSignal } from './abort.ts';
import { monotonic, type Clock } from './clock.ts';
import { TributaryError } from './errors.ts';
import { startTimer } from './timer.ts';

export interface DeadlineOptions {
  /** A parent signal (the client's): its abort ends this deadline with the parent's reason. */
  signal?: AbortSignal;
  /** A second parent (a server's shutdown cutoff), linked the same way, with no signal of its own to create. */
  stop?: AbortSignal;
  clock?: Clock;
  /** Used in the abort reason's message. */
  label?: string;
  /**
   * When the budget started, on `clock`; default: now. A start in the past leaves that much
   * less (a request that waited before its handler ran has already spent part of its budget).
   */
  since?: number;
}

/** A child budget: a share of what remains (`fraction`), a fixed `ms`, or both (the smaller wins). */
export interface ChildBudget {
  ms?: number;
  fraction?: number;
  label?: string;
}

/**
 * A time budget that only shrinks. Its `signal` aborts when the budget runs out, with a
 * `deadline_exceeded` TributaryError, when the parent signal aborts, with the parent's reason,
 * or when `abort(reason)` ends it early (a scope cancelling its tasks). A child deadline never
 * outlives its parent.
 *
 * @example
 * const deadline = Deadline.after(1500, { signal: request.signal });
 * try {
 *   const calls = deadline.child({ fraction: 0.95 }); // leave 5% to merge and serialise
 *   ...
 * } finally { deadline.dispose(); }
 */
export class Deadline {
  readonly expiresAt: number;
  readonly #clock: Clock;
  readonly #link: LinkedSignal;
  readonly #cancelTimer: () => void;

  private constructor(expiresAt: number, clock: Clock, label: string, parent?: AbortSignal, stop?: AbortSignal) {
    this.expiresAt = expiresAt;
    this.#clock = clock;
    this.#link = linkSignal(parent, stop);
    // Rounded up: the signal must not abort while remaining() is still above zero.
    const budget = Math.max(0, Math.ceil(expiresAt - clock()));
    this.#cancelTimer = startTimer(() => {
      this.#link.abort(new TributaryError('deadline_exceeded', `${label} ran out of time`));
    }, budget);
  }

  /** A deadline `ms` from now, or from `options.since`. */
  static after(ms: number, options: DeadlineOptions = {}): Deadline {
    if (!(ms >= 0)) throw new RangeError(`deadline must be >= 0 ms, got ${ms}`);
    const clock = options.clock ?? monotonic;
    // Never later than now: a start from another clock must not lengthen the budget.
    const start = options.since === undefined ? clock() : Math.min(options.since, clock());
    return new Deadline(start + ms, clock, options.label ?? `the ${ms} ms deadline`, options.signal, options.stop);
  }

  /** Milliseconds left, never below zero. */
  remaining(): number {
    return Math.max(0, this.expiresAt - this.#clock());
  }

  get expired(): boolean {
    return this.remaining() === 0;
  }

  /** Aborts when the budget is spent, the parent aborted, or `abort()` ended it early. */
  get signal(): AbortSignal {
    return this.#link.signal;
  }

  /** A smaller budget inside this one. Dispose it too. */
  child(budget: ChildBudget): Deadline {
    const now = this.#clock();
    let expiresAt = this.expiresAt;
    if (budget.fraction !== undefined) {
      if (!(budget.fraction > 0 && budget.fraction <= 1)) {
        throw new RangeError(`fraction must be in (0, 1], got ${budget.fraction}`);
      }
      expiresAt = Math.min(expiresAt, now + this.remaining() * budget.fraction);
    }
    if (budget.ms !== undefined) expiresAt = Math.min(expiresAt, now + Math.max(0, budget.ms));
    const label = budget.label ?? `a ${Math.round(expiresAt - now)} ms budget`;
    return new Deadline(expiresAt, this.#clock, label, this.signal);
  }

  /**
   * Ends the budget now with `reason` (what a scope cancelling its tasks gives): the signal
   * aborts, `remaining()` still counts the time. With `signal` and `dispose`, a deadline is a
   * `LinkedSignal` that a `Scope` can run its tasks under.
   */
  abort(reason: unknown): void {
    this.#link.abort(reason);
  }

  /** Clears the timer and unlinks from the parent. Safe to call twice. */
  dispose(): void {
    this.#cancelTimer();
    this.#link.dispose();
  }
}
