import { context, type Context as TraceContext } from '@opentelemetry/api';
import type { Context, ErrorHandler, Handler, MiddlewareHandler } from 'hono';
import { carryAnswerHeaders } from './answer-headers.ts';
import { logRequestFault, type AppEnv, type FaultLog } from './errors.ts';

/**
 * One concern every request passes through (its id, its span, its log line, load shedding …),
 * as plain functions that one frame runs in order, instead of a middleware each: every
 * middleware layer costs an async function, a promise and a closure per request, and does
 * nothing here that needs its own.
 *
 * Whatever the answer, it gets the headers the hooks added for it (`addAnswerHeader`) before the
 * `respond` phase.
 *
 * A hook's phases, for the hooks whose `enter` ran (and did not answer):
 * - `enter`, outermost first, before the handler. A Response answers the request there: the
 *   inner hooks and the handler do not run.
 * - `respond`, innermost first, once the answer is in `c.res`: may still change it (headers,
 *   encoding) before it is written.
 * - `done`, innermost first, once the request is over: at once, or for a stream when its last
 *   line is written or the client left. Observes only (log line, span, counters); a `done` that
 *   throws is logged and does not keep the others from running.
 */
export interface RequestHook {
  readonly name: string;
  enter?(c: Context<AppEnv>): Response | undefined;
  /** A promise (compression of a whole answer) is awaited before the next hook's `respond`. */
  respond?(c: Context<AppEnv>): void | Promise<void>;
  done?(c: Context<AppEnv>): void;
}

export interface FrameOptions {
  /** Answers a fault (a hook or the handler threw): the app's error handler. */
  onError: ErrorHandler<AppEnv>;
  /** Where a `done` hook that throws is reported. */
  log: FaultLog;
  /**
   * The trace context the rest of the request runs in (`context.with`), when its span is
   * recorded; undefined: the handler runs in the context it was called in.
   */
  activeTrace?: (c: Context<AppEnv>) => TraceContext | undefined;
}

/**
 * The middleware running `hooks` around everything registered after it: every route, the 404
 * and the error handler's answers. The hooks see the final `c.res`, the error handler's included.
 *
 * @example
 * app.use('*', requestFrame([acceptedHook, requestIdHook], { onError: onError(log), log }));
 */
export function requestFrame(hooks: readonly RequestHook[], options: FrameOptions): MiddlewareHandler<AppEnv> {
  const { onError, activeTrace, log } = options;
  return async function frame(c, next) {
    // How many hooks entered without answering: theirs are the `respond` and `done` to run.
    let entered = 0;
    try {
      for (; entered < hooks.length; entered++) {
        const answer = hooks[entered]!.enter?.(c);
        if (answer) {
          c.res = answer;
          break;
        }
      }
      if (entered === hooks.length) {
        const trace = activeTrace?.(c);
        await (trace ? context.with(trace, next) : next());
      }
      carryAnswerHeaders(c);
      for (let i = entered - 1; i >= 0; i--) {
        const changing = hooks[i]!.respond?.(c);
        if (changing) await changing;
      }
    } catch (error) {
      // As Hono's own chain would: an Error is answered by the error handler, anything else rethrown.
      if (!(error instanceof Error)) {
        finish(hooks, entered, c, log);
        throw error;
      }
      c.res = await onError(error, c);
      carryAnswerHeaders(c);
    }
    finish(hooks, entered, c, log);
  };
}

/**
 * `handler` with `hooks` run around it (`enter` and `done`; `respond` belongs to the frame): for
 * what only some routes need, such as the endpoints' load shedding. A fault goes on to the app's
 * error handler once the hooks are done.
 *
 * @example
 * app.get('/v1/x', guarded([admission.hook('/v1/x')], handler, log));
 */
export function guarded(hooks: readonly RequestHook[], handler: Handler<AppEnv>, log: FaultLog): Handler<AppEnv> {
  if (hooks.length === 0) return handler;
  return async function guardedHandler(c, next) {
    let entered = 0;
    try {
      for (; entered < hooks.length; entered++) {
        const answer = hooks[entered]!.enter?.(c);
        if (answer) return answer;
      }
      return await handler(c, next);
    } finally {
      finish(hooks, entered, c, log);
    }
  };
}

/** `done` of the first `entered` hooks, innermost first: now, or once the stream has ended. */
function finish(hooks: readonly RequestHook[], entered: number, c: Context<AppEnv>, log: FaultLog): void {
  if (entered === 0) return;
  const run = (): void => {
    for (let i = entered - 1; i >= 0; i--) {
      const hook = hooks[i]!;
      if (!hook.done) continue;
      try {
        hook.done(c);
      } catch (error) {
        logRequestFault(log, c, `${hook.name} failed after the answer`, error);
      }
    }
  };
  // A stream's hooks are done when its last line is written (or the client left), not at its headers.
  const streamEnded = c.get('streamEnded');
  if (streamEnded) void streamEnded.then(run, run);
  else run();
}
