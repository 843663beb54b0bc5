import type { ExecutionContext } from 'hono';
import { createApp } from '../app.ts';
import type { Fetcher } from '../services/upstream-client.ts';
import { createPlanCache, type Log } from './plan-cache.ts';

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

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Builds a Worker's `{ fetch }` around a bundled config. The plan is compiled once per isolate,
 * lazily; the app, its engine and its per-upstream bulkheads are built per request, because a
 * Worker must not share timers, semaphores or I/O between requests. The request's own signal
 * (the `enable_request_signal` flag) reaches every upstream call: a client that leaves cancels them.
 *
 * @example
 * export default createWorker(defineConfig({ upstreams: {...}, endpoints: [...] }));
 */
export function createWorker(config: unknown, log?: Log): WorkerHandler {
  const prepare = createPlanCache(config, log);
  return {
    async fetch(request, env, ctx) {
      const prepared = prepare(env);
      if (!prepared.ok) return misconfigured(request);
      const { plan, maxSubrequests } = prepared.compiled;
      const debugToken = env.TRIBUTARY_DEBUG_TOKEN;
      const { app } = createApp({
        plan,
        fetcher: platformFetch,
        engine: { maxSubrequests },
        ...(typeof debugToken === 'string' && debugToken !== '' ? { debugToken } : {}),
        ...(log ? { log } : {}),
      });
      return app.fetch(request, env, ctx);
    },
  };
}

/** The config did not compile: the log says why; the client gets no detail of it. */
function misconfigured(request: Request): Response {
  const inbound = request.headers.get('x-request-id');
  const requestId = inbound && SAFE_ID.test(inbound) ? inbound : crypto.randomUUID();
  const body = { error: { code: 'internal', message: 'the gateway is misconfigured; see the Worker log', requestId } };
  return Response.json(body, { status: 500, headers: { 'x-request-id': requestId, 'cache-control': 'no-store' } });
}
