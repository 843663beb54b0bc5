/**
 * The stable error codes of Tributary. They are part of the public response contract:
 * frontends switch on them, so add codes, never rename them.
 */
export const ERROR_CODES = [
  'timeout',
  'deadline_exceeded',
  'http_status',
  'network',
  'invalid_response',
  'circuit_open',
  'rejected',
  'cancelled',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface TributaryErrorOptions {
  /** The upstream HTTP status, for `http_status`. */
  status?: number;
  cause?: unknown;
}

/**
 * An error with a stable `code`. Every failure an outcome carries is one of these.
 *
 * @example
 * throw new TributaryError('timeout', 'orders did not answer within 300 ms');
 */
export class TributaryError extends Error {
  override readonly name = 'TributaryError';
  readonly code: ErrorCode;
  readonly status: number | undefined;

  constructor(code: ErrorCode, message: string, options: TributaryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

/** True for any {@link TributaryError}, optionally of one code. */
export function isTributaryError(value: unknown, code?: ErrorCode): value is TributaryError {
  return value instanceof TributaryError && (code === undefined || value.code === code);
}

export const isTimeoutError = (e: unknown): e is TributaryError => isTributaryError(e, 'timeout');
export const isDeadlineError = (e: unknown): e is TributaryError =>
  isTributaryError(e, 'deadline_exceeded');
export const isCancelledError = (e: unknown): e is TributaryError =>
  isTributaryError(e, 'cancelled');
export const isRejectedError = (e: unknown): e is TributaryError => isTributaryError(e, 'rejected');

/**
 * The reason to pass to `AbortController.abort()` when work is no longer wanted
 * (the client left, a required sibling failed). Distinct from a timeout.
 */
export function cancelled(why: string): TributaryError {
  return new TributaryError('cancelled', why);
}

/**
 * Turns whatever an aborted signal carries into a TributaryError: our own reasons pass
 * through unchanged; a foreign reason (a bare `abort()`, a DOMException) becomes `cancelled`.
 */
export function abortReason(signal: AbortSignal): TributaryError {
  const reason: unknown = signal.reason;
  if (reason instanceof TributaryError) return reason;
  const text = reason instanceof Error ? reason.message : 'the operation was aborted';
  return new TributaryError('cancelled', text, { cause: reason });
}
