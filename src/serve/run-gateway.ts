import { createApp } from '../app.ts';
import type { Sha256 } from '../lib/sha256.ts';
import { defaultMaxInFlight } from '../routes/admission.ts';
import { createReadiness } from '../routes/health.ts';
import { demoConfig } from '../services/demo-config.ts';
import { compilePlan, ConfigError, type Env, type Plan } from '../services/plan/index.ts';
import type { Fetcher } from '../services/upstream/index.ts';
import { fileUrl, loadConfigAt, type ReadText } from './config-file.ts';
import { startWebDemoUpstreams, type WebDemoUpstreams } from './demo-upstreams.ts';
import { drainOnSignal } from './drain.ts';
import type { Listen, Listening } from './listen.ts';
import { createLineLogger, type EntryLogger } from './logger.ts';
import { readEntrySettings, wholeNumber } from './settings.ts';

/** The OpenTelemetry an entry could start: whether spans are recorded, and the final flush. */
export interface EntryTelemetry {
  /** What is exported, in words, for the start-up log; undefined: nothing. */
  describe: string | undefined;
  /** Flushes what is left; bounded, never rejects. */
  shutdown(): Promise<void>;
}

/** What a runtime gives the shared entry: its environment, files, server, signals and exit. */
export interface EntryRuntime {
  /** `Deno`, `Bun`: named in messages. */
  name: string;
  env: Env;
  /** The current directory: a relative TRIBUTARY_CONFIG is relative to it (to INIT_CWD under `npm run`). */
  cwd: string;
  readText: ReadText;
  listen: Listen;
  onSignal(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): void;
  /** Starts the runtime's OpenTelemetry from the OTEL_* variables, once the logger is up. */
  startTelemetry?(env: Env, logger: EntryLogger): Promise<EntryTelemetry>;
  /** SHA-256 for cache keys and ETags (Deno, Bun: `node:crypto`'s, synchronous). Unset: WebCrypto's. */
  sha256?: Sha256;
}

/** The transport: the runtime's own fetch, which honours `init.signal` (an abort frees the connection). */
const globalFetch: Fetcher = (url, init) => fetch(url, init);

/**
 * The whole life of a Deno or Bun gateway: settings and config checked at start (a problem is
 * printed on stderr, without a stack, and the process exits 1), the demo upstreams when TRIBUTARY_CONFIG is unset, the app over the
 * global fetch, the runtime's own server, a graceful shutdown on SIGTERM/SIGINT. A client that
 * disconnects aborts its request's calls: both servers abort `request.signal`, which the route
 * layer links to every call.
 *
 * @example
 * await runGateway({ name: 'Deno', env: Deno.env.toObject(), cwd: Deno.cwd(), readText: (url) => Deno.readTextFile(url), listen: listenDeno, ... });
 */
export async function runGateway(runtime: EntryRuntime): Promise<void> {
  const { env } = runtime;
  const fail = (message: string): void => {
    console.error(message);
    runtime.exit(1);
  };
  const settings = readEntrySettings(env);
  if (typeof settings === 'string') return fail(settings);
  const maxRequestBodyBytes = wholeNumber(env, 'TRIBUTARY_MAX_REQUEST_BODY_BYTES', 1024 * 1024, 'bytes', 1);
  if (typeof maxRequestBodyBytes === 'string') return fail(maxRequestBodyBytes);
  let demo: WebDemoUpstreams | undefined;
  let plan: Plan;
  try {
    if (env.TRIBUTARY_CONFIG) {
      plan = compilePlan(await loadConfigAt(fileUrl(env.TRIBUTARY_CONFIG, env.INIT_CWD || runtime.cwd), runtime.readText), env);
    } else {
      demo = await startWebDemoUpstreams(runtime.listen);
      plan = compilePlan(demoConfig(demo.urls), env);
    }
  } catch (error) {
    await demo?.close();
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }

  const logger = createLineLogger(settings.log);
  const telemetry = await runtime.startTelemetry?.(env, logger);
  const readiness = createReadiness();
  // Aborted at the end of the shutdown grace period: what still runs is answered with 504.
  const cutoff = new AbortController();
  const maxInFlight = settings.maxInFlight ?? defaultMaxInFlight(plan);
  const { app } = createApp({
    plan,
    fetcher: globalFetch,
    readiness,
    cutoff: cutoff.signal,
    maxRequestBodyBytes,
    admission: { maxInFlight },
    log: logger.fault,
    ...(logger.access ? { accessLog: logger.access } : {}),
    ...(env.TRIBUTARY_DEBUG_TOKEN ? { debugToken: env.TRIBUTARY_DEBUG_TOKEN } : {}),
    ...(runtime.sha256 ? { sha256: runtime.sha256 } : {}),
  });

  const { port, host } = settings;
  let server: Listening;
  try {
    server = await runtime.listen((request) => app.fetch(request), { port, hostname: host });
  } catch (error) {
    await demo?.close();
    const { code, name, message } = error as { code?: string; name?: string; message?: string };
    return fail(`cannot listen on ${host}:${port}: ${code ?? name ?? message}`);
  }
  const shutdown = drainOnSignal({ server, readiness, logger, cutoff, ...settings.shutdown,
    cleanup: async () => {
      await telemetry?.shutdown();
      await demo?.close();
    },
    exit: (code) => runtime.exit(code),
  });
  runtime.onSignal('SIGTERM', () => shutdown('SIGTERM'));
  runtime.onSignal('SIGINT', () => shutdown('SIGINT'));

  // Announced only once the signal handlers are in place: a process manager may signal as soon as it reads this.
  const base = `http://${host}:${server.port}`;
  logger.info(`tributary listening on ${base} (${plan.endpoints.length} endpoints, ${runtime.name})`);
  announce(logger, base, maxInFlight, demo !== undefined);
  if (telemetry?.describe) logger.info(telemetry.describe);
}

/**
 * The start-up lines every entry prints after "listening": the in-flight limit, and for the demo
 * the commands to try.
 *
 * @example
 * announce(logger, 'http://127.0.0.1:8787', 256, true);
 */
export function announce(logger: Pick<EntryLogger, 'info'>, base: string, maxInFlight: number, demo: boolean): void {
  logger.info(`at most ${maxInFlight} endpoint requests in flight; more are answered 503 at once (TRIBUTARY_MAX_IN_FLIGHT)`);
  if (!demo) return;
  logger.info('demo upstreams are running in this process; try:');
  logger.info(`  curl -i ${base}/v1/dashboard/42`);
  logger.info(`  curl -i '${base}/v1/items?ids=1,2,3'`);
  logger.info(`  curl -i ${base}/v1/users/42/with-manager`);
}
