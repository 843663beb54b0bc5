import { subscribe, unsubscribe } from './abort.ts';
import { monotonic, type Clock } from './clock.ts';
import { TributaryError } from './errors.ts';
import { startTimer } from './timer.ts';

export interface SemaphoreOptions {
  /** How many holders at once. Can be changed later through `limit`. */
  limit: number;
  /** Waiters beyond this are rejected at once with code `rejected`. Default: unbounded. */
  maxQueue?: number;
  /** A waiter that waits longer than this is rejected with code `rejected`. Default: unbounded. */
  maxWaitMs?: number;
  /** Used in messages, e.g. the upstream name. */
  name?: string;
  /** Measures waits for {@link WaitReport}. Default: `performance.now()`. */
  clock?: Clock;
}

/**
 * A caller that did not get a permit at once, told when its wait ended, however it ended:
 * granted, rejected (queue full, or waited longer than `maxWaitMs`) or cancelled (its signal aborted).
 */
export interface WaitReport {
  /** Clock time when the caller joined the queue. */
  startedAt: number;
  waitMs: number;
  outcome: 'granted' | 'rejected' | 'cancelled';
}

export type OnWait = (report: WaitReport) => void;

/** Gives a permit back. Calling it more than once is harmless. */
export type Release = () => void;

/**
 * One caller in the queue: its promise's settle functions, its abort subscription, its timer and
 * its report, in one object (a queue of thousands holds one each). It leaves the queue itself
 * when its signal aborts or its wait runs out.
 */
class Waiter {
  readonly promise: Promise<Release>;
  #resolve!: (release: Release) => void;
  #reject!: (reason: unknown) => void;
  readonly #queue: Waiter[];
  readonly #signal: AbortSignal | undefined;
  readonly #onWait: OnWait | undefined;
  readonly #clock: Clock;
  readonly #startedAt: number;
  readonly #cancelTimer: (() => void) | undefined;

  constructor(queue: Waiter[], signal: AbortSignal | undefined, onWait: OnWait | undefined, clock: Clock, maxWait: MaxWait | undefined) {
    this.promise = new Promise<Release>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#queue = queue;
    this.#signal = signal;
    this.#onWait = onWait;
    this.#clock = clock;
    this.#startedAt = clock();
    queue.push(this);
    if (signal) subscribe(signal, this.#onAbort);
    if (maxWait) {
      this.#cancelTimer = startTimer(() => {
        this.#leave();
        this.fail(maxWait.error());
      }, maxWait.ms);
    }
  }

  grant(release: Release): void {
    this.#cleanup();
    this.#report('granted');
    this.#resolve(release);
  }

  fail(reason: unknown): void {
    this.#cleanup();
    this.#report('rejected');
    this.#reject(reason);
  }

  readonly #onAbort = (): void => {
    this.#leave();
    this.#cleanup();
    this.#report('cancelled');
    this.#reject(this.#signal?.reason);
  };

  #leave(): void {
    const index = this.#queue.indexOf(this);
    if (index !== -1) this.#queue.splice(index, 1);
  }

  #cleanup(): void {
    this.#cancelTimer?.();
    if (this.#signal) unsubscribe(this.#signal, this.#onAbort);
  }

  #report(outcome: WaitReport['outcome']): void {
    this.#onWait?.({ startedAt: this.#startedAt, waitMs: this.#clock() - this.#startedAt, outcome });
  }
}

/** How long a waiter may wait, and the error it then fails with. */
interface MaxWait {
  ms: number;
  error: () => TributaryError;
}

export class Semaphore {
  #limit: number;
  #active = 0;
  readonly #queue: Waiter[] = [];
  readonly #maxQueue: number;
  readonly #maxWaitMs: number;
  readonly #name: string;
  readonly #clock: Clock;

  constructor(options: SemaphoreOptions) {
    this.#limit = checkLimit(options.limit);
    this.#maxQueue = options.maxQueue ?? Number.POSITIVE_INFINITY;
    this.#maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
    this.#name = options.name ?? 'semaphore';
    this.#clock = options.clock ?? monotonic;
  }

  get limit(): number {
    return this.#limit;
  }

  /** Raising the limit admits waiters at once; lowering it lets current holders finish. */
  set limit(value: number) {
    this.#limit = checkLimit(value);
    this.#drain();
  }

  /** Permits currently held. */
  get running(): number {
    return this.#active;
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Waits for a permit. Rejects with `signal.reason` if the signal aborts while waiting (the
   * waiter leaves the queue at once), or with a `rejected` TributaryError when the queue is
   * full or the wait is too long. `onWait` hears about every wait, and only about real ones:
   * a permit granted at once calls nothing.
   */
  acquire(signal?: AbortSignal, onWait?: OnWait): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#limit && this.#queue.length === 0) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.#maxQueue) {
      const startedAt = this.#clock();
      onWait?.({ startedAt, waitMs: this.#clock() - startedAt, outcome: 'rejected' });
      return Promise.reject(
        new TributaryError(
          'rejected',
          `${this.#name} is at capacity (${this.#active} running, ${this.#queue.length} waiting)`,
        ),
      );
    }
    const ms = this.#maxWaitMs;
    const maxWait = Number.isFinite(ms)
      ? { ms, error: () => new TributaryError('rejected', `${this.#name}: no slot within ${ms} ms (${this.#active} running, ${this.#queue.length} waiting)`) }
      : undefined;
    const waiter = new Waiter(this.#queue, signal, onWait, this.#clock, maxWait);
    return waiter.promise;
  }

  /** A permit at once, or none: never queues. For work that is only worth doing without a wait (a hedge). */
  tryAcquire(): Release | undefined {
    if (this.#active >= this.#limit || this.#queue.length > 0) return undefined;
    this.#active++;
    return this.#releaser();
  }

  /**
   * Runs `fn` holding a permit, and releases it when `fn` settles, whether it returned,
   * threw or was aborted.
   */
  async execute<T>(fn: (ctx: { signal?: AbortSignal }) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn({ signal });
    } finally {
      release();
    }
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#drain();
    };
  }

  #drain(): void {
    while (this.#active < this.#limit && this.#queue.length > 0) {
      const next = this.#queue.shift() as Waiter;
      this.#active++;
      next.grant(this.#releaser());
    }
  }
}

function checkLimit(value: number): number {
  if (!(value >= 1) || !(Number.isInteger(value) || value === Number.POSITIVE_INFINITY)) {
    throw new RangeError(`semaphore limit must be a whole number >= 1, got ${value}`);
  }
  return value;
}
