import { TributaryError } from '../lib/errors.ts';
import type { Drainable } from '../routes/health.ts';
import type { Listening } from './listen.ts';
import type { EntryLogger } from './logger.ts';

/** What the drain needs of a server, whatever serves it (Deno.serve, Bun.serve). */
export type DrainableServer = Omit<Listening, 'port'>;

export interface DrainOptions {
  server: DrainableServer;
  readiness: Drainable;
  logger: Pick<EntryLogger, 'info' | 'warn' | 'error'>;
  /** How long in-flight requests may take to finish, from the first signal. */
  graceMs: number;
  /** Keep accepting (answering `/readyz` with 503) at least this long, so a load balancer notices first. */
  delayMs: number;
  /** Aborted when the grace period is over (createApp's `cutoff`): what still runs is answered 504. */
  cutoff: AbortController;
  /** How long the answers to the cut requests may take to leave. Default 1000 ms. */
  answerWindowMs?: number;
  /** Closes what outlives the server (telemetry, demo upstreams). Must not reject. */
  cleanup(): Promise<void>;
  exit(code: number): void;
}

/**
 * The graceful shutdown of the Deno and Bun entries, as a signal handler; the same steps as the
 * Node entry's (src/node/shutdown.ts), over a server that can only stop and wait. On the first
 * signal `/readyz` answers 503 and responses say `Connection: close`; after `delayMs` the server
 * stops listening and waits for the requests in flight, up to `graceMs` from the signal. Then
 * `cutoff` is aborted: what still runs ends as if its deadline had passed and is answered (504),
 * the rest of the connections are closed, `cleanup` runs and the process exits 0. Later signals
 * only say that the drain is under way.
 *
 * @example
 * const shutdown = drainOnSignal({ server, readiness, logger, graceMs: 10_000, delayMs: 0, cutoff, cleanup, exit: (code) => Deno.exit(code) });
 * Deno.addSignalListener('SIGTERM', () => shutdown('SIGTERM'));
 */
export function drainOnSignal(options: DrainOptions): (signal: string) => void {
  const { server, logger, graceMs, delayMs, cutoff } = options;
  const answerWindowMs = options.answerWindowMs ?? 1000;

  async function drain(): Promise<void> {
    const grace = after(graceMs);
    try {
      // Never past the grace period: both count from the signal.
      await after(Math.min(delayMs, graceMs)).done;
      const stopped = server.stop().then(() => 'served' as const);
      if ((await Promise.race([stopped, grace.done])) === 'served') return;
      cutAtGraceEnd({ logger, cutoff, graceMs, inFlight: server.inFlight() });
      const window = after(answerWindowMs);
      const answered = await Promise.race([stopped.then(() => true), window.done.then(() => false)]);
      window.cancel();
      if (!answered) logger.warn(`closing ${server.inFlight()} connection(s) whose answer was not written within ${answerWindowMs} ms`);
      server.closeAll();
    } finally {
      grace.cancel();
    }
  }
  return onFirstSignal({ ...options, inFlight: () => server.inFlight(), drain });
}

/** What every entry's signal handler does around its own drain. */
export interface SignalHandling {
  readiness: Drainable;
  logger: Pick<EntryLogger, 'info' | 'error'>;
  graceMs: number;
  inFlight(): number;
  /** Stops the server and waits (bounded) for the requests in flight; rejections are logged. */
  drain(): Promise<void>;
  cleanup(): Promise<void>;
  exit(code: number): void;
}

/**
 * The signal handler every server entry shares (Node's src/node/shutdown.ts, and Deno and Bun
 * through {@link drainOnSignal}): the first signal marks the process draining (`/readyz` 503,
 * `Connection: close`), says so, runs `drain`, then `cleanup` and exits 0; later signals only
 * say that the drain is under way, so a second Ctrl-C or a repeated SIGTERM does not cut the
 * requests in flight.
 *
 * @example
 * const shutdown = onFirstSignal({ readiness, logger, graceMs, inFlight: () => count, drain, cleanup, exit: process.exit });
 * process.on('SIGTERM', () => shutdown('SIGTERM'));
 */
export function onFirstSignal(handling: SignalHandling): (signal: string) => void {
  const { readiness, logger, graceMs, inFlight } = handling;
  let stopping = false;
  return function shutdown(signal) {
    if (stopping) {
      logger.info(`${signal}: already draining; in-flight requests keep their grace period`, { inFlight: inFlight() });
      return;
    }
    stopping = true;
    readiness.drain();
    logger.info(`${signal}: draining: /readyz answers 503; in-flight requests may finish (up to ${graceMs} ms)`, { inFlight: inFlight() });
    void handling
      .drain()
      .catch((error: unknown) => logger.error(`shutdown: ${(error as Error)?.message ?? error}; closing what is left`))
      .then(async () => {
        await handling.cleanup();
        handling.exit(0);
      });
  };
}

/**
 * The end of the grace period: one warning with the count, then `cutoff` is aborted with a
 * `deadline_exceeded` reason, so the requests still running end as if their deadline had passed
 * and are answered (504 when a required call was cut) instead of reset.
 *
 * @example
 * cutAtGraceEnd({ logger, cutoff, graceMs: 10_000, inFlight: 3 });
 */
export function cutAtGraceEnd({ logger, cutoff, graceMs, inFlight }: { logger: Pick<EntryLogger, 'warn'>; cutoff: AbortController | undefined; graceMs: number; inFlight: number }): void {
  logger.warn(`grace period over: ${inFlight} request${inFlight === 1 ? '' : 's'} still in flight end now, as if their deadline had passed (504)`, { inFlight });
  cutoff?.abort(new TributaryError('deadline_exceeded', `the server is shutting down and its ${graceMs} ms grace period is over`));
}

/**
 * Resolves after `ms`; `cancel` clears the timer (a drain that ends early leaves none behind).
 *
 * @example
 * const grace = after(10_000);
 * try { await Promise.race([stopped, grace.done]); } finally { grace.cancel(); }
 */
export function after(ms: number): { done: Promise<'over'>; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const done = new Promise<'over'>((resolve) => (timer = setTimeout(() => resolve('over'), ms)));
  return { done, cancel: () => clearTimeout(timer) };
}
