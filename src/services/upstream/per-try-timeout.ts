import { TributaryError } from '../../lib/errors.ts';
import { withTimeout } from '../../lib/timeout.ts';
import { failed, outOfBudget } from './classify.ts';
import type { CallContext, Layer } from './types.ts';

/**
 * Each attempt gets `timeoutMs`, cooperatively: when it runs out, the attempt's request is
 * stopped (so the fetch really frees its socket) with a `timeout` reason, which a caller's cancel
 * never is. Checked again here, after any bulkhead wait: an attempt with too little deadline left
 * is not sent. When the deadline is nearer than the timeout, its own abort (`deadline_exceeded`)
 * ends the attempt and no timeout is kept.
 *
 * A fetcher that keeps timeouts itself (`keepsTimeouts`, the Node transport) is handed the
 * timeout with the request (`ctx.timeoutMs`); for any other, this layer arms a timer that aborts
 * a signal of the attempt's own.
 */
export function perTryTimeout(timeoutMs: number, fetcherKeepsIt = false): Layer {
  return (next) =>
    // Not async: it forwards, or hands over to withTimeout.
    function timed(ctx) {
      const late = outOfBudget(ctx);
      if (late) return Promise.resolve(failed(late));
      if (timeoutMs >= ctx.deadline.remaining()) return next(ctx);
      if (fetcherKeepsIt) return next({ ...ctx, timeoutMs });
      return withTimeout(timeoutMs, ({ signal }) => next({ ...ctx, signal }), {
        signal: ctx.signal,
        reason: () => timedOut(ctx, timeoutMs),
      });
    };
}

/** What an attempt that ran out of its per-try timeout fails with. */
export function timedOut(ctx: Pick<CallContext, 'label'>, timeoutMs: number): TributaryError {
  return new TributaryError('timeout', `${ctx.label} did not answer within ${timeoutMs} ms`);
}
