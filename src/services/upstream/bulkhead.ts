import { TributaryError } from '../../lib/errors.ts';
import type { Release, Semaphore, WaitReport } from '../../lib/semaphore.ts';
import { failed } from './classify.ts';
import type { CallContext, Layer, SemaphoreKind } from './types.ts';

/**
 * The upstream's bulkhead, shared by every request in the process (per request on Workers). A
 * waiter that is cancelled leaves the queue at once; the permit is released only when the layer
 * below has settled, body included. A hedge (`ctx.noWait`) takes a free slot or none. The same
 * layer caps one request's open connections on Workers (`kind: 'connections'`).
 */
export function bulkheadLayer(bulkhead: Semaphore, upstream: string, kind: SemaphoreKind = 'upstream'): Layer {
  return (next) =>
    async function bulkheaded(ctx) {
      let waitMs = 0;
      let release: Release | undefined;
      if (ctx.noWait) {
        release = bulkhead.tryAcquire();
        if (!release) return failed(new TributaryError('rejected', `${ctx.label}: no free ${kind} slot for a hedge to ${upstream}`));
      } else {
        const onWait = (report: WaitReport): void => {
          waitMs = report.waitMs;
          ctx.observer.wait(kind, report);
        };
        try {
          release = await bulkhead.acquire(ctx.signal, onWait);
        } catch (error) {
          return failed(reason(error, ctx), 0, waitMs);
        }
      }
      try {
        const result = await next(ctx);
        return waitMs === 0 ? result : { ...result, waitMs: result.waitMs + waitMs };
      } finally {
        release();
      }
    };
}

/** A full queue or a long wait (`rejected`), or the signal's reason: the deadline said as such. */
function reason(error: unknown, ctx: CallContext): TributaryError {
  if (error instanceof TributaryError && error.code === 'deadline_exceeded' && error === ctx.signal.reason) {
    return new TributaryError('deadline_exceeded', `${ctx.label} did not finish within the request's deadline`, { cause: error });
  }
  if (error instanceof TributaryError) return error;
  return new TributaryError('cancelled', error instanceof Error ? error.message : 'the operation was aborted', { cause: error });
}
