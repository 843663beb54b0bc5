import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { Engine, type EngineOptions } from './services/engine/index.ts';
import { createTelemetry, type Telemetry } from './services/telemetry.ts';
import { activeTrace, serverSpanHook } from './routes/tracing.ts';
import type { CompiledEndpoint, Plan } from './services/plan/index.ts';
import type { Fetcher } from './services/upstream/index.ts';
import { accessLogHook, type AccessLogSink } from './routes/access-log.ts';
import { registerDocs, type DocsScript } from './routes/docs.ts';
import { registerEndpoints } from './routes/endpoints.ts';
import { notFound, onError, requestIdHook, type AppEnv, type FaultLog } from './routes/errors.ts';
import { drainHook, registerHealth, type Readiness } from './routes/health.ts';
import { acceptedHook, createAdmission, type AdmissionOptions } from './routes/admission.ts';
import type { ServedRoutes } from './routes/served-routes.ts';
import { compressionHook, type Compressor } from './routes/compression.ts';
import type { Sha256 } from './lib/sha256.ts';
import { requestFrame, type RequestHook } from './routes/request-frame.ts';

/** What every app takes, whatever owns its engine. */
interface CommonDeps {
  plan: Plan;
  /**
   * Largest client request body, bytes. Default 1 MiB. Endpoints that declare no body refuse any
   * body; a body that is not `application/json` gets 415.
   */
  maxRequestBodyBytes?: number;
  /**
   * Aborted when the server stops waiting for in-flight requests (Node: the end of the shutdown
   * grace period), with a `deadline_exceeded` reason: endpoint requests still running end as if
   * their deadline had passed and are answered (504 when a required call was cut) instead of reset.
   */
  cutoff?: AbortSignal;
  /** Callers sending this token in `x-tributary-debug` get per-call Server-Timing. Unset: nobody. */
  debugToken?: string;
  /**
   * Where internal faults (500) are logged, once each, with the request id (pino on Node).
   * Default: console.error.
   */
  log?: FaultLog;
  /** Receives one access-log entry per request. Unset: no access log. */
  accessLog?: AccessLogSink;
  /** `/readyz` answers 503, and responses say `Connection: close`, once this is draining. Default: always ready. */
  readiness?: Readiness;
  /**
   * Load shedding: beyond `maxInFlight` endpoint requests in flight, the next is answered 503
   * `overloaded` with `Retry-After` at once (never `/healthz` or `/readyz`). Unset: no limit
   * (Workers, where the platform sheds). Node: `TRIBUTARY_MAX_IN_FLIGHT`, default `defaultMaxInFlight(plan)`.
   */
  admission?: AdmissionOptions;
  /** Counts each endpoint's requests in flight by route (Node: named when the event loop was blocked). */
  servedRoutes?: ServedRoutes;
  /**
   * Serves the `/docs` page's script from the gateway itself (Node: Scalar's bundle from
   * node_modules). Unset: the page loads it from jsDelivr. `"docs": false` in the config turns off
   * `/docs` and `/openapi.json` altogether.
   */
  docsScript?: DocsScript;
  /**
   * Compresses JSON answers over 1 KiB and streams (flushed per line) for clients that accept
   * it. Node: `nodeCompressor` (brotli, gzip). Unset: none (Workers, where Cloudflare's edge
   * compresses `application/json`).
   */
  compressor?: Compressor;
  /**
   * SHA-256 for cache keys and ETags. Node: `nodeSha256` (`node:crypto`, synchronous, about a
   * tenth of the CPU of WebCrypto's). Unset: WebCrypto's.
   */
  sha256?: Sha256;
}

/** One engine for the app (Node, tests): its bulkheads and breakers are shared by every request. */
export interface AppDeps extends CommonDeps {
  /** The transport: undici on Node, the platform fetch on Workers, a function in tests. */
  fetcher: Fetcher;
  engine?: EngineOptions;
  /** Tracer and instruments. Default: the global ones from `@opentelemetry/api` (no-ops without an SDK). */
  telemetry?: Telemetry;
}

/**
 * An engine per request (Workers, where no state with timers or I/O may be shared between
 * requests): the app, its routes and middleware are built once; each request runs on the engine
 * `engineFor` returns for it, and its SERVER span goes to that engine's tracer.
 */
