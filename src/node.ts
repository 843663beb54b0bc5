/**
 * The Node entry: config, undici transport, HTTP server, logs, graceful shutdown.
 * Run it directly in production (`node src/node.ts`, as the Dockerfile does), so signals reach it;
 * `npm start` execs it for the same reason.
 *
 *   TRIBUTARY_CONFIG  a .json file, or a .ts/.js module exporting defineConfig(...); unset: the demo
 *   PORT              default 8787
 *   HOST              default 127.0.0.1
 *   TRIBUTARY_GRACE_MS  how long in-flight requests may finish on SIGTERM/SIGINT, default 10000
 *   TRIBUTARY_SHUTDOWN_DELAY_MS  keep accepting (with /readyz 503) at least this long after the
 *                     signal, so a load balancer notices first; default 0
 *   TRIBUTARY_LOG_LEVEL  debug, info (default), warn, error or silent; JSON lines on stdout
 *   TRIBUTARY_ACCESS_LOG=0  no access log (one JSON line per request otherwise)
 *   TRIBUTARY_MAX_IN_FLIGHT  endpoint requests in flight at once; more get 503 overloaded with
 *                     Retry-After; default from the bulkheads (routes/admission.ts defaultMaxInFlight)
 *   TRIBUTARY_HEADERS_TIMEOUT_MS, TRIBUTARY_REQUEST_TIMEOUT_MS  time a client has to send its
 *                     headers, and its whole request; default 10000 each (then 408)
 *   TRIBUTARY_KEEP_ALIVE_TIMEOUT_MS  an idle kept-alive client connection closes after this; default 5000
 *   TRIBUTARY_MAX_REQUEST_BODY_BYTES  largest request body an endpoint reads (then 413); default 1048576
 *   TRIBUTARY_MAX_INBOUND_CONNECTIONS  client connections open at once; default 10000
 *   TRIBUTARY_DEBUG_TOKEN  callers sending it in `x-tributary-debug` get per-call Server-Timing
 *   TRIBUTARY_TRACE_CONSOLE=1  print each request's trace as a waterfall on stderr
 *   TRIBUTARY_PROCESSES  processes serving the port (node:cluster): a number, or `auto` (one per
 *                     core); default 1. Each upstream's bulkhead is divided between them.
 *   TRIBUTARY_SLOW_LOOP_MS  an event loop blocked longer than this is logged (one warn line a
 *                     second at most, with the routes being served) and counted in
 *                     `tributary.eventloop.blocked`; default 100, 0 turns it off
 *   TRIBUTARY_CACHE   where calls with a `cache` keep entries: memory (default) or redis://host:port/db
 *   TRIBUTARY_CACHE_MAX_BYTES  size of the memory cache, default 67108864 (64 MiB)
 *   TRIBUTARY_CACHE_TIMEOUT_MS  longest Redis read before a call goes on without it, default 20
 *   OTEL_*            the standard OpenTelemetry variables (exporter endpoint, service name, sampler)
 */
import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { createApp } from './app.ts';
import { nodeCompressor } from './node/compression.ts';
import { nodeSha256 } from './node/sha256.ts';
import { createReadiness } from './routes/health.ts';
import { defaultMaxInFlight } from './routes/admission.ts';
import { compilePlan, ConfigError, shareBulkheads, type Plan } from './services/plan/index.ts';
import { createTelemetry, INSTRUMENTATION_SCOPE, observeBulkheads } from './services/telemetry.ts';
import { startDemoUpstreams, type DemoUpstreams } from './node/demo.ts';
import { demoConfig } from './services/demo-config.ts';
import { loadConfigFile } from './node/load-config.ts';
import { scalarScript } from './node/docs-script.ts';
import { createNodeLogger } from './node/logger.ts';
import { gracefulShutdown } from './node/shutdown.ts';
import { guardConnections, readServerLimits, serverOptions, type ServerLimits } from './node/server-options.ts';
import { connectionsByOrigin, createNodeTransport } from './node/transport.ts';
import { startNodeTelemetry } from './node/telemetry.ts';
import { isServingProcess, readProcesses, runPrimary } from './node/cluster.ts';
import { watchSlowLoop } from './node/slow-loop.ts';
import { ServedRoutes } from './routes/served-routes.ts';
import { announce } from './serve/run-gateway.ts';
import { readEntrySettings, wholeNumber, type EntrySettings } from './serve/settings.ts';
import { createNodeCache } from './node/cache-store.ts';

interface Settings extends EntrySettings {
  limits: ServerLimits;
  /** TRIBUTARY_PROCESSES: above 1, a primary forks that many serving processes. */
  processes: number;
  /** TRIBUTARY_SLOW_LOOP_MS; 0: not watched. */
  slowLoopMs: number;
}

