import { monotonic, type Clock } from './clock.ts';
import { SlidingWindow } from './sliding-window.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Opens when at least this share of the calls in the window failed, in (0, 1]. */
  failureRatio: number;
  /** ...and at least this many calls ended in the window, so two failures in a quiet minute don't. */
  minimumRequests: number;
  windowMs: number;
  /** How long it stays open before letting probes through. */
  openMs: number;
  /** Probes admitted at once while half-open; this many successes close it. */
  halfOpenRequests: number;
  clock?: Clock;
  /** For {@link BreakerStats}; the caller's messages name the upstream themselves. */
  name?: string;
  /** Called after each change of state, when it happens (lazily: see {@link CircuitBreaker.state}). */
  onStateChange?: (from: BreakerState, to: BreakerState) => void;
}

/**
 * Permission for one call. End it with exactly one verdict: `success()`, `failure()`, or
 * `release()` when the call ended without saying anything about the upstream (a caller's
 * cancel, a local rejection). Only the first call on a ticket counts; a half-open breaker
 * waits for its probes' verdicts, so never drop a ticket.
 */
export interface BreakerTicket {
  success(): void;
  failure(): void;
  release(): void;
}

/** The numbers behind {@link CircuitBreaker.describe}, for messages and metrics. */
export interface BreakerStats {
  name: string;
  state: BreakerState;
  /** Closed: calls ended in the window. Otherwise: the calls counted when it last opened. */
  calls: number;
  failures: number;
  windowMs: number;
  /** What last opened it: the failure ratio, or a failed probe. */
  openedBy: 'failures' | 'probe' | undefined;
  /** Until probes are let through; 0 unless open. */
  openRemainingMs: number;
  probesRunning: number;
  probesSucceeded: number;
  halfOpenRequests: number;
}

type Verdict = 'success' | 'failure' | 'release';

/** The counts that last opened the breaker, kept for messages while the window is empty. */
interface Opened {
  calls: number;
  failures: number;
  by: 'failures' | 'probe';
}

/**
 * A circuit breaker for one upstream. Closed, it counts outcomes over a sliding window and opens
 * when enough of them failed; open, it refuses every call for `openMs`; then half-open, it lets
 * exactly `halfOpenRequests` probes through at once and refuses the rest at once (nothing waits).
 * Enough successful probes close it; one failed probe opens it again.
 *
 * Plain data, no timers: time is read from the clock when the breaker is used, so it can live
 * across requests. A ticket's verdict counts only in the state that issued it, so a slow call
 * from before the breaker opened cannot close it or count against a later window.
 *
 * @example
 * const breaker = new CircuitBreaker({ failureRatio: 0.5, minimumRequests: 20, windowMs: 10_000, openMs: 5_000, halfOpenRequests: 2 });
 * const ticket = breaker.tryAcquire();
 * if (!ticket) throw new TributaryError('circuit_open', `the circuit to users is open (${breaker.describe()})`);
 * try { const res = await send(); res.status >= 500 ? ticket.failure() : ticket.success(); }
 * finally { ticket.release(); } // no-op once a verdict was given
 */
export class CircuitBreaker {
  readonly #options: Required<Omit<CircuitBreakerOptions, 'onStateChange'>>;
  readonly #onStateChange: CircuitBreakerOptions['onStateChange'];
  readonly #window: SlidingWindow<'calls' | 'failures'>;
  #state: BreakerState = 'closed';
  /** Bumped at every change of state; a ticket from another generation counts nothing. */
  #generation = 0;
  #openedAt = 0;
  #probesRunning = 0;
  #probesSucceeded = 0;
  #opened: Opened | undefined;

  constructor(options: CircuitBreakerOptions) {
    const { failureRatio, minimumRequests, openMs, halfOpenRequests } = options;
    if (!(failureRatio > 0 && failureRatio <= 1)) throw new RangeError(`failureRatio must be in (0, 1], got ${failureRatio}`);
    if (!(openMs >= 0)) throw new RangeError(`openMs must be >= 0, got ${openMs}`);
    checkCount('minimumRequests', minimumRequests);
    checkCount('halfOpenRequests', halfOpenRequests);
    const clock = options.clock ?? monotonic;
    const name = options.name ?? 'circuit breaker';
    this.#options = { failureRatio, minimumRequests, windowMs: options.windowMs, openMs, halfOpenRequests, clock, name };
    this.#onStateChange = options.onStateChange;
    this.#window = new SlidingWindow({ windowMs: options.windowMs, clock });
  }

