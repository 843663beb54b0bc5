import { sleep } from '../../lib/abort.ts';
import { fullJitter } from '../../lib/backoff.ts';
import type { Clock } from '../../lib/clock.ts';
import type { RetryBudget } from '../../lib/retry-budget.ts';
import type { CompiledRetry } from '../plan/types.ts';
import { aborted, MIN_CALL_BUDGET_MS, retryable } from './classify.ts';
import type { CallResult, Layer } from './types.ts';

export interface RetryDeps {
  budget: RetryBudget;
  clock: Clock;
  /** The call's per-try timeout: a retry needs time to finish, at most this much. */
  timeoutMs: number;
  random?: () => number;
}

/**
 * Tries again on the failures `policy.on` names, up to `policy.attempts` requests in all, with
 * exponential backoff and full jitter (a `Retry-After` on 429/503 wins, within `maxBackoffMs`).
 * A retry is sent only when the upstream's retry budget allows it and the deadline leaves time
 * for it after the backoff: as long as the failed attempt took, between 5 ms and the per-try
 * timeout. The backoff sleep wakes at once on a cancel. The result is the last attempt's,
 * with `attempts` and `waitMs` added up over all of them.
 */
export function retryLayer(policy: CompiledRetry, deps: RetryDeps): Layer {
  const { budget, clock, timeoutMs, random = Math.random } = deps;
  return (next) =>
    async function retrying(ctx) {
      budget.recordCall();
      let attempts = 0;
      let waitMs = 0;
      for (let retry = 0; ; retry++) {
        const started = clock();
        const result = await next(attempts === 0 ? ctx : { ...ctx, attempt: attempts });
        attempts += result.attempts;
        waitMs += result.waitMs;
        const total: CallResult = { ...result, attempts, waitMs };
        if (result.ok || attempts >= policy.attempts || !retryable(result, policy.on) || ctx.signal.aborted) return total;
        const delay = result.retryAfterMs !== undefined
          ? Math.min(result.retryAfterMs, policy.maxBackoffMs)
          : fullJitter(retry, policy.backoffMs, policy.maxBackoffMs, random);
        const needed = Math.min(timeoutMs, Math.max(MIN_CALL_BUDGET_MS, clock() - started));
        if (ctx.deadline.remaining() - delay < needed) return total;
        if (!budget.tryRetry()) {
          ctx.observer.budgetExhausted(ctx, 'retry');
          return total;
        }
        const sleptAt = clock();
        try {
          await sleep(delay, ctx.signal);
        } catch {
          // The signal aborted: the client left, a required sibling failed, or the deadline passed.
          return { ok: false, error: aborted(ctx), attempts, waitMs };
        } finally {
          ctx.observer.backoff(ctx, sleptAt, clock() - sleptAt);
        }
      }
    };
}
