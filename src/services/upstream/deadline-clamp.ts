import { aborted, failed, outOfBudget } from './classify.ts';
import type { Layer } from './types.ts';

/**
 * The outermost layer but the cache: a call that is already cancelled, or has too little of the request's
 * deadline left to finish, fails at once with nothing sent (and spends no retry budget and no
 * breaker probe).
 */
export const deadlineClamp: Layer = (next) =>
  async function clamp(ctx) {
    if (ctx.signal.aborted) return failed(aborted(ctx));
    const late = outOfBudget(ctx);
    return late ? failed(late) : next(ctx);
  };
