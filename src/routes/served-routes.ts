import type { RequestHook } from './request-frame.ts';

/**
 * Which endpoint routes the process is serving, for a report that must name them after the fact
 * (a blocked event loop is only noticed once it is free again, when the request that blocked it
 * may already be answered). Holds route patterns only, never a raw path.
 *
 * @example
 * const served = new ServedRoutes();
 * app.get('/v1/x', guarded([served.hook('GET /v1/x')], handler, log));
 * served.drain(); // ['GET /v1/x'] while one is in flight, or if one ran since the last drain
 */
export class ServedRoutes {
  readonly #inFlight = new Map<string, number>();
  /** Routes that began since the last drain. */
  readonly #recent = new Set<string>();

  /** The hook counting one route's requests in flight (a stream's until its last line). */
  hook(route: string): RequestHook {
    const served = this;
    return {
      name: 'served routes',
      enter() {
        served.#recent.add(route);
        served.#inFlight.set(route, (served.#inFlight.get(route) ?? 0) + 1);
        return undefined;
      },
      done() {
        const left = (served.#inFlight.get(route) ?? 1) - 1;
        if (left === 0) served.#inFlight.delete(route);
        else served.#inFlight.set(route, left);
      },
    };
  }

  /** The routes in flight now or begun since the last call, sorted; then starts a new period. */
  drain(): string[] {
    const routes = new Set([...this.#recent, ...this.#inFlight.keys()]);
    this.#recent.clear();
    return [...routes].sort();
  }
}
