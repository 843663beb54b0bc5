import { linkSignal, type LinkedSignal } from '../../lib/abort.ts';
import type { Clock } from '../../lib/clock.ts';
import { cancelled } from '../../lib/errors.ts';
import type { LatencyWindow } from '../../lib/latency-window.ts';
import type { RetryBudget } from '../../lib/retry-budget.ts';
import { startTimer } from '../../lib/timer.ts';
import type { CompiledHedge } from '../plan/types.ts';
import type { CallResult, Layer } from './types.ts';

export interface HedgeDeps {
  budget: RetryBudget;
  clock: Clock;
  /** The call's per-try timeout: a hedge delay never reaches it. */
  timeoutMs: number;
  /** The upstream's recent time to headers; required for a percentile delay. */
  latency: LatencyWindow | undefined;
  /** Whether a hedge could take a slot now: no slot, no hedge, and no budget spent on it. */
  slotFree: () => boolean;
}

type Settled = { index: number; result: CallResult };

/** A percentile delay is kept within this range (and below the per-try timeout). */
export const MIN_HEDGE_DELAY_MS = 5;

/**
 * When no attempt has response headers after the hedge delay, sends another (up to
 * `maxExtra`), each needing a retry-budget token and a free bulkhead slot. The first success
 * wins and the others are aborted at once (their sockets freed); failures wait for the rest.
 * The result carries every attempt sent. A percentile delay follows the upstream's recent time to
 * headers; until that window has enough samples, no hedge is sent.
 */
export function hedgeLayer(policy: CompiledHedge, deps: HedgeDeps): Layer {
  const { budget, clock, timeoutMs, latency, slotFree } = deps;
  const delay = (): number | undefined => {
    if ('ms' in policy.after) return policy.after.ms;
    const p = latency?.percentile(policy.after.percentile);
    return p === undefined ? undefined : Math.min(Math.max(p, MIN_HEDGE_DELAY_MS), timeoutMs);
  };
  return (next) =>
    async function hedged(ctx) {
      budget.recordCall();
      const after = delay();
      const links: LinkedSignal[] = [];
      const running = new Map<number, Promise<Settled>>();
      let headers = false;
      const launch = (index: number): void => {
        const link = linkSignal(ctx.signal);
        links.push(link);
        const startedAt = clock();
        let answered = false;
        const onHeaders = (): void => {
          answered = headers = true;
          latency?.record(clock() - startedAt);
          ctx.onHeaders?.();
        };
        const attemptCtx = { ...ctx, signal: link.signal, attempt: index, onHeaders, ...(index > 0 ? { noWait: true } : {}) };
        running.set(
          index,
          next(attemptCtx).then((result) => {
            // A first attempt cut short by a winning hedge still says it took at least this long;
            // leaving it out would drag the percentile, and with it the delay, ever lower.
            if (index === 0 && !answered && link.signal.aborted) latency?.record(clock() - startedAt);
            return { index, result };
          }),
        );
      };
      launch(0);
      let extra = 0;
      let attempts = 0;
      let waitMs = 0;
      let outcome: CallResult | undefined;
      let lastFailure: CallResult | undefined;
      try {
        while (running.size > 0) {
          const hedging = after !== undefined && extra < policy.maxExtra && !headers;
          let cancelTimer = (): void => {};
          const timer = hedging ? new Promise<'hedge'>((resolve) => (cancelTimer = startTimer(() => resolve('hedge'), after))) : undefined;
          const racers: Promise<Settled | 'hedge'>[] = [...running.values()];
          if (timer) racers.push(timer);
          const settled = await Promise.race(racers);
          cancelTimer();
          if (settled === 'hedge') {
            if (headers || ctx.signal.aborted) continue;
            extra++;
            if (!slotFree()) continue;
            if (!budget.tryRetry()) {
              ctx.observer.budgetExhausted(ctx, 'hedge');
              extra = policy.maxExtra;
              continue;
            }
            ctx.observer.hedge(ctx, extra);
            launch(extra);
            continue;
          }
          running.delete(settled.index);
          const { result } = settled;
          attempts += result.attempts;
          waitMs += result.waitMs;
          if (result.ok) {
            outcome = result;
            break;
          }
          // A hedge that found no free slot was never sent: it neither wins nor fails the call.
          if (!(settled.index > 0 && result.attempts === 0)) lastFailure = result;
        }
      } finally {
        const reason = cancelled(`${ctx.label}: another attempt answered first`);
        for (const link of links) link.abort(reason);
        // Losers settle promptly once aborted; their requests count, and nothing is left running.
        for (const { result } of await Promise.all(running.values())) {
          attempts += result.attempts;
          waitMs += result.waitMs;
        }
        for (const link of links) link.dispose();
      }
      const result = (outcome ?? lastFailure) as CallResult;
      return { ...result, attempts, waitMs };
    };
}
