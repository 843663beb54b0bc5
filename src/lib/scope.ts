import { linkSignal, type LinkedSignal } from './abort.ts';
import { abortReason, cancelled, TributaryError } from './errors.ts';
import type { Clock } from './clock.ts';
import { Semaphore, type OnWait } from './semaphore.ts';

/**
 * How a task ended: `ok` with its value, `error` (it ran and failed, or was cancelled while
 * running), or `skipped` (cancelled before it started). Partial failure is data.
 */
export type Outcome<T> =
  | { status: 'ok'; value: T }
  | { status: 'error'; error: Error }
  | { status: 'skipped'; reason: TributaryError };

export type Task<T> = (ctx: { signal: AbortSignal }) => Promise<T>;

export interface SpawnOptions {
  /** A required task that fails cancels every other task of the scope. */
  required?: boolean;
  /** Names the task in the cancellation reason given to its siblings. */
  name?: string;
  /** Told when the task had to wait for a slot under the scope's limit, however the wait ended. */
  onWait?: OnWait;
}

export interface ScopeOptions {
  /** The parent signal: its abort cancels every task, and queued tasks never start. */
  signal?: AbortSignal;
  /**
   * Instead of `signal`: a link of the caller's (a request's `Deadline`) that the scope runs
   * its tasks under and aborts to cancel them, rather than a link of its own to the caller's
   * signal: one AbortController less. The caller disposes it, after the scope. Not with `signal`:
   * the link has its parents already.
   */
  link?: LinkedSignal;
  /** How many tasks run at once. Default: no limit. */
  limit?: number;
  /** Measures slot waits. Default: `performance.now()`. */
  clock?: Clock;
}

/**
 * A structured-concurrency scope: it owns the tasks spawned in it, runs them under a limit,
 * and turns each into an {@link Outcome}; `spawn()` never rejects. A failed required task
 * aborts the rest. `join()` returns only once no task is running.
 *
 * @example
 * const scope = new Scope({ signal: deadline.signal, limit: 8 });
 * try {
 *   const profile = scope.spawn(({ signal }) => getProfile(signal), { required: true, name: 'profile' });
 *   const orders = scope.spawn(({ signal }) => getOrders(signal), { name: 'orders' });
 *   const [p, o] = await Promise.all([profile, orders]);
 * } finally { await scope.join(); scope.dispose(); }
 */
export class Scope {
  readonly #link: LinkedSignal;
  readonly #ownsLink: boolean;
  readonly #slots: Semaphore | undefined;
  /** Tasks spawned and not yet settled (running or waiting for a slot). */
  #pending = 0;
  /** Resolved when `#pending` falls to 0, for `join()`; made only while someone joins. */
  #idle: PromiseWithResolvers<void> | undefined;
  #failure: { name: string; error: Error } | undefined;

  constructor(options: ScopeOptions = {}) {
    if (options.link && options.signal) throw new TypeError('a scope takes a link or a signal, not both: the link has its parents already');
    this.#link = options.link ?? linkSignal(options.signal);
    this.#ownsLink = !options.link;
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    this.#slots = Number.isFinite(limit) ? new Semaphore({ limit, name: 'fan-out scope', ...(options.clock ? { clock: options.clock } : {}) }) : undefined;
  }

  /** Aborts when the parent aborts, a required task fails, or `cancel()` is called. */
  get signal(): AbortSignal {
    return this.#link.signal;
  }

  /** The required task whose failure cancelled the scope, if one did. */
  get failure(): { name: string; error: Error } | undefined {
    return this.#failure;
  }

  /** Tasks running or waiting for a slot. */
  get size(): number {
    return this.#pending;
  }

  /** Cancels every task: running ones see their signal abort, queued ones never start. */
  cancel(reason: unknown = cancelled('the fan-out was cancelled')): void {
    this.#link.abort(reason);
  }

  /** Starts a task (or queues it for a slot) and resolves with its outcome. Never rejects. */
  spawn<T>(task: Task<T>, options: SpawnOptions = {}): Promise<Outcome<T>> {
    this.#pending++;
    return this.#run(task, options);
  }

  /** Resolves once every spawned task has settled, including ones spawned while waiting. */
  join(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    return this.#idle.promise;
  }

  #settled(): void {
    if (--this.#pending > 0 || !this.#idle) return;
    this.#idle.resolve();
    this.#idle = undefined;
  }

  /** Unlinks from the parent signal (a caller's `link` stays the caller's to dispose). Call after `join()`. */
  dispose(): void {
    if (this.#ownsLink) this.#link.dispose();
  }

  /**
   * Starts the task: at once in a scope without a limit; else once it has a slot, which comes a
   * turn later at the earliest, so a cancel in the same turn as the spawn wins. Reactions instead
   * of an async function: while the task runs, this layer holds only the closures that settle it.
   */
  #run<T>(task: Task<T>, options: SpawnOptions): Promise<Outcome<T>> {
    const signal = this.#link.signal;
    if (signal.aborted) return Promise.resolve(this.#skipped(undefined));
    if (!this.#slots) return this.#start(task, options, noRelease);
    return this.#slots.acquire(signal, options.onWait).then(
      // The slot may have been granted in the same turn the scope was cancelled: don't start.
      (release) => (signal.aborted ? this.#skipped(release) : this.#start(task, options, release)),
      () => this.#skipped(undefined),
    );
  }

  #start<T>(task: Task<T>, options: SpawnOptions, release: () => void): Promise<Outcome<T>> {
    let work: Promise<T>;
    try {
      work = task({ signal: this.#link.signal });
    } catch (thrown) {
      return Promise.resolve(this.#failed(thrown, options, release));
    }
    return work.then(
      (value): Outcome<T> => {
        release();
        this.#settled();
        return { status: 'ok', value };
      },
      (thrown: unknown) => this.#failed(thrown, options, release),
    );
  }

  #skipped(release: (() => void) | undefined): Outcome<never> {
    release?.();
    this.#settled();
    return { status: 'skipped', reason: abortReason(this.#link.signal) };
  }

  #failed(thrown: unknown, options: SpawnOptions, release: () => void): Outcome<never> {
    const signal = this.#link.signal;
    const error = classify(thrown, signal);
    if (options.required && !signal.aborted) {
      this.#failure = { name: options.name ?? 'a required task', error };
      this.#link.abort(cancelled(`cancelled because ${this.#failure.name} failed`));
    }
    release();
    this.#settled();
    return { status: 'error', error };
  }
}

const noRelease = (): void => {};

/** A TributaryError keeps its code; anything else thrown after an abort is that abort. */
function classify(thrown: unknown, signal: AbortSignal): Error {
  if (thrown instanceof TributaryError) return thrown;
  if (signal.aborted) return abortReason(signal);
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

export interface GatherTask<T> extends SpawnOptions {
  run: Task<T>;
}

/**
 * Runs tasks concurrently under `limit` and returns one outcome per task, in task order,
 * once all have settled: asyncio's `gather(..., return_exceptions=True)` with cancellation.
 *
 * @example
 * const [user, recs] = await gather([
 *   { run: ({ signal }) => getUser(signal), required: true, name: 'user' },
 *   { run: ({ signal }) => getRecs(signal) },
 * ], { limit: 8, signal });
 */
export async function gather<T>(tasks: readonly GatherTask<T>[], options: ScopeOptions = {}): Promise<Outcome<T>[]> {
  const scope = new Scope(options);
  try {
    return await Promise.all(tasks.map((t) => scope.spawn(t.run, t)));
  } finally {
    await scope.join();
    scope.dispose();
  }
}
