/**
 * A model of an upstream that degrades under overload, as a real rate-limited API does (see
 * bench/DEGRADING.md for the table). Pure: the bench's upstream, the tests' loopback upstream and
 * the unit tests' simulated upstream all answer from {@link answerAt}.
 *
 *   in flight n <= capacity        every request takes baseMs
 *   capacity < n <= overloadAbove  contention: baseMs × (1 + contention × (n − capacity) / capacity),
 *                                  decided when the request arrives (n counts it)
 *   n > overloadAbove              `overload`: 429 or 503 at once with Retry-After, or `hang`
 *                                  (never answers: the caller's timeout ends it)
 */
export interface DegradingModel {
  /** Requests served at once at the base latency. */
  capacity: number;
  /** Latency at or below capacity, ms. */
  baseMs: number;
  /** How much slower every request gets per `capacity` extra requests in flight (2: twice the load, three times the latency). */
  contention: number;
  /** Beyond this many in flight, requests are refused (or hang). */
  overloadAbove: number;
  overload: 429 | 503 | 'hang';
  /** Retry-After on a refusal, seconds. */
  retryAfterS: number;
}

/** The bench's degrading upstream (scenario 8). */
export const DEFAULT_MODEL: DegradingModel = { capacity: 100, baseMs: 50, contention: 3, overloadAbove: 800, overload: 503, retryAfterS: 1 };

/**
 * A polite upstream in the same terms: contention 1 is a FIFO queue (n in flight take n/capacity
 * times the base latency on average), and it never refuses.
 */
export const QUEUEING_MODEL: DegradingModel = { ...DEFAULT_MODEL, contention: 1, overloadAbove: Number.POSITIVE_INFINITY };

export type Answer = { kind: 'ok'; ms: number } | { kind: 'refuse'; status: 429 | 503 } | { kind: 'hang' };

/**
 * What the upstream does with a request that arrives while `inFlight` requests (itself included)
 * are being served.
 *
 * @example
 * answerAt(DEFAULT_MODEL, 150); // { kind: 'ok', ms: 40 }
 */
export function answerAt(model: DegradingModel, inFlight: number): Answer {
  if (inFlight > model.overloadAbove) return model.overload === 'hang' ? { kind: 'hang' } : { kind: 'refuse', status: model.overload };
  return { kind: 'ok', ms: latencyAt(model, inFlight) };
}

/** The latency of a request served while `inFlight` are, ms. */
export function latencyAt(model: DegradingModel, inFlight: number): number {
  const extra = Math.max(0, inFlight - model.capacity);
  return model.baseMs * (1 + (model.contention * extra) / model.capacity);
}

/** Requests answered per second with `inFlight` held constantly (0 past `overloadAbove`). */
export function throughputAt(model: DegradingModel, inFlight: number): number {
  if (inFlight > model.overloadAbove) return 0;
  return (inFlight / latencyAt(model, inFlight)) * 1000;
}
