import type { Counter } from '@opentelemetry/api';

export interface SlowLoopOptions {
  /** A delay longer than this is a blocked loop, ms (TRIBUTARY_SLOW_LOOP_MS). */
  thresholdMs: number;
  /** The routes served since the last check (ServedRoutes.drain). */
  routes: () => string[];
  /** Where the one line goes (the process logger's warn). */
  log: (message: string, fields: SlowLoopFields) => void;
  /** Counts every blocked period, logged or not (`tributary.eventloop.blocked`). */
  blocked?: Counter;
  /** Default: performance.now(). */
  clock?: () => number;
  /** Default: an unref'd setInterval. Tests pass their own to drive the checks. */
  every?: (check: () => void, ms: number) => () => void;
}

export type SlowLoopFields = {
  delayMs: number;
  thresholdMs: number;
  routes: string[];
  /** Blocked periods since the last line that were not logged (at most one line per second). */
  notLogged: number;
};

/** Lines are at most this often; the blocks in between are counted, not logged. */
const LOG_EVERY_MS = 1000;

const unrefInterval = (check: () => void, ms: number): (() => void) => {
  const timer = setInterval(check, ms);
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * The asyncio debug mode's "slow callback" warning for Node: a check that should run every few
 * ms notices when it ran late by more than `thresholdMs` (the loop was blocked: a synchronous
 * handler, a huge JSON.parse), logs one line with the delay and the routes being served, at most
 * one per second, and counts every such period in a metric. Returns the function that stops it.
 *
 * @example
 * const stop = watchSlowLoop({ thresholdMs: 100, routes: () => served.drain(), log: logger.warn });
 */
export function watchSlowLoop(options: SlowLoopOptions): () => void {
  const { thresholdMs, routes, log, blocked } = options;
  const clock = options.clock ?? (() => performance.now());
  // Often enough that a block just over the threshold is seen as one.
  const intervalMs = Math.max(5, Math.min(25, Math.floor(thresholdMs / 4)));
  let last = clock();
  let lastLogAt = Number.NEGATIVE_INFINITY;
  let notLogged = 0;
  const check = (): void => {
    const now = clock();
    const delayMs = now - last - intervalMs;
    last = now;
    const served = routes();
    if (delayMs <= thresholdMs) return;
    blocked?.add(1);
    if (now - lastLogAt < LOG_EVERY_MS) {
      notLogged++;
      return;
    }
    lastLogAt = now;
    const rounded = Math.round(delayMs);
    const where = served.length > 0 ? `while serving ${served.join(', ')}` : 'while serving no endpoint request';
    log(`event loop blocked for ${rounded} ms (over TRIBUTARY_SLOW_LOOP_MS=${thresholdMs}) ${where}`, {
      delayMs: rounded,
      thresholdMs,
      routes: served,
      notLogged,
    });
    notLogged = 0;
  };
  return (options.every ?? unrefInterval)(check, intervalMs);
}
