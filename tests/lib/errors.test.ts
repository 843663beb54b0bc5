import { describe, expect, it } from 'vitest';
import {
  abortReason,
  cancelled,
  ERROR_CODES,
  isCancelledError,
  isDeadlineError,
  isRejectedError,
  isTimeoutError,
  isTributaryError,
  TributaryError,
} from '../../src/lib/errors.ts';

describe('TributaryError', () => {
  it('carries the stable codes of the response contract', () => {
    // Frontends switch on these: adding is fine, renaming or removing is not.
    for (const code of [
      'timeout',
      'deadline_exceeded',
      'http_status',
      'network',
      'invalid_response',
      'rejected',
      'cancelled',
      'circuit_open',
    ]) {
      expect(ERROR_CODES).toContain(code);
    }
  });

  it('is an Error with a code, an optional status and cause', () => {
    const cause = new Error('socket hang up');
    const error = new TributaryError('http_status', 'users answered 503', { status: 503, cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('TributaryError');
    expect(error.code).toBe('http_status');
    expect(error.status).toBe(503);
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('users answered 503');
    expect(new TributaryError('network', 'refused').status).toBeUndefined();
    expect('cause' in new TributaryError('network', 'refused')).toBe(false);
  });
});

describe('guards', () => {
  const timeout = new TributaryError('timeout', 't');
  const deadline = new TributaryError('deadline_exceeded', 'd');
  const rejected = new TributaryError('rejected', 'r');
  const cancel = cancelled('c');

  it('isTributaryError matches any code, or only the one asked for', () => {
    expect(isTributaryError(timeout)).toBe(true);
    expect(isTributaryError(timeout, 'timeout')).toBe(true);
    expect(isTributaryError(timeout, 'deadline_exceeded')).toBe(false);
    for (const foreign of [new Error('x'), 'timeout', { code: 'timeout' }, null, undefined]) {
      expect(isTributaryError(foreign)).toBe(false);
    }
  });

  it('each code guard matches only its own code', () => {
    const all = [timeout, deadline, rejected, cancel];
    expect(all.map(isTimeoutError)).toEqual([true, false, false, false]);
    expect(all.map(isDeadlineError)).toEqual([false, true, false, false]);
    expect(all.map(isRejectedError)).toEqual([false, false, true, false]);
    expect(all.map(isCancelledError)).toEqual([false, false, false, true]);
    expect(isTimeoutError(new DOMException('timed out', 'TimeoutError'))).toBe(false);
  });

  it('cancelled() builds a cancelled error with the given message', () => {
    expect(cancel.code).toBe('cancelled');
    expect(cancel.message).toBe('c');
  });
});

describe('abortReason', () => {
  it('passes our own reasons through as the same object', () => {
    const reason = new TributaryError('timeout', 'orders did not answer within 300 ms');
    expect(abortReason(AbortSignal.abort(reason))).toBe(reason);
  });

  it('maps a bare abort() (a DOMException) to cancelled, keeping it as the cause', () => {
    const controller = new AbortController();
    controller.abort();
    const error = abortReason(controller.signal);
    expect(isCancelledError(error)).toBe(true);
    expect(error.cause).toBe(controller.signal.reason);
    expect(error.message).toBe((controller.signal.reason as Error).message);
  });

  it("maps a foreign Error to cancelled with that error's message", () => {
    const foreign = new Error('socket closed by client');
    const error = abortReason(AbortSignal.abort(foreign));
    expect(isCancelledError(error)).toBe(true);
    expect(error.message).toBe('socket closed by client');
    expect(error.cause).toBe(foreign);
  });

  it('maps a non-Error reason to cancelled with a generic message', () => {
    const error = abortReason(AbortSignal.abort('bye'));
    expect(isCancelledError(error)).toBe(true);
    expect(error.message).toBe('the operation was aborted');
    expect(error.cause).toBe('bye');
  });

  it('never turns a foreign timeout into our timeout code', () => {
    // AbortSignal.timeout() reasons are not per-try timeouts of ours.
    const error = abortReason(AbortSignal.abort(new DOMException('timed out', 'TimeoutError')));
    expect(isTimeoutError(error)).toBe(false);
    expect(isCancelledError(error)).toBe(true);
  });
});
