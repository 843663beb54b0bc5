import { linkSignal } from './abort.ts';
import { TributaryError } from './errors.ts';
import { whenSettled } from './settled.ts';
import { startTimer } from './timer.ts';

export interface TimeoutOptions {
  /** The caller's signal; its abort reaches `fn` with the caller's reason, unchanged. */
  signal?: AbortSignal;
  /** Builds the abort reason when the time is up. Default: a `timeout` TributaryError. */
  reason?: () => unknown;
}

/**
 * Runs `fn` with a signal that aborts after `ms`. The timeout is cooperative: it aborts the
 * work (so a fetch really closes its socket) instead of racing it, and the promise settles
 * when `fn` does. The abort reason is a `timeout` TributaryError, which a caller's own cancel
 * (passed through `signal`) never is. The timer is cleared in every path.
 *
 * @example
 * const res = await withTimeout(300, ({ signal }) => fetch(url, { signal }), { signal: request });
 */
export function withTimeout<T>(
  ms: number,
  fn: (ctx: { signal: AbortSignal }) => Promise<T>,
  options: TimeoutOptions = {},
): Promise<T> {
  const link = linkSignal(options.signal);
  const cancelTimer = startTimer(() => {
    link.abort(options.reason ? options.reason() : new TributaryError('timeout', `timed out after ${ms} ms`));
  }, ms);
  // Reactions, not an async frame: a call in flight holds as little as possible.
  return whenSettled(
    () => fn({ signal: link.signal }),
    () => {
      cancelTimer();
      link.dispose();
    },
  );
}
