import { abortReason, TributaryError } from '../lib/errors.ts';
import type { Deadline } from '../lib/deadline.ts';
import { Semaphore } from '../lib/semaphore.ts';
import { withTimeout } from '../lib/timeout.ts';
import { monotonic, type Clock } from '../lib/clock.ts';
import type { CompiledUpstream } from './plan.ts';
import { propagation, SpanKind, trace, type Context } from '@opentelemetry/api';
import { endWithFailure, recordWait, redactUrl, type Telemetry } from './telemetry.ts';

/**
 * The transport, injected: Node passes undici's `request` over a shared Agent, Workers pass the
 * platform fetch, tests pass a function.
 */
export type Fetcher = (url: string, init: FetchInit) => Promise<UpstreamResponse>;

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  redirect?: 'manual';
}

/**
 * What the client reads of a response. A Web `Response` is one; the Node transport returns a
 * lighter object over undici's `request`, which skips the WHATWG fetch machinery.
 */
export interface UpstreamResponse {
  status: number;
  headers: { get(name: string): string | null };
  body: UpstreamBody | null;
}

/** Chunks of the body. Breaking out of the iteration, or `cancel()`, frees the connection. */
export interface UpstreamBody extends AsyncIterable<Uint8Array> {
  cancel(reason?: unknown): Promise<void>;
}

/** Below this many ms of budget a call is not started: it could not finish anyway. */
export const MIN_CALL_BUDGET_MS = 5;

export interface UpstreamRequest {
  /** The call's name, for messages. */
  label: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Aborts on the client leaving, a required sibling failing, or the deadline. */
  signal: AbortSignal;
  deadline: Deadline;
  /** Filled in as the call proceeds; read by the engine (and tracing) whatever the result. */
  stats: CallStats;
  /** Where this call's spans go. Without it, no spans (the traceparent is still sent if given). */
  trace?: CallTrace;
}

export interface CallTrace {
  telemetry: Telemetry;
  /** The `upstream <call>` span's context. */
  parent: Context;
  /** False for `each` elements past the span cap: send the traceparent, record no spans. */
  spans: boolean;
  item?: number;
}

export interface CallStats {
  /** Requests put on the wire. */
  attempts: number;
  /** Time spent waiting for a bulkhead slot. */
  waitMs: number;
  status?: number;
}

export const newStats = (): CallStats => ({ attempts: 0, waitMs: 0 });

/**
 * Calls one upstream: deadline clamp, bulkhead (shared by every request in the process),
 * per-try timeout, status check, size-limited JSON body. Every failure is a TributaryError
 * with a stable code; the response body is always consumed or cancelled before the bulkhead
 * permit is released.
 *
 * @example
 * const users = new UpstreamClient(plan.upstreams.get('users')!, fetch);
 * const user = await users.call({ label: 'profile', method: 'GET', url, headers: {}, timeoutMs: 500,
 *   signal, deadline, stats: newStats() });
 */
export class UpstreamClient {
  readonly upstream: CompiledUpstream;
  readonly bulkhead: Semaphore;
  readonly #fetch: Fetcher;
  readonly #clock: Clock;

  constructor(upstream: CompiledUpstream, fetcher: Fetcher, clock: Clock = monotonic) {
    this.upstream = upstream;
    this.#fetch = fetcher;
    this.#clock = clock;
    this.bulkhead = new Semaphore({
      limit: upstream.maxConcurrency,
      maxQueue: upstream.maxQueue,
      ...(upstream.maxQueueWaitMs === undefined ? {} : { maxWaitMs: upstream.maxQueueWaitMs }),
      name: `upstream ${upstream.name}`,
    });
  }