export interface PerRequestAppDeps extends CommonDeps {
  engineFor: (request: Request) => Engine;
}

export interface App {
  app: Hono<AppEnv>;
  engine: Engine;
}

const alwaysReady: Readiness = { draining: false };

/**
 * Builds the gateway from injected dependencies. Nothing here depends on the runtime.
 *
 * @example
 * const { app } = createApp({ plan: compilePlan(config, env), fetcher: fetch });
 * export default app;
 * // Workers: routes built once per isolate, an engine per request.
 * const { app } = createApp({ plan, engineFor: (request) => new Engine(plan, fetch, { maxConnections: 6 }) });
 */
export function createApp(deps: AppDeps): App;
export function createApp(deps: PerRequestAppDeps): { app: Hono<AppEnv> };
export function createApp(deps: AppDeps | PerRequestAppDeps): App | { app: Hono<AppEnv> } {
  const app = new Hono<AppEnv>();
  const log: FaultLog = deps.log ?? ((message, error) => console.error(message, error));
  const handleError = onError(log);
  let engine: Engine | undefined;
  let engineHook: RequestHook;
  if ('engineFor' in deps) {
    const { engineFor } = deps;
    // The request's own engine, tracer and instruments (Workers export each request's spans on their own).
    engineHook = { name: 'engine', enter: (c) => void c.set('engine', engineFor(c.req.raw)) };
  } else {
    const telemetry = deps.telemetry ?? createTelemetry();
    const shared = (engine = new Engine(deps.plan, deps.fetcher, { telemetry, ...(deps.sha256 ? { sha256: deps.sha256 } : {}), ...deps.engine }));
    engineHook = { name: 'engine', enter: (c) => void c.set('engine', shared) };
  }
  const readiness = deps.readiness ?? alwaysReady;
  // One frame around every request, outermost first: the deadline counts from acceptance; the
  // access log reads what the hooks after it set, and writes before the span's `done` ends the span.
  const hooks: RequestHook[] = [acceptedHook, engineHook, serverSpanHook];
  if (deps.accessLog) hooks.push(accessLogHook(deps.accessLog));
  hooks.push(requestIdHook);
  if (deps.readiness) hooks.push(drainHook(readiness));
  if (deps.compressor) hooks.push(compressionHook(deps.compressor, log));
  app.use('*', requestFrame(hooks, { onError: handleError, log, activeTrace }));
  const { origins, credentials, maxAgeSeconds } = deps.plan.cors;
  if (origins.length > 0) app.use('*', corsFor(origins, credentials, maxAgeSeconds));
  registerHealth(app, deps.plan.endpoints.length, readiness);
  registerDocs(app, deps.plan, { script: deps.docsScript });
  // Only around the endpoints, before their own handlers (and their body limit): a refusal reads nothing.
  const admission = deps.admission ? createAdmission(deps.admission) : undefined;
  const guards = (e: CompiledEndpoint): RequestHook[] => [
    ...(deps.servedRoutes ? [deps.servedRoutes.hook(e.id)] : []),
    ...(admission ? [admission.hook(e.path)] : []),
  ];
  registerEndpoints(app, deps.plan.endpoints, {
    maxRequestBodyBytes: deps.maxRequestBodyBytes ?? 1024 * 1024,
    debugToken: deps.debugToken,
    cutoff: deps.cutoff,
    log,
    guards,
    sha256: deps.sha256,
  });
  app.notFound(notFound);
  app.onError(handleError);
  return engine ? { app, engine } : { app };
}

function corsFor(origins: string[], credentials: boolean, maxAgeSeconds: number): MiddlewareHandler<AppEnv> {
  return cors({
    origin: origins,
    credentials,
    maxAge: maxAgeSeconds,
    allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    // `etag` and `if-none-match`: a frontend may revalidate a cacheable endpoint itself.
    exposeHeaders: ['x-aggregate-complete', 'server-timing', 'x-request-id', 'traceresponse', 'etag'],
    allowHeaders: ['content-type', 'traceparent', 'tracestate', 'x-request-id', 'x-tributary-debug', 'if-none-match'],
  });
}
