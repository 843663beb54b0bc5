import type { ExecutionContext } from 'hono';
import { createApp } from '../app.ts';
import { requestIdOf } from '../routes/errors.ts';
import type { Plan } from '../services/plan/types.ts';
import { createUpstreamHealth, type Fetcher, type HealthByUpstream } from '../services/upstream/index.ts';
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
 * lazily; the app, its engine and its per-upstream bulkheads are built per request, because a
 * Worker must not share timers, semaphores or I/O between requests. Breakers and retry budgets
 * are kept per isolate: best-effort, since each isolate sees only its own share of the traffic. The request's own signal
 * (the `enable_request_signal` flag) reaches every upstream call: a client that leaves cancels them.
 * With OTEL_EXPORTER_OTLP_ENDPOINT set, the request's spans are recorded by a per-request tracer
 * and POSTed once the response is built, inside `ctx.waitUntil` (src/worker/request-tracing.ts).
 *
 * @example
 * export default createWorker(defineConfig({ upstreams: {...}, endpoints: [...] }));
 */
export function createWorker(config: unknown, log?: Log): WorkerHandler {
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
  return {
    async fetch(request, env, ctx) {
      usePropagator();
      const prepared = prepare(env);
      if (!prepared.ok) return misconfigured(request);
      const { plan, maxSubrequests } = prepared.compiled;
      const debugToken = env.TRIBUTARY_DEBUG_TOKEN;
      const tracingConfig = tracingFor(stringVars(env));
      const tracing = tracingConfig ? startRequestTracing(tracingConfig) : undefined;
      const { app } = createApp({
        plan,
        fetcher: platformFetch,
        engine: { maxSubrequests, health: healthOf(plan) },
        ...(tracing ? { telemetry: tracing.telemetry } : {}),
        ...(typeof debugToken === 'string' && debugToken !== '' ? { debugToken } : {}),
        ...(log ? { log } : {}),
      });
      try {
        return await app.fetch(request, env, ctx);
      } finally {
        // Every span has ended by now (the engine never returns while a call runs; the SERVER
        // span ends in middleware). The export runs after the response, not before it.
        if (tracing) ctx.waitUntil(tracing.export(platformFetch, log ?? defaultLog));
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
