import type { ExecutionContext, Hono } from 'hono';
import { createApp } from '../app.ts';
import { requestIdOf, type AppEnv } from '../routes/errors.ts';
import { Engine } from '../services/engine/index.ts';
import type { Plan } from '../services/plan/types.ts';
import { createTelemetry, type Telemetry } from '../services/telemetry.ts';
import { createUpstreamHealth, type Fetcher, type HealthByUpstream } from '../services/upstream/index.ts';
import { workerCacheStore } from './cache.ts';
import { workerLogging, type Write } from './logger.ts';
import { createPlanCache, defaultLog, stringVars, type Log } from './plan-cache.ts';
import { startRequestTracing, usePropagator } from './request-tracing.ts';
import { createTracingCache } from './tracing-config.ts';

/** The Worker's `env`: variables, secrets and any other bindings. */
export type WorkerEnv = Record<string, unknown>;

export interface WorkerHandler {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response>;
}

/**
 * The platform fetch, looked up per call (not captured) so that it is always called on the
 * global object. It respects `init.signal`: an abort cancels the subrequest.
 */
const platformFetch: Fetcher = (url, init) => fetch(url, init);

/**
 * Builds a Worker's `{ fetch }` around a bundled config. The plan is compiled once per isolate,
 * lazily, and so is the Hono app (its router and middleware) for that plan. Each request gets
 * only its own engine, with its own per-upstream bulkheads and telemetry, because a Worker must
 * not share timers, semaphores or I/O between requests. Breakers and retry budgets are kept per
 * isolate: best-effort, since each isolate sees only its own share of the traffic. The request's
 * own signal (the `enable_request_signal` flag) reaches every upstream call: a client that leaves
 * cancels them. With OTEL_EXPORTER_OTLP_ENDPOINT set, the request's spans are recorded by a
 * per-request tracer and POSTed once the response is built, inside `ctx.waitUntil`
 * (src/worker/request-tracing.ts). Calls with a `cache` use the Cache API (`caches.default`);
 * coalescing is per request there. One access-log line per request goes to `write` (default
 * `console.log`), faults and config problems to `log` (default `console.error`).
 *
 * @example
 * export default createWorker(defineConfig({ upstreams: {...}, endpoints: [...] }));
 */
export function createWorker(config: unknown, log?: Log, write: Write = (line) => console.log(line)): WorkerHandler {
  const prepare = createPlanCache(config, log);
  const tracingFor = createTracingCache(log ?? defaultLog);
  // Breakers, retry budgets and latency windows are plain data (counters and timestamps, no
  // timers or promises): kept per isolate, per compiled plan, they outlive a request safely.
  // Date.now, not performance.now: it is the clock Workers keep consistent across requests.
  const healthByPlan = new WeakMap<Plan, HealthByUpstream>();
  const healthOf = (plan: Plan): HealthByUpstream => {
    let health = healthByPlan.get(plan);
    if (!health) healthByPlan.set(plan, (health = createUpstreamHealth(plan, { clock: () => Date.now() })));
    return health;
  };
  // The engine of each request in flight, for the app's `engineFor`; set just before app.fetch.
  const engines = new WeakMap<Request, Engine>();
  const engineFor = (request: Request): Engine => {
    const engine = engines.get(request);
    if (!engine) throw new Error('no engine for this request: call the app through the Worker fetch handler');
    return engine;
  };
  // The app per isolate: rebuilt only when the plan, or a variable the app itself reads, changes.
  let built: { plan: Plan; key: string; app: Hono<AppEnv> } | undefined;
  const appFor = (plan: Plan, env: WorkerEnv): Hono<AppEnv> => {
    const vars = stringVars(env);
    const debugToken = vars.TRIBUTARY_DEBUG_TOKEN;
    const key = JSON.stringify([debugToken ?? null, vars.TRIBUTARY_LOG_LEVEL ?? null, vars.TRIBUTARY_ACCESS_LOG ?? null]);
    if (built?.plan === plan && built.key === key) return built.app;
    const logging = workerLogging(vars, write, log);
    const { app } = createApp({
      plan,
      engineFor,
      log: logging.fault,
      ...(logging.access ? { accessLog: logging.access } : {}),
      ...(debugToken ? { debugToken } : {}),
    });
    built = { plan, key, app };
    return app;
  };
  // Calls with a `cache` keep entries in the Cache API; coalescing is per request (the engine's).
  let cache: ReturnType<typeof workerCacheStore> | null = null;
  const cacheStore = () => (cache === null ? (cache = workerCacheStore(log ?? defaultLog)) : cache);
  // Untraced requests share the global API's no-op tracer and instruments: they hold no state.
  let untraced: Telemetry | undefined;
  return {
    async fetch(request, env, ctx) {
      usePropagator();
      const prepared = prepare(env);
      if (!prepared.ok) return misconfigured(request);
      const { plan, maxSubrequests, maxConnections } = prepared.compiled;
      const tracingConfig = tracingFor(stringVars(env));
      const tracing = tracingConfig ? startRequestTracing(tracingConfig) : undefined;
      const app = appFor(plan, env);
      const telemetry = tracing?.telemetry ?? (untraced ??= createTelemetry({ traces: false, metrics: false }));
      // What the app leaves running after its response (a stream's calls, cache writes), so the export waits for it.
      const pending: Promise<unknown>[] = [];
      const own: ExecutionContext = {
        waitUntil: (promise) => {
          pending.push(promise);
          ctx.waitUntil(promise);
        },
        passThroughOnException: () => ctx.passThroughOnException(),
        props: ctx.props,
      };
      const store = cacheStore();
      engines.set(
        request,
        new Engine(plan, platformFetch, {
          telemetry,
          maxSubrequests,
          maxConnections,
          health: healthOf(plan),
          // Cache writes and stale-while-revalidate refreshes finish after the response.
          background: (work) => own.waitUntil(work.catch(() => {})),
          ...(store ? { cache: store } : {}),
        }),
      );
      try {
        return await app.fetch(request, env, own);
      } finally {
        engines.delete(request);
        // Every span has ended once the app's own waitUntil work has (the engine never returns
        // while a call runs; the SERVER span ends in the request frame). The export runs after the response.
        if (tracing) {
          const exportSpans = (): Promise<void> => tracing.export(platformFetch, log ?? defaultLog);
          ctx.waitUntil(pending.length === 0 ? exportSpans() : Promise.allSettled(pending).then(exportSpans));
        }
      }
    },
  };
}
/** The config did not compile: the log says why; the client gets no detail of it. */
function misconfigured(request: Request): Response {
  const requestId = requestIdOf(request.headers.get('x-request-id'));
  const body = { error: { code: 'internal', message: 'the gateway is misconfigured; see the Worker log', requestId } };
  return Response.json(body, { status: 500, headers: { 'x-request-id': requestId, 'cache-control': 'no-store' } });
}
