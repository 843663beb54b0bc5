import { TributaryError } from '../../lib/errors.ts';
import type { Release, Semaphore, WaitReport } from '../../lib/semaphore.ts';
import { classify, failed } from './classify.ts';
import type { Layer, SemaphoreKind } from './types.ts';

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
      // A free slot with nobody queued is taken at once; a hedge (`noWait`) takes that or none.
      if (ctx.noWait || !ctx.signal.aborted) release = bulkhead.tryAcquire();
      if (!release) {
        if (ctx.noWait) return failed(new TributaryError('rejected', `${ctx.label}: no free ${kind} slot for a hedge to ${upstream}`));
        const onWait = (report: WaitReport): void => {
          waitMs = report.waitMs;
          ctx.observer.wait(kind, report, bulkhead.limit);
        };
        try {
          release = await bulkhead.acquire(ctx.signal, onWait);
        } catch (error) {
          // A full queue or a long wait (`rejected`), or the signal's reason: classified as any failure is.
          return failed(classify(error, ctx, upstream), 0, waitMs);
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
