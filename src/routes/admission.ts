import type { Context } from 'hono';
import type { CompiledUpstream, Env, Plan } from '../services/plan/index.ts';
import type { AppEnv } from './errors.ts';
import type { RequestHook } from './request-frame.ts';

/** The smallest derived limit: a plan with tiny bulkheads still takes a small burst of cheap requests. */
const MIN_DERIVED_LIMIT = 32;
/** Requests admitted per request the bulkheads can serve at once: one holding its slots, one parsing, merging or writing. */
const HEADROOM = 2;

/**
 * The default limit on requests in flight: twice as many requests as the upstreams' bulkheads
 * can serve at once for the endpoint that can have the most, at least 32. For each endpoint,
 * that is the fewest `maxConcurrency / slots` over the upstreams it calls, where `slots` is what
 * one request can hold there at once (one per call; an `each` call, the endpoint's
 * `maxConcurrency`). A request admitted beyond that only waits, in a bulkhead queue or for the
 * CPU, and makes every other request later. The demo gives 100 (its dashboard calls three
 * upstreams of 50); a process whose CPU saturates first needs a smaller `TRIBUTARY_MAX_IN_FLIGHT`
 * (about capacity × typical latency × 2).
 *
 * @example
 * defaultMaxInFlight(plan); // 2 × the most requests one endpoint can run at once, at least 32
 */
export function defaultMaxInFlight(plan: Plan): number {
  let most = 0;
  for (const endpoint of plan.endpoints) {
    const slots = new Map<CompiledUpstream, number>();
    for (const call of endpoint.calls) slots.set(call.upstream, (slots.get(call.upstream) ?? 0) + (call.each ? endpoint.maxConcurrency : 1));
    let requests = Number.POSITIVE_INFINITY;
    for (const [upstream, held] of slots) {
      requests = Math.min(requests, Math.max(1, Math.floor(upstream.maxConcurrency / Math.min(held, endpoint.maxConcurrency))));
    }
    if (Number.isFinite(requests)) most = Math.max(most, requests);
  }
  return Math.max(MIN_DERIVED_LIMIT, HEADROOM * most);
}

/**
 * Reads `TRIBUTARY_MAX_IN_FLIGHT`: a whole number >= 1, or unset (then the caller uses
 * {@link defaultMaxInFlight}). Throws an Error naming the variable when the value is not usable.
 *
 * @example
 * readMaxInFlight({ TRIBUTARY_MAX_IN_FLIGHT: '200' }); // 200
 * readMaxInFlight({}); // undefined
 */
export function readMaxInFlight(env: Env): number | undefined {
  const text = env.TRIBUTARY_MAX_IN_FLIGHT;
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (Number.isSafeInteger(value) && value >= 1) return value;
  throw new Error(`TRIBUTARY_MAX_IN_FLIGHT must be a whole number of requests >= 1, got "${text}"`);
}

/**
 * The first hook: notes when the request was accepted (Node: when the server handed over its
 * parsed headers), so the endpoint's deadline counts from there and not from when the engine
 * started; time spent waiting for the event loop or reading the body is then spent from the
 * budget. The access log and the SERVER span count their durations from it too.
 *
 * @example
 * app.use('*', requestFrame([acceptedHook, ...], frameOptions));
 */
export const acceptedHook: RequestHook = {
  name: 'accepted',
  enter(c) {
    c.set('acceptedAt', performance.now());
    return undefined;
  },
};

/**
 * Milliseconds since {@link acceptedHook} saw this request, for `engine.run`'s `elapsedMs`; undefined
 * when it did not run. A duration, not a timestamp: the engine's clock may be another one.
 *
 * @example
 * engine.run(endpoint, { ...input, elapsedMs: sinceAccepted(c) }, signal);
 */
export function sinceAccepted(c: Context<AppEnv>): number | undefined {
  const at = c.get('acceptedAt');
  return at === undefined ? undefined : performance.now() - at;
}

export interface AdmissionOptions {
  /** Most endpoint requests in flight at once; the next one is refused at once. */
  maxInFlight: number;
  /** The `Retry-After` of a refusal, seconds. Default 1. */
  retryAfterSeconds?: number;
}

/** A process-wide count of the endpoint requests in flight, and the guard that keeps it bounded. */
export interface Admission {
  /** The hook for one endpoint route (its pattern goes to the access log and metrics). */
  hook(route: string): RequestHook;
}

/**
 * Load shedding: at most `maxInFlight` endpoint requests run at once; the next one gets a 503
 * with `Retry-After` and `{"error":{"code":"overloaded"}}` before its body is read or any
 * upstream is called, so an overload costs a small answer per excess request instead of making
 * every request late. Guards are installed on endpoint routes only: `/healthz`, `/readyz`,
 * 404s and CORS preflights are never refused. The refusal passes back through the request
 * frame, so the access log, the SERVER span and `http.server.request.duration` see it.
 *
 * @example
 * const admission = createAdmission({ maxInFlight: 500 });
 * app.get('/v1/x', guarded([admission.hook('/v1/x')], handler, log));
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const { maxInFlight } = options;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight must be a whole number >= 1, got ${maxInFlight}`);
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const message = `this process already has ${maxInFlight} requests in flight, its limit; retry after ${retryAfter} s`;
  let inFlight = 0;
  return {
    hook(route) {
      return {
        name: 'admission',
        enter(c) {
          if (inFlight >= maxInFlight) {
            c.set('route', route);
            return c.json({ error: { code: 'overloaded', message } }, 503, { 'retry-after': retryAfter, 'cache-control': 'no-store' });
          }
          inFlight++;
          return undefined;
        },
        // A stream's calls run after the handler returned: the slot is theirs until it ends.
        done() {
          inFlight--;
        },
      };
    },
  };
}
