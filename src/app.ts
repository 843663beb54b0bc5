import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { Engine, type EngineOptions } from './services/engine/index.ts';
import { createTelemetry, type Telemetry } from './services/telemetry.ts';
import { serverSpan } from './routes/tracing.ts';
import type { Plan } from './services/plan/index.ts';
import type { Fetcher } from './services/upstream/index.ts';
import { registerEndpoints } from './routes/endpoints.ts';
import { notFound, onError, requestId, type AppEnv } from './routes/errors.ts';
import { registerHealth } from './routes/health.ts';

export interface AppDeps {
  plan: Plan;
  /** The transport: undici on Node, the platform fetch on Workers, a function in tests. */
  fetcher: Fetcher;
  engine?: EngineOptions;
  /** Largest client request body, bytes. Default 1 MiB. */
  maxRequestBodyBytes?: number;
  /** Tracer and instruments. Default: the global ones from `@opentelemetry/api` (no-ops without an SDK). */
  telemetry?: Telemetry;
  /** Callers sending this token in `x-tributary-debug` get per-call Server-Timing. Unset: nobody. */
  debugToken?: string;
  /** Where internal faults are logged. Default: console.error. */
  log?: (message: string, error: unknown) => void;
}

export interface App {
  app: Hono<AppEnv>;
  engine: Engine;
}

/**
 * Builds the gateway from injected dependencies. Nothing here depends on the runtime.
 *
 * @example
 * const { app } = createApp({ plan: compilePlan(config, env), fetcher: fetch });
 * export default app;
 */
export function createApp(deps: AppDeps): App {
  const telemetry = deps.telemetry ?? createTelemetry();
  const engine = new Engine(deps.plan, deps.fetcher, { telemetry, ...deps.engine });
  const app = new Hono<AppEnv>();
  app.use('*', serverSpan(telemetry.tracer));
  app.use('*', requestId());
  const { origins, credentials, maxAgeSeconds } = deps.plan.cors;
  if (origins.length > 0) {
    app.use(
      '*',
      cors({
        origin: origins,
        credentials,
        maxAge: maxAgeSeconds,
        allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
        exposeHeaders: ['x-aggregate-complete', 'server-timing', 'x-request-id'],
        allowHeaders: ['content-type', 'traceparent', 'tracestate', 'x-request-id', 'x-tributary-debug'],
      }),
    );
  }
  registerHealth(app, deps.plan.endpoints.length);
  registerEndpoints(app, deps.plan.endpoints, engine, {
    maxRequestBodyBytes: deps.maxRequestBodyBytes ?? 1024 * 1024,
    debugToken: deps.debugToken,
  });
  app.notFound(notFound);
  app.onError(onError(deps.log ?? ((message, error) => console.error(message, error))));
  return { app, engine };
}
