import { aborted, failed, outOfBudget } from './classify.ts';
import type { Layer } from './types.ts';

/**
 * The outermost layer but the cache: a call that is already cancelled, or has too little of the request's
 * deadline left to finish, fails at once with nothing sent (and spends no retry budget and no
 * breaker probe).
 */
export const deadlineClamp: Layer = (next) =>
  // Not async: it only forwards, or answers at once.
  function clamp(ctx) {
    if (ctx.signal.aborted) return Promise.resolve(failed(aborted(ctx)));
    const late = outOfBudget(ctx);
    return late ? Promise.resolve(failed(late)) : next(ctx);
  };
