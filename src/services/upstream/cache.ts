import { Deadline } from '../../lib/deadline.ts';
import type { Sha256 } from '../../lib/sha256.ts';
import type { Clock } from '../../lib/clock.ts';
import { TributaryError } from '../../lib/errors.ts';
import { freshFor } from '../cache/freshness.ts';
import type { Flights } from '../cache/flights.ts';
import { cacheKey } from '../cache/key.ts';
import type { CacheEntry, CacheStatus, CacheStore } from '../cache/store.ts';
import type { CompiledCache, CompiledCall } from '../plan/types.ts';
import { silentObserver, type CallContext, type CallFn, type CallResult, type Layer } from './types.ts';

export interface CacheDeps {
  /** Where entries live; only calls with a `cache` use it. */
  store: CacheStore;
  /** The engine's in-flight requests by key: per process on Node, per request on Workers. */
  flights: Flights;
  /** Wall clock, epoch ms: entries are shared across processes. */
  now: () => number;
  /** The engine's clock, for a background refresh's own deadline. */
  clock: Clock;
  /** Keeps work that outlives the request alive (Workers: `ctx.waitUntil`); it never rejects. */
  background: (work: Promise<unknown>) => void;
  /** Hashes the keys (the headers a call sends). */
  sha256: Sha256;
}

/**
 * The outermost layer of a call that caches or coalesces (DESIGN.md section 4, step 3):
 * - a fresh entry is answered at once (`hit`);
 * - within `staleWhileRevalidateMs` after it, the stale value is answered at once (`stale`) and
 *   one background refresh runs, coalesced with any request for the same key;
 * - otherwise the call goes below (joining a request in flight for the same key when it
 *   coalesces: `coalesced`); a 2xx answer is stored (`miss`, or `revalidated` when it replaced a
 *   stale entry); when it fails (timeout, network, 5xx, circuit open, overload, deadline) within
 *   `staleIfErrorMs`, the stale value is answered with the failure attached (`staleError`).
 * A store that fails is a miss. Every call's outcome is reported once to the observer.
 *
 * @example
 * const layers = [cacheLayer(call, { store, flights, now: Date.now, clock, background }), deadlineClamp, ...];
 */
export function cacheLayer(call: CompiledCall, deps: CacheDeps): Layer {
  const { cache } = call;
  const coalesce = call.coalesce === true;
  return (next) => {
    const load = cache ? storing(cache, deps, next) : (_key: string) => next;
    const send = async (ctx: CallContext, key: string): Promise<CallResult> => {
      if (!coalesce) return load(key)(ctx);
      const { result, joined, leader } = await deps.flights.join(key, ctx, load(key));
      if (!joined) return result;
      // Nothing was sent for a caller that joined; the request counts for the one that made it.
      return { ...result, ...(result.ok ? {} : { error: relabel(result.error, leader, ctx.label) }), attempts: 0, waitMs: 0, cache: 'coalesced' };
    };
    return async function cached(ctx) {
      const key = await cacheKey(ctx.request, deps.sha256);
      const result = cache ? await fromCache(key, ctx, deps, send, load) : await send(ctx, key);
      ctx.observer.cache(ctx, result.cache ?? 'miss');
      return result;
    };
  };
}

async function fromCache(
  key: string,
  ctx: CallContext,
  deps: CacheDeps,
  send: (ctx: CallContext, key: string) => Promise<CallResult>,
  load: (key: string) => CallFn,
): Promise<CallResult> {
  const entry = usable(await deps.store.get(key).catch(() => undefined));
  const age = entry ? deps.now() - entry.storedAt : Number.POSITIVE_INFINITY;
  if (entry && age < entry.freshMs) return served(entry, 'hit');
  if (entry && age < entry.freshMs + entry.staleWhileRevalidateMs) {
    refreshInBackground(key, ctx, deps, load(key));
    return served(entry, 'stale');
  }
  const result = await send(ctx, key);
  if (result.ok) return result.cache ? result : { ...result, cache: entry ? 'revalidated' : 'miss' };
  if (entry && age < entry.freshMs + entry.staleIfErrorMs && staleable(result.error)) {
    return { ...served(entry, 'stale'), attempts: result.attempts, waitMs: result.waitMs, staleError: result.error };
  }
  return result.cache ? result : { ...result, cache: 'miss' };
}

/** `next`, storing each 2xx answer the upstream lets us keep under `key`; the write never delays the answer. */
function storing(cache: CompiledCache, deps: CacheDeps, next: CallFn): (key: string) => CallFn {
  return (key) => async function loadAndStore(ctx) {
    const result = await next(ctx);
    if (!result.ok) return result;
    const freshMs = freshFor(cache, result.cacheHeaders);
    if (freshMs === undefined) return result;
    const entry: CacheEntry = {
      body: JSON.stringify(result.value),
      status: result.status,
      storedAt: deps.now(),
      freshMs,
      staleWhileRevalidateMs: cache.staleWhileRevalidateMs,
      staleIfErrorMs: cache.staleIfErrorMs,
    };
    deps.background(deps.store.set(key, entry).catch(() => {}));
    return result;
  };
}

/**
 * One refresh for a stale key, on a deadline of its own (as long as the request had left), so
 * the client that got the stale value does not cancel it by leaving.
 */
function refreshInBackground(key: string, ctx: CallContext, deps: CacheDeps, load: CallFn): void {
  const deadline = Deadline.after(Math.max(0, ctx.deadline.remaining()), { clock: deps.clock, label: `the refresh of ${ctx.label}` });
  const { onHeaders: _headers, noWait: _noWait, ...rest } = ctx;
  const work = deps.flights.refresh(key, { ...rest, signal: deadline.signal, deadline, attempt: 0, observer: silentObserver }, load);
  if (!work) {
    deadline.dispose();
    return;
  }
  deps.background(work.then(() => deadline.dispose(), () => deadline.dispose()));
}

/** An entry with its value parsed once; one whose body is not JSON (written by something else) is none. */
function usable(entry: CacheEntry | undefined): (CacheEntry & { value: unknown }) | undefined {
  if (!entry) return undefined;
  try {
    return { ...entry, value: JSON.parse(entry.body) as unknown };
  } catch {
    return undefined;
  }
}

function served(entry: CacheEntry & { value: unknown }, cache: CacheStatus): Extract<CallResult, { ok: true }> {
  return { ok: true, value: entry.value, status: entry.status, attempts: 0, waitMs: 0, cache };
}

/**
 * A joined failure in the joiner's own words: messages start with the call's label, and the
 * request that failed may have been started by another call (`sidebar: catalog answered 503`,
 * not `featured: ...`).
 */
function relabel(error: TributaryError, leader: string, label: string): TributaryError {
  if (leader === label || !error.message.startsWith(leader)) return error;
  const message = label + error.message.slice(leader.length);
  return new TributaryError(error.code, message, { ...(error.status === undefined ? {} : { status: error.status }), cause: error });
}

/** Failures a stale value may stand in for: the upstream is down, slow or refused locally. */
function staleable(error: TributaryError): boolean {
  switch (error.code) {
    case 'timeout':
    case 'network':
    case 'circuit_open':
    case 'rejected':
    case 'deadline_exceeded':
      return true;
    case 'http_status':
      return error.status !== undefined && error.status >= 500;
    default:
      return false;
  }
}
