import { TributaryError } from '../../lib/errors.ts';
import type { Release, Semaphore, WaitReport } from '../../lib/semaphore.ts';
import { whenSettled } from '../../lib/settled.ts';
import { classify, failed } from './classify.ts';
import type { CallContext, CallFn, CallResult, Layer, SemaphoreKind } from './types.ts';

/**
 * The upstream's bulkhead, shared by every request in the process (per request on Workers). A
 * waiter that is cancelled leaves the queue at once; the permit is released only when the layer
 * below has settled, body included. A hedge (`ctx.noWait`) takes a free slot or none. The same
 * layer caps one request's open connections on Workers (`kind: 'connections'`).
 */
export function bulkheadLayer(bulkhead: Semaphore, upstream: string, kind: SemaphoreKind = 'upstream'): Layer {
  // Not async: while the call runs, this layer holds a reaction to release its slot, not a frame.
  return (next) =>
    function bulkheaded(ctx) {
      // A free slot with nobody queued is taken at once; a hedge (`noWait`) takes that or none.
      const free = ctx.noWait || !ctx.signal.aborted ? bulkhead.tryAcquire() : undefined;
      if (free) return holding(next, ctx, free, 0);
      if (ctx.noWait) return Promise.resolve(failed(new TributaryError('rejected', `${ctx.label}: no free ${kind} slot for a hedge to ${upstream}`)));
      let waitMs = 0;
      const onWait = (report: WaitReport): void => {
        waitMs = report.waitMs;
        ctx.observer.wait(kind, report, bulkhead.limit);
      };
      return bulkhead.acquire(ctx.signal, onWait).then(
        (release) => holding(next, ctx, release, waitMs),
        // A full queue or a long wait (`rejected`), or the signal's reason: classified as any failure is.
        (error: unknown) => failed(classify(error, ctx, upstream), 0, waitMs),
      );
    };
}

/** The layer below run holding a slot, released once it has settled, body included; the wait added to its result. */
function holding(next: CallFn, ctx: CallContext, release: Release, waitMs: number): Promise<CallResult> {
  const work = whenSettled(() => next(ctx), release);
  return waitMs === 0 ? work : work.then((result) => ({ ...result, waitMs: result.waitMs + waitMs }));
}
