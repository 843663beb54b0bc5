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
  // One subscription per parent, each passing its own reason on; whichever aborts first wins.
  const offParent = parent ? onAbort(parent, () => controller.abort(parent.reason)) : undefined;
  const offOther = other ? onAbort(other, () => controller.abort(other.reason)) : undefined;
  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      offParent?.();
      offOther?.();
    },
  };
}

/** The callbacks subscribed to each signal through {@link onAbort}, and the signal's one listener that calls them. */
const subscribers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `fn` once when `signal` aborts (the caller checks `signal.aborted` first: nothing is called
 * for a signal that has already aborted). Returns the unsubscribe, which costs a `Set.delete`.
 *
 * Why not `addEventListener`: Node's EventTarget walks a signal's whole listener list on every
 * add and remove (to find duplicates), so a long-lived signal that each request links to (the
 * shutdown cutoff, with one listener per request in flight) made both O(requests in flight),
 * and every remove costs more than the add. Here a signal gets one listener, on its first
 * subscriber, kept until it aborts or is collected with it.
 *
 * @example
 * const off = onAbort(request.signal, () => upstream.abort());
 * try { await work(); } finally { off(); }
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let set = subscribers.get(signal);
  if (!set) {
    const callbacks = new Set<() => void>();
    set = callbacks;
    subscribers.set(signal, callbacks);
    signal.addEventListener(
      'abort',
      () => {
        subscribers.delete(signal);
        // Each once, in subscription order; one that unsubscribes another first spares it.
        for (const callback of callbacks) {
          callbacks.delete(callback);
          callback();
        }
      },
      { once: true },
    );
  }
  set.add(fn);
  const subscribed = set;
  return () => void subscribed.delete(fn);
}

/**
 * Resolves after `ms`, or rejects at once with `signal.reason` when the signal aborts.
 * Leaves no timer and no listener behind in either path.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const off = signal
      ? onAbort(signal, () => {
          cancelTimer();
          reject(signal.reason);
        })
      : undefined;
    const cancelTimer = startTimer(() => {
      off?.();
      resolve();
    }, ms);
  });
}

/**
 * How many callbacks wait on `signal` through {@link onAbort}; undefined when it has no listener
 * of ours (never subscribed to, or already aborted). For leak checks.
 */
export function abortSubscribers(signal: AbortSignal): number | undefined {
  return subscribers.get(signal)?.size;
}
