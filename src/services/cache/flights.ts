import { linkSignal, type LinkedSignal } from '../../lib/abort.ts';
import { aborted, failed } from '../upstream/classify.ts';
import type { CallContext, CallFn, CallResult } from '../upstream/types.ts';

interface Flight {
  link: LinkedSignal;
  promise: Promise<CallResult>;
  /** Callers waiting for it; at 0 the request is aborted, unless it is a background refresh. */
  waiting: number;
  background: boolean;
  /** The label of the call that started it: its errors' messages begin with it. */
  label: string;
}

/**
 * Request coalescing (singleflight): while a request with a key is in flight, another call
 * with the same key waits for it instead of sending its own. Cancellation is reference-counted:
 * a caller whose own signal aborts (its client left, its deadline passed) stops waiting at once
 * without disturbing the others; when the last one leaves, the request is aborted, freeing its
 * socket. One `Flights` per engine: per process on Node, per request on Workers.
 *
 * @example
 * const flights = new Flights();
 * const { result, joined } = await flights.join(key, ctx, next);
 */
export class Flights {
  readonly #flights = new Map<string, Flight>();

  /** Requests in flight now. */
  get size(): number {
    return this.#flights.size;
  }

  /** Callers waiting for a request in flight now, across keys. */
  get waiting(): number {
    let n = 0;
    for (const flight of this.#flights.values()) n += flight.waiting;
    return n;
  }

  /**
   * Runs `run` for `key`, or joins the run already in flight (`joined`). The run gets `ctx` with
   * the flight's own signal, which aborts only when every caller has left.
   */
  async join(key: string, ctx: CallContext, run: CallFn): Promise<{ result: CallResult; joined: boolean; leader: string }> {
    let flight = this.#flights.get(key);
    const joined = flight !== undefined;
    flight ??= this.#start(key, ctx, run, undefined);
    flight.waiting++;
    return { result: await this.#wait(key, flight, ctx), joined, leader: flight.label };
  }

  /**
   * Starts a background refresh for `key` unless a request for it is already in flight. It runs
   * on `signal` (its own deadline) and is not aborted when nobody waits. Resolves when done.
   */
  refresh(key: string, ctx: CallContext, run: CallFn): Promise<unknown> | undefined {
    if (this.#flights.has(key)) return undefined;
    return this.#start(key, ctx, run, ctx.signal).promise;
  }

  #start(key: string, ctx: CallContext, run: CallFn, parent: AbortSignal | undefined): Flight {
    const link = linkSignal(parent);
    const flight: Flight = { link, waiting: 0, background: parent !== undefined, label: ctx.label, promise: undefined as never };
    flight.promise = run({ ...ctx, signal: link.signal }).finally(() => {
      link.dispose();
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    });
    // Nobody may be left to read a failure: never an unhandled rejection.
    flight.promise.catch(() => {});
    this.#flights.set(key, flight);
    return flight;
  }

  /** The flight's result, or this caller's own abort: whichever comes first. */
  #wait(key: string, flight: Flight, ctx: CallContext): Promise<CallResult> {
    const { signal } = ctx;
    return new Promise<CallResult>((resolve, reject) => {
      const leave = (): void => {
        flight.waiting--;
        if (flight.waiting === 0 && !flight.background) {
          // The last one out: nobody wants the answer. New callers start afresh.
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
          flight.link.abort(signal.reason);
        }
        resolve(failed(aborted(ctx)));
      };
      if (signal.aborted) return leave();
      signal.addEventListener('abort', leave, { once: true });
      flight.promise.then(
        (result) => {
          signal.removeEventListener('abort', leave);
          flight.waiting--;
          resolve(result);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', leave);
          flight.waiting--;
          reject(error);
        },
      );
    });
  }
}
