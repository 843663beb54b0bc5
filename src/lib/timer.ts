/** The longest delay setTimeout honours; above it (and for Infinity) it fires after 1 ms. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * setTimeout for any delay: longer ones are re-armed in steps, Infinity never fires, a negative
 * or NaN delay fires on the next timer turn. Returns the function that cancels it.
 *
 * @example
 * const cancel = startTimer(() => controller.abort(reason), ms);
 * try { ... } finally { cancel(); }
 */
export function startTimer(fire: () => void, ms: number): () => void {
  if (ms === Number.POSITIVE_INFINITY) return () => {};
  // One setTimeout for any delay it honours (a negative or NaN one: the next timer turn).
  if (!(ms > MAX_DELAY_MS)) {
    const timer = setTimeout(fire, ms > 0 ? ms : 0);
    return () => clearTimeout(timer);
  }
  let left = ms;
  let timer: ReturnType<typeof setTimeout>;
  const arm = (): void => {
    const step = Math.min(left, MAX_DELAY_MS);
    left -= step;
    timer = setTimeout(left > 0 ? arm : fire, step);
  };
  arm();
  return () => clearTimeout(timer);
}
