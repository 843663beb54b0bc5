import { TributaryError } from '../../lib/errors.ts';
import { withTimeout } from '../../lib/timeout.ts';
import { failed, outOfBudget } from './classify.ts';
import type { Layer } from './types.ts';

/**
 * Each attempt gets `timeoutMs`, cooperatively: the timer aborts the attempt's signal (so the
 * fetch really frees its socket) with a `timeout` reason, which a caller's cancel never is.
 * Checked again here, after any bulkhead wait: an attempt with too little deadline left is not sent.
 * When the deadline is nearer than the timeout, its own abort (`deadline_exceeded`) ends the
 * attempt and no timer is armed.
 */
export function perTryTimeout(timeoutMs: number): Layer {
  return (next) =>
    // Not async: it forwards, or hands over to withTimeout.
    function timed(ctx) {
      const late = outOfBudget(ctx);
      if (late) return Promise.resolve(failed(late));
      if (timeoutMs >= ctx.deadline.remaining()) return next(ctx);
      return withTimeout(timeoutMs, ({ signal }) => next({ ...ctx, signal }), {
        signal: ctx.signal,
        reason: () => new TributaryError('timeout', `${ctx.label} did not answer within ${timeoutMs} ms`),
      });
    };
}
