import type { IncomingHttpHeaders } from 'node:http';
import { Agent, Pool, type Dispatcher } from 'undici';
import { subscribe, unsubscribe } from '../lib/abort.ts';
import { startTimer } from '../lib/timer.ts';
import type { Plan } from '../services/plan/types.ts';
import type { FetchInit, Fetcher, FetchTimeout, UpstreamBody, UpstreamResponse } from '../services/upstream/index.ts';

export interface NodeTransportOptions {
  /**
   * Connections kept per upstream origin. Default 128; `node.ts` passes
   * {@link connectionsByOrigin}, so the bulkheads, not the pool, limit a fan-out.
   */
  connectionsFor?: (origin: string) => number;
  keepAliveTimeoutMs?: number;
}

/**
 * One undici Agent for the whole process: keep-alive connections reused across requests, one
 * pool per origin. Calls go straight to the Agent's `dispatch` with a handler of our own
 * ({@link Exchange}): no WHATWG Request/Response/Headers, and no Node stream per response (undici's
 * `request` wraps every body in a Readable); the body's chunks are handed to the reader as they come.
 */
export function createNodeTransport(options: NodeTransportOptions = {}): { fetcher: Fetcher; close: () => Promise<void> } {
  const connectionsFor = options.connectionsFor ?? (() => 128);
  const agent = new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    keepAliveMaxTimeout: 60_000,
    factory: (origin, opts) => new Pool(origin, { ...opts, connections: connectionsFor(String(origin)) }),
  });
  const send = (url: string, init: FetchInit): Promise<UpstreamResponse> => {
    if (init.signal.aborted) return Promise.reject(init.signal.reason);
    const { origin, path } = splitUrl(url);
    const exchange = new Exchange(init.signal, init.timeout);
    agent.dispatch(
      { origin, path, method: init.method as Dispatcher.HttpMethod, headers: init.headers, ...(init.body === undefined ? {} : { body: init.body }) },
      exchange,
    );
    return exchange.response;
  };
  // The exchange keeps the per-try timeout: one timer, and no signal of its own per attempt.
  const fetcher: Fetcher = Object.assign(send, { keepsTimeouts: true });
  return { fetcher, close: () => agent.close() };
}

/**
 * Where an absolute URL's path starts. The engine hands over `URL.href` (already normalised), so
 * a split at the first `/` after the authority is what `new URL` would give, without parsing it again.
 */
function splitUrl(url: string): { origin: string; path: string } {
  const host = url.indexOf('//') + 2;
  const slash = url.indexOf('/', host);
  const query = url.indexOf('?', host);
  // Anything else is parsed: no path, a query right after the host, or a fragment (never sent:
  // pathname + search leave it out).
  if (host < 2 || slash < 0 || (query >= 0 && query < slash) || url.includes('#')) {
    const parsed = new URL(url);
    return { origin: parsed.origin, path: parsed.pathname + parsed.search };
  }
  return { origin: url.slice(0, slash), path: url.slice(slash) };
}

/** Bytes buffered unread before the socket is paused (undici's `request` uses the same). */
const HIGH_WATER_MARK = 64 * 1024;

/**
 * One request and its response, as undici's dispatch handler: `response` resolves at the headers
 * (or rejects with the transport error, or with the signal's reason after an abort); the body is
 * then read whole (`readAll`, up to a limit) or through its async iterator, which pauses the
 * socket while the reader lags. Either aborts the exchange when the reader stops early, cancels,
 * or the body outgrows the limit.
 */
class Exchange implements Dispatcher.DispatchHandler, UpstreamBody {
  readonly #answer = Promise.withResolvers<UpstreamResponse>();
  readonly response = this.#answer.promise;
  #controller: Dispatcher.DispatchController | undefined;
  readonly #signal: AbortSignal;
  #started = false;
  /** Received and not yet read. */
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #error: unknown;
  /** The reader waiting for the next chunk, if any. */
  #waiting: { resolve: (result: IteratorResult<Uint8Array>) => void; reject: (error: unknown) => void } | undefined;
  /** The reader waiting for the whole body ({@link readAll}), if any, and how much it takes. */
  #whole: PromiseWithResolvers<Uint8Array | undefined> | undefined;
  #maxBytes = Number.POSITIVE_INFINITY;

  /** Cancels the timeout's timer; a no-op without one, or once it has fired. */
  #cancelTimer = noTimer;

