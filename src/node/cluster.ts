import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';

/** The most processes `TRIBUTARY_PROCESSES` may ask for: beyond this it is surely a typo. */
const MOST_PROCESSES = 256;

/**
 * `TRIBUTARY_PROCESSES`: how many Node processes serve the port. Unset or `1`: this one.
 * A whole number, or `auto` for one per core (`os.availableParallelism()`). Throws an Error
 * naming the variable when the value cannot be used.
 *
 * @example
 * readProcesses({ TRIBUTARY_PROCESSES: 'auto' }); // 8 on an 8-core machine
 * readProcesses({}); // 1
 */
export function readProcesses(env: Record<string, string | undefined>, cores: number = availableParallelism()): number {
  const text = env.TRIBUTARY_PROCESSES?.trim();
  if (text === undefined || text === '') return 1;
  if (text === 'auto') return Math.max(1, cores);
  const value = Number(text);
  if (Number.isSafeInteger(value) && value >= 1 && value <= MOST_PROCESSES) return value;
  throw new Error(`TRIBUTARY_PROCESSES must be a whole number from 1 to ${MOST_PROCESSES}, or "auto" (one per core), got "${text}"`);
}

export interface PrimaryLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface PrimaryOptions {
  processes: number;
  log: PrimaryLog;
  /** How the primary ends once every process has exited. */
  exit: (code: number) => void;
  /** After a shutdown signal, a process still running this long is killed. */
  killAfterMs: number;
  /** A process that exits sooner than this after it started counts as a failed start. Default 5000. */
  quickExitMs?: number;
  /** This many failed starts in a row stop the primary (a crash loop helps nobody). Default 5. */
  maxQuickExits?: number;
}

export interface Primary {
  /** Passes the signal to every process (each drains as a single process would) and exits when all have. */
  shutdown(signal: NodeJS.Signals): void;
}

/**
 * The primary of `TRIBUTARY_PROCESSES` > 1: forks the serving processes (they share the port
 * through `node:cluster`), starts a new one whenever one exits on its own, and on SIGTERM or
 * SIGINT passes the signal on and waits for all of them. It serves nothing itself.
 *
 * @example
 * const primary = runPrimary({ processes: 4, log, exit: (code) => process.exit(code), killAfterMs: 15_000 });
 * process.on('SIGTERM', () => primary.shutdown('SIGTERM'));
 */
export function runPrimary(options: PrimaryOptions): Primary {
  const { processes, log, exit } = options;
  const quickExitMs = options.quickExitMs ?? 5000;
  const maxQuickExits = options.maxQuickExits ?? 5;
  const running = new Map<Worker, number>();
  let stopping = false;
  let quickExits = 0;
  let exitCode = 0;
  let killTimer: ReturnType<typeof setTimeout> | undefined;

  const start = (): void => {
    running.set(cluster.fork(), performance.now());
  };
  const stopAll = (signal: NodeJS.Signals): void => {
    for (const worker of running.keys()) worker.process.kill(signal);
    if (running.size === 0) finish();
  };
  const finish = (): void => {
    if (killTimer) clearTimeout(killTimer);
    exit(exitCode);
  };

  cluster.on('exit', (worker, code, signal) => {
    const startedAt = running.get(worker) ?? 0;
    running.delete(worker);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) {
      if (code !== 0 && code !== null) exitCode = 1;
      if (running.size === 0) finish();
      return;
    }
    quickExits = performance.now() - startedAt < quickExitMs ? quickExits + 1 : 0;
    if (quickExits >= maxQuickExits) {
      log.error(`${quickExits} processes in a row exited within ${quickExitMs} ms of starting (the last: ${how}); stopping`);
      stopping = true;
      exitCode = 1;
      stopAll('SIGTERM');
      return;
    }
    log.warn(`process ${worker.process.pid} exited (${how}); starting another`);
    start();
  });

  for (let i = 0; i < processes; i++) start();
  log.info(`tributary primary ${process.pid}: ${processes} processes share the port (TRIBUTARY_PROCESSES); each upstream's bulkhead is divided between them`);

  return {
    shutdown(signal) {
      if (!stopping) {
        stopping = true;
        log.info(`${signal}: stopping ${running.size} processes`);
        killTimer = setTimeout(() => {
          log.warn(`processes still running ${options.killAfterMs} ms after ${signal}; killing them`);
          exitCode = 1;
          for (const worker of running.keys()) worker.process.kill('SIGKILL');
        }, options.killAfterMs);
        killTimer.unref();
      }
      // A repeated signal is passed on too: each process treats a repeat as harmless.
      stopAll(signal);
    },
  };
}

/** True in a process that `runPrimary` forked. */
export const isServingProcess = (): boolean => cluster.isWorker;
