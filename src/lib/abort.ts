import { startTimer } from './timer.ts';

/**
 * A child AbortController linked to an optional parent signal. Aborting the parent aborts
 * the child with the parent's reason, unchanged. `dispose()` removes the listener from the
 * parent, so a long-lived parent never accumulates listeners; always call it in `finally`.
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

export function linkSignal(parent?: AbortSignal): LinkedSignal {
  const controller = new AbortController();
  if (!parent) {
    return { signal: controller.signal, abort: (r) => controller.abort(r), dispose: () => {} };
  }
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, abort: () => {}, dispose: () => {} };
  }
  const onAbort = (): void => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => parent.removeEventListener('abort', onAbort),
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