  /**
   * `signal` is not aborted yet: the fetcher answers an aborted one without dispatching. With a
   * `timeout`, the exchange fails with its reason unless the response has arrived whole in time.
   */
  constructor(signal: AbortSignal, timeout: FetchTimeout | undefined) {
    this.#signal = signal;
    subscribe(signal, this.#onAbort);
    if (timeout) this.#cancelTimer = startTimer(() => this.#fail(timeout.reason()), timeout.ms);
  }

  readonly #onAbort = (): void => {
    this.#fail(this.#signal.reason);
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Aborted while it waited for a socket (connecting, or queued in the pool): not sent at all.
    if (this.#error !== undefined) controller.abort(asError(this.#error));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    if (status < 200) return; // 1xx: informational, the answer is still to come
    this.#started = true;
    this.#answer.resolve({ status, headers: { get: (name) => headerValue(headers, name) }, body: this });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve({ value: chunk, done: false });
      return;
    }
    this.#chunks.push(chunk);
    this.#buffered += chunk.byteLength;
    // Read whole: bounded by the reader's limit instead of paused.
    if (this.#whole) {
      if (this.#buffered > this.#maxBytes) this.#tooLarge(this.#whole);
    } else if (this.#buffered > HIGH_WATER_MARK) controller.pause();
  }

  onResponseEnd(): void {
    this.#ended = true;
    unsubscribe(this.#signal, this.#onAbort);
    this.#cancelTimer();
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.resolve({ value: undefined, done: true });
    }
    const whole = this.#whole;
    if (whole) {
      this.#whole = undefined;
      whole.resolve(this.#takeAll());
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    // After an abort, the reason is what the caller asked to stop for, whatever undici says.
    this.#settleError(this.#signal.aborted ? this.#signal.reason : error);
  }

  /** Stops the exchange (freeing or closing its socket) and fails whoever waits on it. */
  #fail(reason: unknown): void {
    if (this.#ended || this.#error !== undefined) return;
    const error = reason ?? new Error('aborted');
    this.#settleError(error);
    // Before `onRequestStart` there is no controller yet: it aborts the exchange when it comes.
    this.#controller?.abort(asError(error));
  }

  #settleError(error: unknown): void {
    if (this.#ended || this.#error !== undefined) return;
    this.#error = error;
    // What was received and not read is not wanted any more: the reader gets the error next.
    this.#chunks = [];
    this.#buffered = 0;
    unsubscribe(this.#signal, this.#onAbort);
    this.#cancelTimer();
    if (!this.#started) this.#answer.reject(error);
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting.reject(error);
    }
    const whole = this.#whole;
    if (whole) {
      this.#whole = undefined;
      whole.reject(error);
    }
  }

  /**
   * The whole body: at once when it has all arrived (a small answer comes with its headers),
   * else when it ends. One promise, where reading it chunk by chunk takes one per chunk.
   */
  readAll(maxBytes: number): Promise<Uint8Array | undefined> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#buffered > maxBytes) return this.#tooLarge(undefined);
    if (this.#ended) return Promise.resolve(this.#takeAll());
    this.#maxBytes = maxBytes;
    this.#whole = Promise.withResolvers();
    // Paused while nobody read (more than HIGH_WATER_MARK arrived first): the limit bounds it now.
    if (this.#controller?.paused) this.#controller.resume();
    return this.#whole.promise;
  }

  #takeAll(): Uint8Array {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#buffered = 0;
    return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
  }

  /** More than the reader takes: it gets `undefined`, and the exchange is stopped. */
  #tooLarge(whole: PromiseWithResolvers<Uint8Array | undefined> | undefined): Promise<undefined> {
    this.#whole = undefined;
    this.#stop(new Error('the body is larger than its reader takes'));
    whole?.resolve(undefined);
    return Promise.resolve(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => this.#next(),
      // Leaving a `for await` early (a body over the limit): nothing more is wanted.
      return: async () => {
        await this.cancel();
        return { value: undefined, done: true };
      },
    };
  }

  #next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.#chunks.shift();
    if (chunk) {
      this.#buffered -= chunk.byteLength;
      if (this.#controller?.paused && this.#buffered <= HIGH_WATER_MARK) this.#controller.resume();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  async cancel(reason?: unknown): Promise<void> {
    this.#stop(reason ?? new Error('the body was cancelled'));
  }

  /** Nothing more is wanted: what arrived unread is dropped, even after the end, and the exchange stopped. */
  #stop(reason: unknown): void {
    this.#chunks = [];
    this.#buffered = 0;
    this.#fail(reason);
  }
}

const noTimer = (): void => {};

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name.toLowerCase()];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Per origin, the sum of the bulkheads of the upstreams there: each may fill its own bulkhead
 * at the same time, and a smaller pool would queue their calls inside undici, unseen.
 *
 * @example
 * createNodeTransport({ connectionsFor: connectionsByOrigin(plan) });
 */
export function connectionsByOrigin(plan: Plan): (origin: string) => number {
  const byOrigin = new Map<string, number>();
  for (const u of plan.upstreams.values()) byOrigin.set(u.origin, (byOrigin.get(u.origin) ?? 0) + u.maxConcurrency);
  return (origin) => byOrigin.get(new URL(origin).origin) ?? 128;
}
