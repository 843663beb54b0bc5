import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './errors.ts';

/**
 * Which endpoint routes the process is serving, for a report that must name them after the fact
 * (a blocked event loop is only noticed once it is free again, when the request that blocked it
 * may already be answered). Holds route patterns only, never a raw path.
 *
 * @example
 * const served = new ServedRoutes();
 * app.on('GET', '/v1/x', served.track('GET /v1/x'));
 * served.drain(); // ['GET /v1/x'] while one is in flight, or if one ran since the last drain
 */
export class ServedRoutes {
  readonly #inFlight = new Map<string, number>();
  /** Routes that began since the last drain. */
  readonly #recent = new Set<string>();

  /** The middleware counting one route's requests in flight. */
  track(route: string): MiddlewareHandler<AppEnv> {
    const served = this;
    return async function servedRoute(_c, next) {
      served.#recent.add(route);
      served.#inFlight.set(route, (served.#inFlight.get(route) ?? 0) + 1);
      try {
        await next();
      } finally {
        const left = (served.#inFlight.get(route) ?? 1) - 1;
        if (left === 0) served.#inFlight.delete(route);
        else served.#inFlight.set(route, left);
      }
    };
  }

  /** The routes in flight now or begun since the last call, sorted; then starts a new period. */
  drain(): string[] {
    const routes = new Set([...this.#recent, ...this.#inFlight.keys()]);
    this.#recent.clear();
    return [...routes].sort();
  }
}
