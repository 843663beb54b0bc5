import { cancelled, TributaryError, type ErrorCode } from '../../lib/errors.ts';
import { applyPick } from '../pick.ts';
import type { CacheStatus } from '../cache/store.ts';
import type { CompiledCall, CompiledEndpoint } from '../plan/types.ts';
import type { AggregateResult, CallError, CallReport } from './types.ts';

/** How one call, or one element of an `each` call, ended: what every listener hears, once. */
export interface OutcomeEvent {
  call: CompiledCall;
  /** The element's index, for an element of an `each` call; undefined for a whole call. */
  item?: number | undefined;
  outcome: 'ok' | 'error' | 'skipped';
  /** For `error` and `skipped`. */
  error?: TributaryError;
  /** For `error` and `skipped`: the entry the response's `errors` lists. */
  entry?: CallError;
  /** What `data` shows for it: the picked answer, or the fallback (null when none) of a failure. */
  value?: unknown;
  /** From queueing for a request slot to the last byte. */
  durationMs: number;
  /** Time spent waiting for slots (the request's and the upstream's). */
  waitMs: number;
  attempts: number;
}

export type OutcomeListener = (event: OutcomeEvent) => void;

export interface Settled {
  durationMs: number;
  waitMs: number;
  attempts: number;
}

/**
 * The one owner of a request's outcomes: it puts values and fallbacks into `data`, writes the
 * `errors` entries, decides when a required call's failure fails the request (and cancels the
 * calls still running), and tells every listener (metrics, Server-Timing, later streaming) how
 * each call ended.
 *
 * @example
 * const outcomes = new Outcomes(endpoint, [metrics], (reason) => scope.cancel(reason));
 * outcomes.succeeded(call, undefined, value, settled);
 */
export class Outcomes {
  /** Values of calls that succeeded, for the templates of the calls that depend on them. */
  readonly values: Record<string, unknown> = {};
  readonly reports: CallReport[] = [];
  readonly #data: Record<string, unknown> = {};
  readonly #errors: CallError[] = [];
  readonly #endpoint: CompiledEndpoint;
  readonly #listeners: readonly OutcomeListener[];
  readonly #cancel: (reason: TributaryError) => void;
  #failed: AggregateResult['failed'];
  #cache: Record<string, Exclude<CacheStatus, 'miss'>> | undefined;

  constructor(endpoint: CompiledEndpoint, listeners: readonly OutcomeListener[], cancel: (reason: TributaryError) => void) {
    this.#endpoint = endpoint;
    this.#listeners = listeners;
    this.#cancel = cancel;
  }

  /**
   * The call (or element) answered. An element's value is kept by the caller until the list is
   * whole. `stale`: the value is a stale cached one answered instead of this failure, which is
   * listed with `"stale": true` and does not make the request incomplete.
   */
  succeeded(call: CompiledCall, item: number | undefined, value: unknown, settled: Settled, stale?: TributaryError): void {
    if (stale) this.#entry(call, item, stale, settled.attempts, true);
    // Dependents' templates see the whole answer; `data` (and a stream) only what `pick` keeps.
    const shown = call.pick ? applyPick(value, call.pick) : value;
    if (item === undefined) {
      this.values[call.name] = value;
      this.#data[call.name] = shown;
    }
    this.#emit({ call, item, outcome: 'ok', value: shown, durationMs: settled.durationMs, waitMs: settled.waitMs, attempts: settled.attempts });
  }

  /**
   * The call (or element) failed, or (`skipped`) never left the queue because the request was
   * cancelled or out of time. Returns what stands in for it: its fallback, or null. A required
   * call fails the request, unless it was only cancelled (something else caused that).
   */
  failed(
    call: CompiledCall,
    item: number | undefined,
    error: TributaryError,
    settled: Settled,
    outcome: 'error' | 'skipped' = 'error',
  ): unknown {
    const entry = this.#entry(call, item, error, settled.attempts);
    if (call.required && error.code !== 'cancelled') this.#failRequest(call, error.code, 'failed');
    const value = this.#standIn(call, item);
    this.#emit({ call, item, outcome, error, entry, value, durationMs: settled.durationMs, waitMs: settled.waitMs, attempts: settled.attempts });
    return value;
  }