/** The process settings from the environment (those every entry shares, and Node's server limits), or the first problem in words (no stack). */
function readSettings(env: NodeJS.ProcessEnv): Settings | string {
  const shared = readEntrySettings(env);
  if (typeof shared === 'string') return shared;
  const limits = readServerLimits(env);
  if (typeof limits === 'string') return limits;
  const slowLoopMs = wholeNumber(env, 'TRIBUTARY_SLOW_LOOP_MS', 100);
  if (typeof slowLoopMs === 'string') return slowLoopMs;
  try {
    return { ...shared, limits, slowLoopMs, processes: readProcesses(env) };
  } catch (error) {
    return (error as Error).message;
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const settings = readSettings(env);
  if (typeof settings === 'string') {
    console.error(settings);
    process.exitCode = 1;
    return;
  }
  if (settings.processes > 1 && !isServingProcess()) {
    await startPrimary(settings, env);
    return;
  }
  let demo: DemoUpstreams | undefined;
  let plan: Plan;
  try {
    if (env.TRIBUTARY_CONFIG) {
      plan = compilePlan(await loadConfigFile(env.TRIBUTARY_CONFIG), env);
    } else {
      demo = await startDemoUpstreams();
      plan = compilePlan(demoConfig(demo.urls), env);
    }
  } catch (error) {
    await demo?.close();
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exitCode = 1;
      return;
    }
    throw error;
  }

  // One of several processes on this host: its share of each upstream's bulkhead.
  plan = shareBulkheads(plan, settings.processes);
  const { port, host } = settings;
  const logger = createNodeLogger(settings.log, undefined, settings.processes > 1 ? { pid: process.pid } : undefined);
  const cache = await createNodeCache(env, plan, { warn: (m) => logger.warn(m), info: (m) => logger.info(m) });
  if (typeof cache === 'string') {
    await demo?.close();
    console.error(cache);
    process.exitCode = 1;
    return;
  }
  const readiness = createReadiness();
  // Before the app is built, so its tracer and instruments come from the SDK.
  const telemetry = await startNodeTelemetry(env);
  const transport = createNodeTransport({ connectionsFor: connectionsByOrigin(plan) });
  // Aborted at the end of the shutdown grace period: what still runs is answered with 504.
  const cutoff = new AbortController();
  const maxInFlight = settings.maxInFlight ?? defaultMaxInFlight(plan);
  const servedRoutes = settings.slowLoopMs > 0 ? new ServedRoutes() : undefined;
  const { app, engine } = createApp({
    plan,
    fetcher: transport.fetcher,
    // What nobody exports is not built per request (spans, label sets); the trace context is still forwarded.
    telemetry: createTelemetry({ traces: telemetry.traces, metrics: telemetry.metrics }),
    readiness,
    cutoff: cutoff.signal,
    maxRequestBodyBytes: settings.limits.maxRequestBodyBytes,
    admission: { maxInFlight },
    ...(servedRoutes ? { servedRoutes } : {}),
    compressor: nodeCompressor,
    sha256: nodeSha256,
    log: logger.fault,
    docsScript: scalarScript,
    ...(logger.access ? { accessLog: logger.access } : {}),
    ...(env.TRIBUTARY_DEBUG_TOKEN ? { debugToken: env.TRIBUTARY_DEBUG_TOKEN } : {}),
    ...(cache ? { engine: { cache: cache.store } } : {}),
  });
  if (telemetry.enabled) observeBulkheads(engine.upstreams.values(), metrics.getMeter(INSTRUMENTATION_SCOPE));
  const stopWatchingLoop = servedRoutes
    ? watchSlowLoop({
        thresholdMs: settings.slowLoopMs,
        routes: () => servedRoutes.drain(),
        log: logger.warn,
        blocked: metrics.getMeter(INSTRUMENTATION_SCOPE).createCounter('tributary.eventloop.blocked', {
          description: `Periods the event loop was blocked longer than TRIBUTARY_SLOW_LOOP_MS`,
          unit: '{block}',
        }),
      })
    : undefined;

  const server = serve({ fetch: app.fetch, port, hostname: host, serverOptions: serverOptions(settings.limits) }) as Server;
  const cannotListen = (error: NodeJS.ErrnoException): void => {
    console.error(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`);
    process.exit(1);
  };
  server.once('error', cannotListen);
  await new Promise<void>((resolve) => server.once('listening', resolve));
  // From now on a server error is a failed accept (out of file descriptors): logged, not fatal.
  server.off('error', cannotListen);
  guardConnections(server, settings.limits, logger.warn);

  const shutdown = gracefulShutdown({
    server,
    readiness,
    logger,
    ...settings.shutdown,
    cutoff,
    cleanup: async () => {
      stopWatchingLoop?.();
      await transport.close();
      await cache?.close();
      await telemetry.shutdown().catch((error: unknown) => logger.warn(`could not flush telemetry: ${(error as Error)?.message ?? error}`));
      await demo?.close();
    },
    exit: (code) => process.exit(code),
  });
  // `on`, not `once`: a repeated signal must reach the handler, not Node's default (exit at once).
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // Announced only once the signal handlers are in place: a process manager may signal as soon as it reads this.
  const base = `http://${host}:${(server.address() as AddressInfo).port}`;
  logger.info(`tributary listening on ${base} (${plan.endpoints.length} endpoints)`);
  if (cache) logger.info(`cache: ${cache.description}`);
  announce(logger, base, maxInFlight, demo !== undefined);
}

/**
 * TRIBUTARY_PROCESSES > 1: check the config once here (a broken one is reported once, not by
 * every process), then fork the serving processes and pass signals on to them.
 */
async function startPrimary(settings: Settings, env: NodeJS.ProcessEnv): Promise<void> {
  if (env.TRIBUTARY_CONFIG) {
    try {
      compilePlan(await loadConfigFile(env.TRIBUTARY_CONFIG), env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(error.message);
      process.exitCode = 1;
      return;
    }
  }
  const logger = createNodeLogger(settings.log, undefined, { pid: process.pid });
  const primary = runPrimary({
    processes: settings.processes,
    log: logger,
    exit: (code) => process.exit(code),
    // Each process drains within its grace period and flushes its telemetry; then it is overdue.
    killAfterMs: settings.shutdown.delayMs + settings.shutdown.graceMs + 10_000,
  });
  process.on('SIGTERM', () => primary.shutdown('SIGTERM'));
  process.on('SIGINT', () => primary.shutdown('SIGINT'));
}

await main();
