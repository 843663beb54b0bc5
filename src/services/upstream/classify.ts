import { abortReason, TributaryError } from '../../lib/errors.ts';
import type { RetryOn } from '../plan/types.ts';
import type { CallContext, CallResult } from './types.ts';

/** Below this many ms of budget a call is not started: it could not finish anyway. */
export const MIN_CALL_BUDGET_MS = 5;

/** A failed result with nothing sent. */
export function failed(error: TributaryError, attempts = 0, waitMs = 0): CallResult {
  return { ok: false, error, attempts, waitMs };
}

/**
 * The one place a thrown value becomes a TributaryError. After an abort, whatever the runtime
 * threw (its own AbortError, a socket error) is the signal's reason: a timeout, the deadline
 * (said as "did not finish within the request's deadline"), or a cancel.
 */
export function classify(thrown: unknown, ctx: CallContext, upstream: string): TributaryError {
  if (ctx.signal.aborted) return aborted(ctx);
  if (thrown instanceof TributaryError) return thrown;
  const code = networkCode(thrown);
  return new TributaryError('network', `${ctx.label}: could not reach ${upstream}${code ? ` (${code})` : ''}`, {
    cause: thrown,
  });
}

/**
 * Why an aborted call stopped: the signal's reason (a timeout or a cancel), or the request's
 * deadline, said as such.
 */
export function aborted(ctx: CallContext): TributaryError {
  const reason = abortReason(ctx.signal);
  if (reason.code === 'deadline_exceeded' && reason === ctx.signal.reason) {
    return new TributaryError('deadline_exceeded', `${ctx.label} did not finish within the request's deadline`, { cause: reason });
  }
  return reason;
}

/** `deadline_exceeded` without calling, when less than {@link MIN_CALL_BUDGET_MS} remains. */
export function outOfBudget(ctx: CallContext): TributaryError | undefined {
  const remaining = ctx.deadline.remaining();
  if (remaining >= MIN_CALL_BUDGET_MS) return undefined;
  return new TributaryError(
    'deadline_exceeded',
    `${ctx.label} was not started: ${Math.round(remaining)} ms of the request's deadline remained`,
  );
}

/**
 * What a failure says about the upstream's health, for the breaker: `failure` for timeouts,
 * transport errors, 5xx and 429, and a deadline that ran out while a request was on the wire;
 * `none` for what the caller or this process caused (a cancel, a full bulkhead, a deadline that
 * passed before sending); `success` for everything else (2xx, other 4xx, a body we refused).
 */
export function verdict(result: CallResult): 'success' | 'failure' | 'none' {
  if (result.ok) return 'success';
  const { code, status } = result.error;
  switch (code) {
    case 'timeout':
    case 'network':
      return 'failure';
    case 'http_status':
      return status !== undefined && (status >= 500 || status === 429) ? 'failure' : 'success';
    case 'deadline_exceeded':
      return result.attempts > 0 ? 'failure' : 'none';
    case 'invalid_response':
      return 'success';
    default:
      return 'none';
  }
}

/** Whether a retry policy's `on` list covers this failure. */
export function retryable(result: CallResult, on: ReadonlySet<RetryOn>): boolean {
  if (result.ok) return false;
  const { code, status } = result.error;
  if (code === 'timeout') return on.has('timeout');
  if (code === 'network') return on.has('network');
  if (code === 'http_status' && status !== undefined) {
    if (status === 429) return on.has('429');
    return status >= 500 && status <= 599 && on.has('5xx');
  }
  return false;
}

/** A short, secret-free code for a transport failure: ECONNREFUSED, ECONNRESET, ... */
function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
  }
  return undefined;
}