  /**
   * The call (or element) never started. `cause` is why: a failed dependency's error, or the
   * scope's abort reason. A required call that could not run fails the request; when time was
   * the root cause (a dependency timed out, the deadline passed) the answer is 504, not 502.
   */
  skipped(call: CompiledCall, item: number | undefined, error: TributaryError, cause: TributaryError | undefined): unknown {
    const entry = this.#entry(call, item, error, 0);
    if (call.required) {
      const timeBound = cause !== undefined && (cause.code === 'timeout' || cause.code === 'deadline_exceeded');
      this.#failRequest(call, timeBound ? cause.code : 'cancelled', 'could not run');
    }
    const value = this.#standIn(call, item);
    this.#emit({ call, item, outcome: 'skipped', error, entry, value, durationMs: 0, waitMs: 0, attempts: 0 });
    return value;
  }

  /**
   * An `each` call's list is whole: it is the call's data (answers picked, fallbacks as they
   * are), and a value for dependents if every element succeeded.
   */
  listed(call: CompiledCall, elements: readonly { ok: boolean; value: unknown }[], complete: boolean): void {
    const { pick } = call;
    const list = elements.map((e) => e.value);
    this.#data[call.name] = pick ? elements.map((e) => (e.ok ? applyPick(e.value, pick) : e.value)) : list;
    if (complete) this.values[call.name] = list;
  }

  /** The call failed as a whole before any element ran (its list was not a list, or too long). */
  failedWhole(call: CompiledCall, error: TributaryError): void {
    this.failed(call, undefined, error, { durationMs: 0, waitMs: 0, attempts: 0 });
  }

  /** `label` (a call, or `call[value]` for an element) used the cache: for `meta.cache`. */
  cached(label: string, status: Exclude<CacheStatus, 'miss'>): void {
    (this.#cache ??= {})[label] = status;
  }

  /** `data` and `errors` in declaration order, whatever order the calls finished in. */
  result(durationMs: number, fanoutMs: number): AggregateResult {
    const data: Record<string, unknown> = {};
    for (const call of this.#endpoint.calls) data[call.name] = this.#data[call.name];
    const errors = this.#errors;
    if (errors.length > 1) {
      const order = new Map(this.#endpoint.calls.map((c, i) => [c.name, i]));
      errors.sort((a, b) => (order.get(a.call) ?? 0) - (order.get(b.call) ?? 0) || (a.item ?? 0) - (b.item ?? 0));
    }
    // A stale value stands in for its failure: the data is there, so the request is complete.
    const complete = errors.every((e) => e.stale);
    const result: AggregateResult = { data, errors, complete, failed: this.#failed, durationMs, fanoutMs, reports: this.reports };
    if (this.#cache) result.cache = this.#cache;
    return result;
  }

  #entry(call: CompiledCall, item: number | undefined, error: TributaryError, attempts: number, stale = false): CallError {
    const entry: CallError = { call: call.name, upstream: call.upstream.name, code: error.code, message: error.message, attempts };
    if (error.status !== undefined) entry.status = error.status;
    if (item !== undefined) entry.item = item;
    if (stale) entry.stale = true;
    this.#errors.push(entry);
    return entry;
  }

  #standIn(call: CompiledCall, item: number | undefined): unknown {
    const value = call.fallback ? call.fallback.value : null;
    if (item === undefined) this.#data[call.name] = value;
    return value;
  }

  #failRequest(call: CompiledCall, code: ErrorCode, why: string): void {
    if (this.#failed) return;
    this.#failed = { call: call.name, code };
    this.#cancel(cancelled(`cancelled because ${call.name} ${why}`));
  }

  #emit(event: OutcomeEvent): void {
    const { call, item, outcome, durationMs, waitMs } = event;
    this.reports.push({ call: call.name, upstream: call.upstream.name, item, outcome, durationMs, waitMs });
    for (const listener of this.#listeners) listener(event);
  }
}
