import type { Clock } from '../../lib/clock.ts';
import type { ErrorCode } from '../../lib/errors.ts';
import type { Sha256 } from '../../lib/sha256.ts';
import type { CacheStatus, CacheStore } from '../cache/store.ts';
import type { Telemetry } from '../telemetry.ts';
import type { HealthByUpstream } from '../upstream/runtime.ts';
import type { OutcomeListener } from './outcomes.ts';

/** Validated request input, as the route layer hands it over. */
export interface RequestInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body?: Record<string, unknown>;
  /** The client's headers; only those an upstream's `forwardHeaders` names are sent on. */
  headers?: Headers;
  /**
   * Milliseconds the request already spent in the gateway before `run()`, since it was accepted
   * (waiting for the event loop, its body arriving): the deadline and `durationMs` count them,
   * so that time is not free. Default 0.
   */
  elapsedMs?: number;
  /**
   * Ends the request as its deadline would, with this signal's reason: the server's shutdown
   * cutoff (Node), after which what still runs is answered rather than cut.
   */
  stop?: AbortSignal;
}

/** One entry of the response's `errors`. */
export interface CallError {
  call: string;
  upstream: string;
  code: ErrorCode;
  message: string;
  /** Requests put on the wire for this call (0: nothing was sent). */
  attempts: number;
  status?: number;
  /** For `each` calls: the index of the element that failed. */
  item?: number;
  /** A stale cached value was answered instead (stale-if-error): `data` holds it. */
  stale?: true;
}

/** Timing of one call (of one element, for `each`), for Server-Timing and traces. */
export interface CallReport {
  call: string;
  upstream: string;
  /** The element's index, for an element of an `each` call; undefined for a whole call. */
  item?: number | undefined;
  outcome: 'ok' | 'error' | 'skipped';
  durationMs: number;
  waitMs: number;
}

export interface AggregateResult {
  /** Keys in declaration order. A failed call holds its fallback, or null. */
  data: Record<string, unknown>;
  errors: CallError[];
  complete: boolean;
  /** The required call whose failure fails the request, if one did. */
  failed: { call: string; code: ErrorCode } | undefined;
  durationMs: number;
  fanoutMs: number;
  reports: CallReport[];
  /**
   * Each call (`name`, or `name[value]` for an element of `each`, as error messages name it) that used the cache, by how: `hit`,
   * `stale`, `revalidated`, `coalesced`. Absent when none did.
   */
  cache?: Record<string, Exclude<CacheStatus, 'miss'>>;
}

export interface EngineOptions {
  clock?: Clock;
  /** Tracer and instruments; default: the global ones from `@opentelemetry/api`. */
  telemetry?: Telemetry;
  /** Share of the endpoint's deadline given to the calls; the rest is kept to merge and answer. */
  callBudgetFraction?: number;
  /**
   * Most upstream requests one client request may make (the Workers subrequest cap). A request
   * that could need more is refused with `TooManySubrequestsError` before any call.
   */
  maxSubrequests?: number;
  /**
   * Breakers, retry budgets and latency windows, when they must outlive this engine (Workers
   * build an engine per request and keep these per isolate). Default: the engine's own.
   */
  health?: HealthByUpstream;
  /**
   * Most fetches one engine has open at once, across upstreams. On Workers, where the engine is
   * per request, this is the platform's 6 connections waiting for headers: beyond it the runtime
   * queues the fetch invisibly, inside its timeout. Default: no cap (Node).
   */
  maxConnections?: number;
  /**
   * Where calls with a `cache` keep their entries, shared by every engine given it. Default: a
   * store in memory of this engine (64 MiB) when a call caches.
   */
  cache?: CacheStore;
  /** Keeps work that outlives a request alive: cache writes, background refreshes (Workers: `ctx.waitUntil`). */
  background?: (work: Promise<unknown>) => void;
  /** Wall clock for cache entries, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Hashes cache keys. Default WebCrypto's; Node passes `nodeSha256` (`node:crypto`, about a tenth of the CPU). */
  sha256?: Sha256;
}

/** What one `run()` may ask for beyond its result (streaming). */
export interface RunOptions {
  /** Hears each call (each element, for `each`) as soon as it settles, after the engine's own listeners. */
  onOutcome?: OutcomeListener;
  /** Called once the input has been checked and the calls are about to start. */
  onStart?: () => void;
}
