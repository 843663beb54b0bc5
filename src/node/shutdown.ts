import type { Server } from 'node:http';
import type { Drainable } from '../routes/health.ts';
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
  /** Closes what outlives the server (connection pool, telemetry, demo upstreams). Must not reject. */
  cleanup(): Promise<void>;
  exit(code: number): void;
}

/**
 * The graceful shutdown of the Node entry, as a signal handler. On the first signal: `/readyz`
 * answers 503 and every response says `Connection: close` (src/routes/health.ts); the server keeps
 * accepting while requests are in flight (and for `delayMs`), so the load balancer's probe sees the
 * 503 and requests it still sends are served; then it stops listening, closes idle connections,
 * lets the rest finish within `graceMs`, closes the remaining ones, cleans up and exits 0.
 * Later signals only say that the drain is under way: a second Ctrl-C or a process manager that
 * repeats SIGTERM does not cut the in-flight requests.
 *
 * @example
 * const shutdown = gracefulShutdown({ server, readiness, logger, graceMs: 10_000, delayMs: 0, cleanup, exit: process.exit });
 * process.on('SIGTERM', () => shutdown('SIGTERM'));
 */
export function gracefulShutdown(options: ShutdownOptions): (signal: string) => void {
  const { server, readiness, logger, graceMs, delayMs } = options;
  const inFlight = countRequests(server);
  let stopping = false;
  return function shutdown(signal) {
    if (stopping) {
      logger.info(`${signal}: already draining; in-flight requests keep their grace period`, { inFlight: inFlight.count() });
      return;
    }
    stopping = true;
    readiness.drain();
    logger.info(`${signal}: draining: /readyz answers 503; in-flight requests may finish (up to ${graceMs} ms)`, {
      inFlight: inFlight.count(),
    });
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<'timeout'>((resolve) => (graceTimer = setTimeout(() => resolve('timeout'), graceMs)));
    let idleTimer: ReturnType<typeof setInterval> | undefined;
    let over = false;
    const drained = (async () => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await inFlight.idle();
      if (over) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Kept-alive connections with no request in flight would hold close() open.
      server.closeIdleConnections();
      idleTimer = setInterval(() => server.closeIdleConnections(), 50);
      await closed;
    })();
    void Promise.race([drained, grace]).then(async (result) => {
      over = true;
      clearTimeout(graceTimer);
      clearInterval(idleTimer);
      if (result === 'timeout') {
        logger.warn(`grace period over: closing the remaining connections`, { inFlight: inFlight.count() });
        if (server.listening) server.close();
        server.closeAllConnections();
      }
      await options.cleanup();
      options.exit(0);
    });
  };
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
