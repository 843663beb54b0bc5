import { TributaryError } from '../../lib/errors.ts';
import type { CircuitBreaker } from '../../lib/circuit-breaker.ts';
import { failed, verdict } from './classify.ts';
import type { Layer } from './types.ts';

/**
 * The upstream's breaker around every attempt. While open (or half-open with every probe slot
 * taken) a call fails at once with `circuit_open` and nothing is sent. Timeouts, transport
 * failures, 5xx and 429 count against the upstream; a cancel or a local rejection counts nothing.
 */
export function breakerLayer(breaker: CircuitBreaker, upstream: string): Layer {
  return (next) =>
    async function guarded(ctx) {
      const ticket = breaker.tryAcquire();
      if (!ticket) {
        const message = `${ctx.label}: the circuit to ${upstream} is open (${breaker.describe()})`;
        ctx.observer.breakerRefused(ctx, message);
        return failed(new TributaryError('circuit_open', message));
      }
      let result;
      try {
        result = await next(ctx);
      } catch (error) {
        ticket.release();
        throw error;
      }
      const said = verdict(result);
      if (said === 'success') ticket.success();
      else if (said === 'failure') ticket.failure();
      else ticket.release();
      return result;
    };
}