  async call(req: UpstreamRequest): Promise<unknown> {
    const { signal, deadline, stats } = req;
    try {
      this.#clamp(req);
      const waitStart = this.#clock();
      const mustWait = this.bulkhead.running >= this.bulkhead.limit || this.bulkhead.waiting > 0;
      const release = await this.bulkhead.acquire(signal);
      if (mustWait) stats.waitMs = this.#clock() - waitStart;
      if (mustWait && req.trace?.spans) {
        recordWait(req.trace.telemetry, req.trace.parent, waitStart, stats.waitMs, {
          'tributary.semaphore': 'upstream',
          'upstream.name': this.upstream.name,
          ...(req.trace.item === undefined ? {} : { 'tributary.item': req.trace.item }),
        });
      }
      try {
        this.#clamp(req);
        const remaining = deadline.remaining();
        // When the deadline is nearer than the per-try timeout, the deadline's own abort
        // (deadline_exceeded) ends the call; a timer would only race it.
        if (req.timeoutMs >= remaining) return await this.#attempt(req, signal);
        return await withTimeout(req.timeoutMs, ({ signal: inner }) => this.#attempt(req, inner), {
          signal,
          reason: () => new TributaryError('timeout', `${req.label} did not answer within ${req.timeoutMs} ms`),
        });
      } finally {
        release();
      }
    } catch (error) {
      throw this.#normalise(error, req);
    }
  }

  #clamp(req: UpstreamRequest): void {
    if (req.signal.aborted) throw req.signal.reason;
    const remaining = req.deadline.remaining();
    if (remaining < MIN_CALL_BUDGET_MS) {
      throw new TributaryError(
        'deadline_exceeded',
        `${req.label} was not started: ${Math.round(remaining)} ms of the request's deadline remained`,
      );
    }
  }

  /** One request on the wire, with its CLIENT span and the traceparent header. */
  async #attempt(req: UpstreamRequest, signal: AbortSignal): Promise<unknown> {
    const headers = { ...req.headers };
    const tracing = req.trace;
    const span = tracing?.spans
      ? tracing.telemetry.tracer.startSpan(req.method, { kind: SpanKind.CLIENT }, tracing.parent)
      : undefined;
    // Attributes cost URL parsing: only for a span that is recorded (not a no-op, not sampled out).
    if (span?.isRecording()) {
      const url = new URL(req.url);
      span.setAttributes({
        'http.request.method': req.method,
        'url.full': redactUrl(req.url),
        'server.address': url.hostname,
        'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
        'upstream.name': this.upstream.name,
        ...(req.stats.attempts > 0 ? { 'http.request.resend_count': req.stats.attempts } : {}),
        ...(tracing?.item === undefined ? {} : { 'tributary.item': tracing.item }),
      });
    }
    if (tracing) propagation.inject(span ? trace.setSpan(tracing.parent, span) : tracing.parent, headers);
    try {
      const value = await this.#send(req, headers, signal);
      if (span && req.stats.status !== undefined) span.setAttribute('http.response.status_code', req.stats.status);
      return value;
    } catch (thrown) {
      // Whatever a runtime throws on abort (its own AbortError, a socket error), the cause
      // is the signal's reason: a timeout, the deadline, or a cancel.
      const error = signal.aborted ? abortReason(signal) : thrown;
      if (span) {
        if (req.stats.status !== undefined) span.setAttribute('http.response.status_code', req.stats.status);
        const failure = error instanceof TributaryError ? error : this.#normalise(error, req);
        endWithFailure(span, failure);
      }
      throw error;
    } finally {
      span?.end();
    }
  }

  async #send(req: UpstreamRequest, headers: Record<string, string>, signal: AbortSignal): Promise<unknown> {
    req.stats.attempts++;
    const response = await this.#fetch(req.url, {
      method: req.method,
      headers,
      ...(req.body === undefined ? {} : { body: req.body }),
      signal,
      redirect: 'manual',
    });
    req.stats.status = response.status;
    if (response.status < 200 || response.status > 299) {
      await discard(response);
      throw new TributaryError('http_status', `${req.label}: ${this.upstream.name} answered ${response.status}`, {
        status: response.status,
      });
    }
    const text = await readLimited(response, this.upstream.maxBodyBytes, req.label);
    if (text.trim() === '') return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new TributaryError('invalid_response', `${req.label}: ${this.upstream.name} did not send valid JSON`);
    }
  }

  /** Maps anything thrown to a TributaryError with a message that names the call. */
  #normalise(error: unknown, req: UpstreamRequest): TributaryError {
    const reason = error instanceof TributaryError ? error : req.signal.aborted ? abortReason(req.signal) : undefined;
    if (reason) {
      if (reason.code === 'deadline_exceeded' && reason === req.signal.reason) {
        return new TributaryError('deadline_exceeded', `${req.label} did not finish within the request's deadline`, {
          cause: reason,
        });
      }
      return reason;
    }
    const code = networkCode(error);
    return new TributaryError('network', `${req.label}: could not reach ${this.upstream.name}${code ? ` (${code})` : ''}`, {
      cause: error,
    });
  }
}

/** Reads at most `limit` bytes of the body as UTF-8; stops reading (freeing the stream) beyond it. */
async function readLimited(response: UpstreamResponse, limit: number, label: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await discard(response);
    throw tooLarge(label, limit);
  }
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  // Leaving the loop early, by the throw, ends the iteration: the stream is cancelled.
  for await (const chunk of response.body) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(label, limit);
    chunks.push(chunk);
  }
  const decoder = new TextDecoder();
  return chunks.map((c) => decoder.decode(c, { stream: true })).join('') + decoder.decode();
}

const tooLarge = (label: string, limit: number): TributaryError =>
  new TributaryError('invalid_response', `${label}: response body is larger than ${limit} bytes`);

async function discard(response: UpstreamResponse): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // The stream may already be broken; there is nothing left to free.
  }
}

/** A short, secret-free code for a transport failure: ECONNREFUSED, ECONNRESET, ... */
function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}
