import type { AdaptiveLimit, LimitSample } from '../../lib/adaptive-limit.ts';
import type { Semaphore } from '../../lib/semaphore.ts';
import type { CallResult, Layer } from './types.ts';

/**
 * Measures each attempt that holds a bulkhead slot and tells the upstream's adaptive limit how it
 * went; the limit moves the bulkhead's (see `createAdaptiveLimit`). It sits inside the bulkhead,
 * so a wait for a slot is not mistaken for a slow upstream, and outside the per-try timeout, so
 * a timeout is seen as the overload it is.
 *
 * @example
 * layers.push(bulkheadLayer(bulkhead, 'users'), adaptiveLimitLayer(limiter, bulkhead));
 */
export function adaptiveLimitLayer(limiter: AdaptiveLimit, bulkhead: Semaphore): Layer {
  return (next) =>
    async function measured(ctx) {
      const startedAt = limiter.start();
      const result = await next(ctx);
      limiter.record(startedAt, sampleOf(result), bulkhead.running);
      return result;
    };
}

/**
 * What a result says about the upstream's load: a timeout, a 429 or 503, or a failed connection
 * is an overload; a cancel, a passed deadline or a local refusal says nothing; any other answer
 * (a 404 too) is a latency sample.
 */
export function sampleOf(result: CallResult): LimitSample {
  if (result.ok) return 'ok';
  const { code } = result.error;
  if (code === 'timeout' || code === 'network') return 'overload';
  if (code === 'http_status') return result.status === 429 || result.status === 503 ? 'overload' : 'ok';
  if (code === 'invalid_response') return 'ok';
  return 'ignore';
}
