import type { Hono } from 'hono';
import type { AppEnv } from './errors.ts';
import type { RequestHook } from './request-frame.ts';

/** Whether this process should get new traffic. Read by `/readyz` and by {@link drainHook}. */
export interface Readiness {
  readonly draining: boolean;
}

/** The readiness a Node entry owns: `drain()` once a graceful shutdown starts. Never undone. */
export interface Drainable extends Readiness {
  drain(): void;
}

/**
 * A readiness flag, ready until `drain()`.
 *
 * @example
 * const readiness = createReadiness();
 * const { app } = createApp({ plan, fetcher, readiness });
 * process.on('SIGTERM', () => readiness.drain()); // /readyz answers 503 from now on
 */
export function createReadiness(): Drainable {
  let draining = false;
  return {
    get draining() {
      return draining;
    },
    drain() {
      draining = true;
    },
  };
}

/**
 * `GET /healthz`, the liveness probe: the process is up and its plan compiled; it stays 200
 * while draining, so nothing restarts a process that is finishing its requests.
 * `GET /readyz`, the readiness probe: 200 while serving, 503 once a graceful shutdown has
 * started, so a load balancer stops sending new requests while the in-flight ones finish.
 */
export function registerHealth(app: Hono<AppEnv>, endpoints: number, readiness: Readiness): void {
  app.get('/healthz', (c) => {
    c.set('route', '/healthz');
    return c.json({ status: 'ok', endpoints }, 200, { 'cache-control': 'no-store' });
  });
  app.get('/readyz', (c) => {
    c.set('route', '/readyz');
    return readiness.draining
      ? c.json({ status: 'draining' }, 503, { 'cache-control': 'no-store' })
      : c.json({ status: 'ready' }, 200, { 'cache-control': 'no-store' });
  });
}

/**
 * While draining, every response says `Connection: close`, so a client on a kept-alive
 * connection opens its next request elsewhere instead of having it reset when the process exits.
 */
export function drainHook(readiness: Readiness): RequestHook {
  return {
    name: 'drain',
    respond(c) {
      if (readiness.draining) c.header('connection', 'close');
    },
  };
}
