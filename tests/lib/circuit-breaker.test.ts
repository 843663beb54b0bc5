import { beforeEach, describe, expect, it } from 'vitest';
import {
  CircuitBreaker,
  type BreakerState,
  type BreakerTicket,
  type CircuitBreakerOptions,
} from '../../src/lib/circuit-breaker.ts';

let now = 0;
const clock = (): number => now;
let transitions: string[] = [];

beforeEach(() => {
  now = 0;
  transitions = [];
});

function breaker(options: Partial<CircuitBreakerOptions> = {}): CircuitBreaker {
  return new CircuitBreaker({
    failureRatio: 0.5,
    minimumRequests: 10,
    windowMs: 10_000,
    openMs: 5_000,
    halfOpenRequests: 2,
    clock,
    onStateChange: (from: BreakerState, to: BreakerState) => transitions.push(`${from} -> ${to}`),
    ...options,
  });
}

function acquire(b: CircuitBreaker): BreakerTicket {
  const ticket = b.tryAcquire();
  if (!ticket) throw new Error('expected the breaker to admit the call');
  return ticket;
}

/** Ends `n` calls with the same verdict. */
function calls(b: CircuitBreaker, n: number, verdict: 'success' | 'failure' | 'release'): void {
  for (let i = 0; i < n; i++) acquire(b)[verdict]();
}

/** Opens the breaker with 10 failures, then lets openMs pass. */
function halfOpen(b: CircuitBreaker): void {
  calls(b, 10, 'failure');
  now += 5_000;
  expect(b.state).toBe('half-open');
}