  /** Reading it after `openMs` has passed moves an open breaker to half-open (and reports that). */
  get state(): BreakerState {
    this.#advance();
    return this.#state;
  }

  /** A ticket for one call, or undefined: refuse the call at once (open, or every probe slot taken). */
  tryAcquire(): BreakerTicket | undefined {
    this.#advance();
    if (this.#state === 'open') return undefined;
    if (this.#state === 'half-open') {
      if (this.#probesRunning + this.#probesSucceeded >= this.#options.halfOpenRequests) return undefined;
      this.#probesRunning++;
    }
    const issuedIn = this.#state;
    const generation = this.#generation;
    let done = false;
    const settle = (verdict: Verdict): void => {
      if (done) return;
      done = true;
      if (generation !== this.#generation) return; // issued before the last change of state
      if (issuedIn === 'half-open') this.#probeEnded(verdict);
      else this.#callEnded(verdict);
    };
    return { success: () => settle('success'), failure: () => settle('failure'), release: () => settle('release') };
  }

  /** Ms until probes are let through; 0 unless open. */
  openRemainingMs(): number {
    this.#advance();
    if (this.#state !== 'open') return 0;
    return Math.max(0, this.#openedAt + this.#options.openMs - this.#options.clock());
  }

  get stats(): BreakerStats {
    const openRemainingMs = this.openRemainingMs();
    const closed = this.#state === 'closed';
    return {
      name: this.#options.name,
      state: this.#state,
      calls: closed ? this.#window.sum('calls') : (this.#opened?.calls ?? 0),
      failures: closed ? this.#window.sum('failures') : (this.#opened?.failures ?? 0),
      windowMs: this.#options.windowMs,
      openedBy: closed ? undefined : this.#opened?.by,
      openRemainingMs,
      probesRunning: this.#probesRunning,
      probesSucceeded: this.#probesSucceeded,
      halfOpenRequests: this.#options.halfOpenRequests,
    };
  }

  /** The state in words, for an error message: "12 of 20 calls failed in the last 10 s; next probe in 3.2 s". */
  describe(): string {
    const s = this.stats;
    const counts = `${s.failures} of ${s.calls} calls failed in the last ${seconds(s.windowMs)}`;
    if (s.state === 'closed') return `closed, ${counts}`;
    const why = s.openedBy === 'probe' ? 'a probe failed' : counts;
    if (s.state === 'open') return `${why}; next probe in ${seconds(s.openRemainingMs)}`;
    return `half-open after ${why}; probes: ${s.probesRunning} running, ${s.probesSucceeded} of ${s.halfOpenRequests} succeeded`;
  }

  #callEnded(verdict: Verdict): void {
    if (verdict === 'release') return;
    this.#window.add('calls');
    if (verdict === 'failure') this.#window.add('failures');
    // Checked after a success too: the call that reaches minimumRequests may be one.
    const calls = this.#window.sum('calls');
    const failures = this.#window.sum('failures');
    if (calls >= this.#options.minimumRequests && failures / calls >= this.#options.failureRatio) {
      this.#open({ calls, failures, by: 'failures' });
    }
  }

  #probeEnded(verdict: Verdict): void {
    this.#probesRunning--;
    if (verdict === 'failure') {
      this.#open({ calls: this.#probesSucceeded + 1, failures: 1, by: 'probe' });
    } else if (verdict === 'success' && ++this.#probesSucceeded >= this.#options.halfOpenRequests) {
      this.#window.reset();
      this.#enter('closed');
    }
  }

  #open(opened: Opened): void {
    this.#opened = opened;
    this.#openedAt = this.#options.clock();
    this.#window.reset();
    this.#enter('open');
  }

  /** Open to half-open, once `openMs` has passed: done when the breaker is next looked at. */
  #advance(): void {
    if (this.#state === 'open' && this.#options.clock() - this.#openedAt >= this.#options.openMs) this.#enter('half-open');
  }

  #enter(to: BreakerState): void {
    const from = this.#state;
    this.#state = to;
    this.#generation++;
    this.#probesRunning = 0;
    this.#probesSucceeded = 0;
    // Last, so a listener that reads the breaker sees the new state.
    this.#onStateChange?.(from, to);
  }
}

function checkCount(option: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`${option} must be a whole number >= 1, got ${value}`);
}

/** Tenths of a second, rounded up: a probe 40 ms away is "0.1 s" away, not "0 s". */
function seconds(ms: number): string {
  return `${Math.ceil(ms / 100) / 10} s`;
}
