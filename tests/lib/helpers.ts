import { getEventListeners } from 'node:events';
import { linkListeners, sharedListeners } from '../../src/lib/abort.ts';

/** A promise with its settle functions outside, to end a fake task exactly when a test says so. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask run (fake timers do not fake microtasks). */
export async function flush(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** The abort listeners currently registered on a signal. */
export function abortListeners(signal: AbortSignal): number {
  // A shared signal's own listener stands for its hub's; those are the ones that come and go.
  // A link's signal keeps the listeners subscribed through the link in the link.
  const direct = getEventListeners(signal, 'abort').length + (linkListeners(signal) ?? 0);
  const shared = sharedListeners(signal);
  return shared === undefined ? direct : direct - 1 + shared;
}

/** Tracks whether a promise has settled yet, without awaiting it. */
export function track<T>(promise: Promise<T>): { readonly settled: boolean; readonly promise: Promise<T> } {
  const state = { settled: false, promise };
  promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/** A task body that waits for its signal and rejects with the signal's reason, as fetch does. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** The rejection value of a promise that must reject. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
}
