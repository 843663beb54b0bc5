import { TributaryError } from '../../lib/errors.ts';
import { parseRetryAfter } from '../../lib/backoff.ts';
import type { CompiledUpstream } from '../plan/types.ts';
import { discard, readLimited } from './body.ts';
import { classify } from './classify.ts';
import type { CallFn, CallResult, Fetcher } from './types.ts';

/**
 * The innermost layer: one request on the wire. Sends it, checks the status, reads a
 * size-limited JSON body, and classifies any failure once, here. The body is always read to its
 * end or cancelled before this returns, so the bulkhead permit above is released only then.
 *
 * @example
 * const send = attempt(plan.upstreams.get('users')!, fetcher);
 * const result = await send({ label: 'profile', request, signal, deadline, attempt: 0, observer: silentObserver });
 */
export function attempt(upstream: CompiledUpstream, fetcher: Fetcher): CallFn {
  return async function sendOnce(ctx) {
    const headers = { ...ctx.request.headers };
    const done = ctx.observer.attempt(ctx, headers);
    let status: number | undefined;
    let result: CallResult;
    try {
      const response = await fetcher(ctx.request.url, {
        method: ctx.request.method,
        headers,
        ...(ctx.request.body === undefined ? {} : { body: ctx.request.body }),
        signal: ctx.signal,
        redirect: 'manual',
      });
      status = response.status;
      ctx.onHeaders?.();
      if (status < 200 || status > 299) {
        await discard(response);
        const error = new TributaryError('http_status', `${ctx.label}: ${upstream.name} answered ${status}`, { status });
        const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
        result = { ok: false, error, status, attempts: 1, waitMs: 0, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      } else {
        const text = await readLimited(response, upstream.maxBodyBytes, ctx.label);
        result = { ok: true, value: parseJson(text, ctx.label, upstream.name), status, attempts: 1, waitMs: 0 };
      }
    } catch (thrown) {
      const error = classify(thrown, ctx, upstream.name);
      result = { ok: false, error, attempts: 1, waitMs: 0, ...(status === undefined ? {} : { status }) };
    }
    done(result);
    return result;
  };
}

function parseJson(text: string, label: string, upstream: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new TributaryError('invalid_response', `${label}: ${upstream} did not send valid JSON`);
  }
}
