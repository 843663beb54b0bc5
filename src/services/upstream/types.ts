import type { Deadline } from '../../lib/deadline.ts';
import type { TributaryError } from '../../lib/errors.ts';
import type { WaitReport } from '../../lib/semaphore.ts';
import type { CacheHeaders } from '../cache/freshness.ts';
import type { CacheStatus } from '../cache/store.ts';

/**
 * The transport, injected: Node passes its own handler on a shared undici Agent's `dispatch`
 * (src/node/transport.ts), Workers pass the platform fetch, tests pass a function.
 */
export interface Fetcher {
  (url: string, init: FetchInit): Promise<UpstreamResponse>;
  /**
   * The fetcher keeps `init.timeout` itself. The per-try timeout then hands it over instead of
   * aborting a signal of its own: no AbortController, listener or reaction per attempt. A fetcher
   * without it (the platform fetch, a test's function) never sees a `timeout`.
   */
  readonly keepsTimeouts?: boolean;
}

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  redirect?: 'manual';
  /**
   * Only to a fetcher that {@link Fetcher.keepsTimeouts}: unless the response has arrived whole
   * (headers and body) within `ms`, the fetcher stops the exchange and fails it (the response, or
   * the body's reader) with `reason()`, as an abort of `signal` would.
   */
  timeout?: FetchTimeout | undefined;
}

export interface FetchTimeout {
  ms: number;
  reason(): unknown;
}

/**
 * What the client reads of a response. A Web `Response` is one; the Node transport returns a
 * lighter object of its own, without the WHATWG fetch machinery or a Node stream.
 */
export interface UpstreamResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: UpstreamBody | null;
}

/** Chunks of the body. Breaking out of the iteration, or `cancel()`, frees the connection. */
export interface UpstreamBody extends AsyncIterable<Uint8Array> {
  cancel(reason?: unknown): Promise<void>;
  /**
   * Optional: the whole body in one run of bytes, or `undefined` once more than `maxBytes` arrived
   * (the exchange is then stopped, freeing the connection). A transport that buffers the body
   * itself offers it, and spares the reader a promise per chunk; rejects as the iteration would.
   */
  readAll?(maxBytes: number): Promise<Uint8Array | undefined>;
}

/** One rendered upstream request: the same for every attempt of a call. */
export interface UpstreamRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** Values of the client headers the call's cache varies on: part of the cache key, never sent. */
  vary?: Record<string, string>;
}

/**
 * What every layer of the call path receives. Layers derive a new context for the layer below
 * (a shorter signal, the attempt number); they never change the one they were given.
 */
export interface CallContext {
  /** The call's name, `items[3]` for an element: every message names it. */
  label: string;
  request: UpstreamRequest;
  /** Aborts when the client leaves, a required sibling fails, the deadline passes or a per-try timeout fires. */
  signal: AbortSignal;
  deadline: Deadline;
  /** Requests this call already put on the wire before this one: 0 for the first. */
  attempt: number;
  /**
   * The per-try timeout, set by its layer when the fetcher keeps it ({@link Fetcher.keepsTimeouts}):
   * the attempt hands it to the fetcher. Otherwise the layer aborts `signal` itself.
   */
  timeoutMs?: number;
  /** A hedge: take a bulkhead slot only if one is free now, never queue. */
  noWait?: boolean;
  /** Told when this attempt's response headers arrive (hedging measures time to headers). */
  onHeaders?: () => void;
  /** Who hears about attempts, waits, backoffs and breaker refusals (tracing, metrics). */
  observer: CallObserver;
}

/**
 * How one call (or one attempt, inside the stack) ended. Each layer returns its own result;
 * a layer that makes several attempts adds up their `attempts` and `waitMs`.
 */
export type CallResult =
  | {
      ok: true;
      value: unknown;
      status: number;
      attempts: number;
      waitMs: number;
      /** How the cache took part, for a call that caches or coalesces. */
      cache?: CacheStatus;
      /** A stale value answered instead of this failure (stale-if-error). */
      staleError?: TributaryError;
      /** The upstream's Cache-Control and Age, read only for a call whose cache respects them. */
      cacheHeaders?: CacheHeaders;
    }
  | {
      ok: false;
      error: TributaryError;
      status?: number;
      attempts: number;
      waitMs: number;
      /** From `Retry-After` on a 429 or 503, in ms. */
      retryAfterMs?: number;
      cache?: CacheStatus;
    };

export type CallFn = (ctx: CallContext) => Promise<CallResult>;

/** One policy around the call: given the layer below, returns the call with the policy applied. */
export type Layer = (next: CallFn) => CallFn;

/**
 * Telemetry listens; policies only report. Every method is optional in spirit: the no-op
 * observer ({@link silentObserver}) is what tests and untraced calls get.
 */
export interface CallObserver {
  /** A request goes on the wire: may add headers (traceparent); returns what to call with its result. */
  attempt(ctx: CallContext, headers: Record<string, string>): (result: CallResult) => void;
  /**
   * The call waited for a slot: the request's fan-out limit, the upstream's bulkhead, or the
   * cap on one request's open connections (Workers). `limit` is the semaphore's limit when the
   * wait ended (an adaptive bulkhead's moves), so a trace shows why the call waited.
   */
  wait(semaphore: SemaphoreKind, report: WaitReport, limit?: number): void;
  /** The retry layer sleeps `ms` before the next attempt. */
  backoff(ctx: CallContext, startedAt: number, ms: number): void;
  /** A retry or hedge was not sent because the upstream's retry budget is spent. */
  budgetExhausted(ctx: CallContext, kind: 'retry' | 'hedge'): void;
  /** A hedge attempt was started. */
  hedge(ctx: CallContext, attempt: number): void;
  /** The breaker refused the call (open, or half-open with every probe taken). */
  breakerRefused(ctx: CallContext, message: string): void;
  /** How the cache took part in a call that caches or coalesces (`miss` too), once per call. */
  cache(ctx: CallContext, status: CacheStatus): void;
}

export type SemaphoreKind = 'request' | 'upstream' | 'connections';

const noop = (): void => {};

/** Hears nothing. */
export const silentObserver: CallObserver = {
  attempt: () => noop,
  wait: noop,
  backoff: noop,
  budgetExhausted: noop,
  hedge: noop,
  breakerRefused: noop,
  cache: noop,
};
