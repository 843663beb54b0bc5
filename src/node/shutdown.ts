import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Drainable } from '../routes/health.ts';
import { after, cutAtGraceEnd, onFirstSignal } from '../serve/drain.ts';
import type { NodeLogger } from './logger.ts';

export interface ShutdownOptions {
  server: Server;
  readiness: Drainable;
  logger: NodeLogger;
  /** How long in-flight requests may take to finish, from the first signal. */
  graceMs: number;
  /**
   * Keep accepting connections at least this long after the signal (answering `/readyz` with
   * 503), so a load balancer notices before the port closes. 0: close as soon as nothing is in flight.
   */
  delayMs: number;
  /**
   * Aborted when the grace period is over, with a `deadline_exceeded` reason: the app (createApp's
   * `cutoff`) ends what still runs and answers it, 504 when a required call was cut.
   */
  cutoff?: AbortController;
  /** Closes what outlives the server (connection pool, telemetry, demo upstreams). Must not reject. */
  cleanup(): Promise<void>;
  exit(code: number): void;
}

/**
 * How long the answers to the requests cut at the end of the grace period may take to be written
 * before their connections are closed anyway.
 */
export const ANSWER_WINDOW_MS = 1000;

/**
 * Once the server stops listening, idle connections are closed, but not while one was accepted
 * less than this long ago: a new connection is idle until its first request arrives, and
 * closing it then would reset a request already on its way (it gets `Connection: close` instead).
 */
const FRESH_CONNECTION_MS = 250;

/**
 * The graceful shutdown of the Node entry, as a signal handler. On the first signal: `/readyz`
 * answers 503 and every response says `Connection: close` (src/routes/health.ts); the server keeps
 * accepting while requests are in flight (and for `delayMs`), so the load balancer's probe sees the
 * 503 and requests it still sends are served; then it stops listening, closes idle connections
 * and lets the rest finish within `graceMs`. When the grace period is over, it aborts `cutoff`:
 * the requests still running end as if their deadline had passed and are answered (504 when a
 * required call was cut, with the response contract's body) instead of reset; it gives the
 * answers {@link ANSWER_WINDOW_MS} to leave, closes the connections left, cleans up and exits 0.
 * Later signals only say that the drain is under way: a second Ctrl-C or a process manager that
 * repeats SIGTERM does not cut the in-flight requests.
 *
 * @example
 * const cutoff = new AbortController(); // its signal given to createApp({ cutoff: cutoff.signal })
 * const shutdown = gracefulShutdown({ server, readiness, logger, graceMs: 10_000, delayMs: 0, cutoff, cleanup, exit: process.exit });
 * process.on('SIGTERM', () => shutdown('SIGTERM'));
 */
export function gracefulShutdown(options: ShutdownOptions): (signal: string) => void {
  const { server, logger, graceMs, delayMs } = options;
  const inFlight = countRequests(server);
  let lastAccepted = Number.NEGATIVE_INFINITY;
  server.on('connection', () => (lastAccepted = performance.now()));
  const closeIdle = (): void => {
    if (performance.now() - lastAccepted >= FRESH_CONNECTION_MS) server.closeIdleConnections();
  };

  async function drain(): Promise<void> {
    const grace = after(graceMs);
    const delay = after(delayMs);
    let idleTimer: ReturnType<typeof setInterval> | undefined;
    try {
      const served = delay.done.then(() => inFlight.idle()).then(() => 'served' as const);
      let result = await Promise.race([served, grace.done]);
      // net's close, not http's: http's also closes every idle connection at once, a new one whose
      // first request is on its way included (reset); `closeIdle` spares those a moment.
      const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(server, () => resolve()));
      // Kept-alive connections with no request in flight would hold close() open; a request that
      // arrives on one now is answered with Connection: close, so keep closing the idle ones.
      closeIdle();
      idleTimer = setInterval(closeIdle, 50);
      if (result === 'served') result = await Promise.race([closed.then(() => 'served' as const), grace.done]);
      if (result === 'served') return;

      cutAtGraceEnd({ logger, cutoff: options.cutoff, graceMs, inFlight: inFlight.count() });
      const window = after(ANSWER_WINDOW_MS);
      const answered = await Promise.race([inFlight.idle().then(() => true), window.done.then(() => false)]);
      window.cancel();
      if (!answered) logger.warn(`closing ${inFlight.count()} connection(s) whose answer was not written within ${ANSWER_WINDOW_MS} ms`);
      server.closeAllConnections();
    } finally {
      grace.cancel();
      delay.cancel();
      clearInterval(idleTimer);
    }
  }

  return onFirstSignal({ ...options, inFlight: () => inFlight.count(), drain });
}

/** Requests being answered now, and a promise for the moment there are none. */
function countRequests(server: Server): { count(): number; idle(): Promise<void> } {
  let count = 0;
  let waiting: (() => void)[] = [];
  server.on('request', (_request, response) => {
    count++;
    response.once('close', () => {
      count--;
      if (count > 0) return;
      for (const resolve of waiting) resolve();
      waiting = [];
    });
  });
  return {
    count: () => count,
    idle: () => (count === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiting.push(resolve))),
  };
}