describe('CircuitBreaker', () => {
  it('opens when the failure ratio reaches the threshold once minimumRequests calls ended', () => {
    const b = breaker();
    calls(b, 5, 'success');
    calls(b, 4, 'failure');
    expect(b.state).toBe('closed');
    calls(b, 1, 'failure'); // 5 of 10: exactly the 0.5 threshold
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBeUndefined();
  });

  it('opens on the call that reaches minimumRequests, even when that call succeeded', () => {
    const b = breaker();
    calls(b, 9, 'failure');
    calls(b, 1, 'success'); // 9 of 10 failed
    expect(b.state).toBe('open');
  });

  it('stays closed below minimumRequests, even when every call failed', () => {
    const b = breaker();
    calls(b, 9, 'failure');
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBeDefined();
  });

  it('stays closed while the failure ratio is under the threshold', () => {
    const b = breaker({ failureRatio: 0.6 });
    calls(b, 11, 'success');
    calls(b, 16, 'failure'); // 16 of 27 is 0.59
    expect(b.state).toBe('closed');
    calls(b, 1, 'failure'); // 17 of 28 is 0.61
    expect(b.state).toBe('open');
  });

  it('ignores released tickets: a cancel or a local rejection says nothing about the upstream', () => {
    const b = breaker();
    calls(b, 50, 'release');
    calls(b, 9, 'failure');
    expect(b.state).toBe('closed'); // 9 calls ended, not 59
    expect(b.stats).toMatchObject({ calls: 9, failures: 9 });
  });

  it('counts only the first verdict on a ticket', () => {
    const b = breaker({ minimumRequests: 2 });
    const ticket = acquire(b);
    ticket.success();
    ticket.failure();
    ticket.failure();
    ticket.release();
    expect(b.stats).toMatchObject({ calls: 1, failures: 0 });
    const other = acquire(b);
    other.release();
    other.failure();
    expect(b.stats).toMatchObject({ calls: 1, failures: 0 });
    expect(b.state).toBe('closed');
  });

  it('forgets failures that slid out of the window', () => {
    const b = breaker();
    calls(b, 9, 'failure');
    now = 10_000; // those nine are a whole window old
    calls(b, 9, 'failure');
    expect(b.state).toBe('closed');
    expect(b.stats).toMatchObject({ calls: 9, failures: 9 });
    calls(b, 1, 'failure');
    expect(b.state).toBe('open');
  });

  it('refuses every call while open, until openMs has passed', () => {
    const b = breaker();
    calls(b, 10, 'failure');
    now += 4_999;
    expect(b.tryAcquire()).toBeUndefined();
    expect(b.openRemainingMs()).toBe(1);
    now += 1;
    expect(b.openRemainingMs()).toBe(0);
    expect(b.tryAcquire()).toBeDefined();
  });

  it('reports half-open on the first read after openMs, and tells onStateChange then', () => {
    const b = breaker();
    calls(b, 10, 'failure');
    now += 60_000; // nobody looked for a minute: no timer moved it
    expect(transitions).toEqual(['closed -> open']);
    expect(b.state).toBe('half-open');
    expect(transitions).toEqual(['closed -> open', 'open -> half-open']);
    expect(b.state).toBe('half-open');
    expect(transitions).toHaveLength(2);
  });

  it('half-open admits exactly halfOpenRequests probes at once and refuses the rest at once', () => {
    const b = breaker({ halfOpenRequests: 3 });
    halfOpen(b);
    const probes = [acquire(b), acquire(b), acquire(b)];
    for (let i = 0; i < 5; i++) expect(b.tryAcquire()).toBeUndefined();
    expect(b.stats).toMatchObject({ state: 'half-open', probesRunning: 3, probesSucceeded: 0 });
    probes[0]?.success();
    expect(b.tryAcquire()).toBeUndefined(); // a probe that succeeded keeps its slot
    expect(b.state).toBe('half-open');
  });

  it('a released probe frees its slot for another probe', () => {
    const b = breaker({ halfOpenRequests: 1 });
    halfOpen(b);
    const probe = acquire(b);
    expect(b.tryAcquire()).toBeUndefined();
    probe.release();
    expect(b.state).toBe('half-open');
    acquire(b).success();
    expect(b.state).toBe('closed');
  });

  it('closes when halfOpenRequests probes succeeded, with an empty window', () => {
    const b = breaker();
    halfOpen(b);
    const [first, second] = [acquire(b), acquire(b)];
    first.success();
    expect(b.state).toBe('half-open');
    second.success();
    expect(b.state).toBe('closed');
    expect(b.stats).toMatchObject({ calls: 0, failures: 0 });
    calls(b, 9, 'failure'); // the failures that opened it are not held against it
    expect(b.state).toBe('closed');
  });

  it('reopens on a probe failure, and openMs starts again from then', () => {
    const b = breaker();
    halfOpen(b);
    const [first, second] = [acquire(b), acquire(b)];
    first.success();
    now += 300;
    second.failure();
    expect(b.state).toBe('open');
    expect(b.openRemainingMs()).toBe(5_000);
    now += 4_999;
    expect(b.tryAcquire()).toBeUndefined();
    now += 1;
    expect(b.state).toBe('half-open');
  });

  it('a probe that ends after another probe reopened the breaker counts nothing', () => {
    const b = breaker();
    halfOpen(b);
    const [first, stale] = [acquire(b), acquire(b)];
    first.failure();
    expect(b.state).toBe('open');
    now += 5_000;
    acquire(b).success(); // one of the two successes the new half-open needs
    stale.success(); // from the previous half-open: must not be the second
    expect(b.state).toBe('half-open');
    expect(b.stats).toMatchObject({ probesRunning: 0, probesSucceeded: 1 });
    acquire(b).success();
    expect(b.state).toBe('closed');
  });

  it('a late success from before the breaker opened does not close it', () => {
    const b = breaker();
    const slow = acquire(b);
    calls(b, 10, 'failure');
    expect(b.state).toBe('open');
    slow.success();
    expect(b.state).toBe('open');
    expect(b.stats).toMatchObject({ probesSucceeded: 0 });
  });

  it('a late verdict from before the breaker opened does not take a probe slot or count in the next window', () => {
    const b = breaker({ halfOpenRequests: 1 });
    const slowSuccess = acquire(b);
    const slowFailure = acquire(b);
    halfOpen(b);
    slowSuccess.success(); // must not close it
    slowFailure.failure(); // must not reopen it
    expect(b.state).toBe('half-open');
    acquire(b).success();
    expect(b.state).toBe('closed');
    expect(b.stats).toMatchObject({ calls: 0, failures: 0 });
  });

  it('a late failure from before the breaker opened does not count against it once it closed again', () => {
    const b = breaker({ minimumRequests: 1, halfOpenRequests: 1 });
    const slow = acquire(b);
    calls(b, 1, 'failure');
    now += 5_000;
    acquire(b).success();
    expect(b.state).toBe('closed');
    slow.failure(); // with minimumRequests 1, one failure that counted would open it
    expect(b.state).toBe('closed');
    expect(b.stats).toMatchObject({ calls: 0, failures: 0 });
  });

  it('tells onStateChange every change, in order, after the state has changed', () => {
    const seen: string[] = [];
    const b: CircuitBreaker = breaker({
      halfOpenRequests: 1,
      onStateChange: (from, to) => seen.push(`${from} -> ${to} (reads ${b.state})`),
    });
    halfOpen(b);
    acquire(b).failure();
    now += 5_000;
    acquire(b).success();
    expect(seen).toEqual([
      'closed -> open (reads open)',
      'open -> half-open (reads half-open)',
      'half-open -> open (reads open)',
      'open -> half-open (reads half-open)',
      'half-open -> closed (reads closed)',
    ]);
  });

  it('describes why it is open and when the next probe goes, for the error message', () => {
    const b = breaker({ minimumRequests: 20 });
    calls(b, 8, 'success');
    calls(b, 11, 'failure');
    expect(b.describe()).toBe('closed, 11 of 19 calls failed in the last 10 s');
    calls(b, 1, 'failure');
    now += 1_800;
    expect(b.describe()).toBe('12 of 20 calls failed in the last 10 s; next probe in 3.2 s');
    expect(b.stats).toMatchObject({ state: 'open', calls: 20, failures: 12, openedBy: 'failures', openRemainingMs: 3_200 });
    now += 3_200;
    acquire(b);
    expect(b.describe()).toBe('half-open after 12 of 20 calls failed in the last 10 s; probes: 1 running, 0 of 2 succeeded');
  });

  it('after a failed probe, the message says so', () => {
    const b = breaker();
    halfOpen(b);
    acquire(b).failure();
    now += 4_960;
    expect(b.describe()).toBe('a probe failed; next probe in 0.1 s');
    expect(b.stats).toMatchObject({ openedBy: 'probe', failures: 1, calls: 1 });
  });

  it('openRemainingMs is 0 unless open', () => {
    const b = breaker();
    expect(b.openRemainingMs()).toBe(0);
    halfOpen(b);
    expect(b.openRemainingMs()).toBe(0);
  });

  it('with openMs 0, probes may go as soon as it opens', () => {
    const b = breaker({ openMs: 0, halfOpenRequests: 1 });
    calls(b, 10, 'failure');
    expect(b.state).toBe('half-open');
    expect(transitions).toEqual(['closed -> open', 'open -> half-open']);
  });

  it('names itself in its stats', () => {
    expect(breaker({ name: 'users' }).stats.name).toBe('users');
  });

  it('refuses options that could never work', () => {
    expect(() => breaker({ failureRatio: 0 })).toThrow(RangeError);
    expect(() => breaker({ failureRatio: 1.5 })).toThrow(RangeError);
    expect(() => breaker({ minimumRequests: 0 })).toThrow(RangeError);
    expect(() => breaker({ halfOpenRequests: 0 })).toThrow(RangeError);
    expect(() => breaker({ halfOpenRequests: 1.5 })).toThrow(RangeError);
    expect(() => breaker({ openMs: -1 })).toThrow(RangeError);
    expect(() => breaker({ windowMs: 0 })).toThrow(RangeError);
  });
});
