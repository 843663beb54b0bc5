import { startTimer } from './timer.ts';

/**
 * A child AbortController linked to an optional parent signal (and optionally a second one,
 * such as a server's shutdown cutoff). Aborting a parent aborts the child with that parent's
 * reason, unchanged. `dispose()` removes the listeners from the parents, so a long-lived parent
 * never accumulates listeners; always call it in `finally`.
 *
 * @example
 * const link = linkSignal(parent);
 * try { await work(link.signal); } finally { link.dispose(); }
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  dispose(): void;
}

export function linkSignal(parent?: AbortSignal, other?: AbortSignal): LinkedSignal {
  const controller = new AbortController();
  const first = parent?.aborted ? parent : other?.aborted ? other : undefined;
  if (first) {
    controller.abort(first.reason);
    return { signal: controller.signal, abort: () => {}, dispose: () => {} };
  }
  if (!parent && !other) {
    return { signal: controller.signal, abort: (r) => controller.abort(r), dispose: () => {} };
  }
  // One listener per parent, each passing its own reason on; whichever aborts first wins.
  const onParent = (): void => controller.abort(parent?.reason);
  const onOther = (): void => controller.abort(other?.reason);
  parent?.addEventListener('abort', onParent, { once: true });
  other?.addEventListener('abort', onOther, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      parent?.removeEventListener('abort', onParent);
      other?.removeEventListener('abort', onOther);
    },
  };
}

/**
 * Resolves after `ms`, or rejects at once with `signal.reason` when the signal aborts.
 * Leaves no timer and no listener behind in either path.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      cancelTimer();
      reject(signal?.reason);
    };
    const cancelTimer = startTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
