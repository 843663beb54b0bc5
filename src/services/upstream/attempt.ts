import { TributaryError } from '../../lib/errors.ts';
import { parseRetryAfter } from '../../lib/backoff.ts';
import type { CompiledCall } from '../plan/types.ts';
import { discard, readBody } from './body.ts';
import { classify } from './classify.ts';
import { nestsDeeperThan } from './json-depth.ts';
import { timedOut } from './per-try-timeout.ts';
import type { CallFn, CallResult, Fetcher, UpstreamResponse } from './types.ts';

/**
 * The innermost layer: one request on the wire. Sends it, checks the status, reads a
 * size-limited JSON body, and classifies any failure once, here. The body is always read to its
 * end or cancelled before this returns, so the bulkhead permit above is released only then.
 *
 * @example
 * const send = attempt(plan.endpoints[0].calls[0], fetcher);
 * const result = await send({ label: 'profile', request, signal, deadline, attempt: 0, observer: silentObserver });
 */
export function attempt(call: CompiledCall, fetcher: Fetcher): CallFn {
  const { upstream, expectBody } = call;
  const check = call.schema?.check;
  // Only a cache that respects the upstream's Cache-Control reads it.
  const readCacheHeaders = call.cache?.respectCacheControl === true;
  // Not async: a call in flight holds the reactions below, not a frame.
  return function sendOnce(ctx) {
    const headers = { ...ctx.request.headers };
    const done = ctx.observer.attempt(ctx, headers);
    let status: number | undefined;
    const settled = (result: CallResult): CallResult => {
      done(result);
      return result;
    };
    // Every failure is classified once, here: a transport error, an abort, a body or schema fault.
    const failure = (thrown: unknown): CallResult =>
      settled({ ok: false, error: classify(thrown, ctx, upstream.name), attempts: 1, waitMs: 0, ...(status === undefined ? {} : { status }) });
    let sent: Promise<UpstreamResponse>;
    try {
      const { timeoutMs } = ctx;
      sent = fetcher(ctx.request.url, {
        method: ctx.request.method,
        headers,
        ...(ctx.request.body === undefined ? {} : { body: ctx.request.body }),
        signal: ctx.signal,
        redirect: 'manual',
        // Set only for a fetcher that keeps it (the per-try timeout layer decides).
        timeout: timeoutMs === undefined ? undefined : { ms: timeoutMs, reason: () => timedOut(ctx, timeoutMs) },
      });
    } catch (thrown) {
      return Promise.resolve(failure(thrown));
    }
    // One promise per attempt, resolved from the reactions below with the result itself: no
    // promise per step, and none handed back from a reaction for the runtime to adopt. Neither
    // callback throws (a throw in a reaction would reject a promise nobody holds): what the
    // observer throws rejects the attempt, as it did when these were chained.
    return new Promise<CallResult>((resolve, reject) => {
      const ok = (result: CallResult): void => {
        try {
          resolve(settled(result));
        } catch (error) {
          reject(error);
        }
      };
      const fail = (thrown: unknown): void => {
        try {
          resolve(failure(thrown));
        } catch (error) {
          reject(error);
        }
      };
      sent.then((response) => {
        try {
          status = response.status;
          ctx.onHeaders?.();
          answered(response, response.status, ctx.label, ok, fail);
        } catch (thrown) {
          fail(thrown);
        }
      }, fail);
    });
  };

  /**
   * What a call's response comes to, handed to `ok` (or what stopped it to `fail`, once): its
   * status refused, or its body read, parsed and checked.
   */
  function answered(response: UpstreamResponse, status: number, label: string, ok: (result: CallResult) => void, fail: (thrown: unknown) => void): void {
    if (status < 200 || status > 299) {
      discard(response).then(() => {
        try {
          const error = new TributaryError('http_status', `${label}: ${upstream.name} answered ${status}`, { status });
          const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
          ok({ ok: false, error, status, attempts: 1, waitMs: 0, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
        } catch (thrown) {
          fail(thrown);
        }
      }, fail);
      return;
    }
    readBody(response, upstream.maxBodyBytes, label, (text) => {
      const bodyExpected = expectBody && status !== 204 && status !== 205;
      const value = parseJson(text, label, upstream.name, upstream.maxJsonDepth, bodyExpected, status);
      // An empty answer where none was expected is `null` by the call's own rule, not the upstream's shape.
      const mismatch = check && (bodyExpected || value !== null) ? check(value) : undefined;
      if (mismatch !== undefined) {
        throw new TributaryError('invalid_response', `${label}: ${upstream.name} answered ${status} with a body that does not match the call's schema: ${mismatch}`);
      }
      const result: CallResult = { ok: true, value, status, attempts: 1, waitMs: 0 };
      if (readCacheHeaders) result.cacheHeaders = { cacheControl: response.headers.get('cache-control'), age: response.headers.get('age') };
      ok(result);
    }, fail);
  }
}

/**
 * The body as JSON. Empty is `null` only where no body is expected (a 204, or a call that says
 * `"expectBody": false`): an empty 200 from an upstream that should have sent data is a fault.
 */
function parseJson(text: string, label: string, upstream: string, maxDepth: number, bodyExpected: boolean, status: number): unknown {
  if (text.trim() === '') {
    if (!bodyExpected) return null;
    throw new TributaryError('invalid_response', `${label}: ${upstream} answered ${status} with an empty body`);
  }
  if (nestsDeeperThan(text, maxDepth)) {
    throw new TributaryError('invalid_response', `${label}: ${upstream} sent JSON nested deeper than ${maxDepth} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TributaryError('invalid_response', `${label}: ${upstream} did not send valid JSON`);
  }
}
