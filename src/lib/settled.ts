/**
 * `start()`'s promise, with `cleanup` run once it settles, or at once when `start` throws:
 * whatever happens, and without an async function's frame kept around the work, so a call in
 * flight holds only this reaction. The outcome passes through unchanged.
 *
 * @example
 * const release = bulkhead.tryAcquire();
 * return whenSettled(() => next(ctx), release);
 */
export function whenSettled<T>(start: () => Promise<T>, cleanup: () => void): Promise<T> {
  let work: Promise<T>;
  try {
    work = start();
  } catch (error) {
    cleanup();
    return Promise.reject(error);
  }
  return work.then(
    (value) => {
      cleanup();
      return value;
    },
    (error: unknown) => {
      cleanup();
      throw error;
    },
  );
}
