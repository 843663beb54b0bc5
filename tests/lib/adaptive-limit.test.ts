import { describe, expect, it } from 'vitest';
import { AdaptiveLimit, type LimitSample } from '../../src/lib/adaptive-limit.ts';
import { answerAt, DEFAULT_MODEL, type DegradingModel } from '../../bench/lib/degrading-model.ts';
import { prng } from '../../bench/lib/prng.ts';

/**
 * A simulated upstream in fake time: `clients` callers each send a call as soon as their last
 * one ended, through a bulkhead that follows the limit. Each call's fate comes from the model
 * (degrading-model.ts) at the in-flight count it arrived at. No timers: time jumps from one
 * call's end to the next.
 */
interface SimEnd {
  at: number;
  startedAt: number;
  sample: LimitSample;
}

class Simulation {
  now = 0;
  readonly limiter: AdaptiveLimit;
  #ends: SimEnd[] = [];
  #waiting = 0;
  overloads = 0;
  served = 0;
  readonly #localDelay: () => number;

  model: DegradingModel;

  constructor(
    model: DegradingModel,
    options: { min?: number; max?: number; initial: number; baselineMs?: number },
    clients: number,
    /** Extra ms on our side for each call (a busy event loop delaying its completion). */
    localDelay: () => number = () => 0,
  ) {
    this.#localDelay = localDelay;
    this.model = model;
    this.limiter = new AdaptiveLimit({ min: options.min ?? 1, max: options.max ?? 1000, initial: options.initial, clock: () => this.now, ...(options.baselineMs ? { baselineMs: options.baselineMs } : {}) });
    this.#waiting = clients;
    this.#admit();
  }

  get inFlight(): number {
    return this.#ends.length;
  }

  /**
   * Runs until the simulated clock has moved `ms` further; returns the calls served per second
   * and the time-weighted mean limit over that stretch.
   */
  run(ms: number): { perSecond: number; meanLimit: number } {
    const until = this.now + ms;
    const servedBefore = this.served;
    let weighted = 0;
    while (this.#ends.length > 0 && (this.#ends[0]?.at ?? Infinity) <= until) {
      const end = this.#ends.shift() as SimEnd;
      weighted += this.limiter.limit * (end.at - this.now);
      this.now = end.at;
      this.limiter.record(end.startedAt, end.sample, this.#ends.length + 1);
      this.#waiting++;
      this.#admit();
    }
    weighted += this.limiter.limit * (until - this.now);
    this.now = until;
    return { perSecond: ((this.served - servedBefore) * 1000) / ms, meanLimit: weighted / ms };
  }

  /** Starts waiting callers while the limit allows. */
  #admit(): void {
    while (this.#waiting > 0 && this.#ends.length < this.limiter.limit) {
      this.#waiting--;
      const startedAt = this.limiter.start();
      const answer = answerAt(this.model, this.#ends.length + 1);
      // A refusal comes back at once (1 ms); a hang ends at a 1 s per-try timeout.
      const end =
        answer.kind === 'ok'
          ? { at: this.now + answer.ms + this.#localDelay(), sample: 'ok' as const }
          : { at: this.now + (answer.kind === 'hang' ? 1000 : 1), sample: 'overload' as const };
      if (end.sample === 'ok') this.served++;
      else this.overloads++;
      const entry = { ...end, startedAt };
      const index = this.#ends.findIndex((e) => e.at > entry.at);
      if (index === -1) this.#ends.push(entry);
      else this.#ends.splice(index, 0, entry);
    }
  }
}

const degrading: DegradingModel = { ...DEFAULT_MODEL, capacity: 100, baseMs: 20, contention: 2, overloadAbove: 400 };

describe('AdaptiveLimit', () => {
  it('converges near the capacity of an upstream that slows down past it', () => {
    const sim = new Simulation(degrading, { initial: 10 }, 1000);
    sim.run(2_000);
    const settled = sim.run(5_000);
    expect(settled.meanLimit).toBeGreaterThanOrEqual(90);
    expect(settled.meanLimit).toBeLessThanOrEqual(120);
    // Within 10% of the best fixed limit (the capacity: 100 calls per 20 ms).
    expect(settled.perSecond).toBeGreaterThanOrEqual(0.9 * 5000);
    expect(sim.overloads).toBe(0);
  });

  it('keeps at least the capacity of an upstream that only queues, so no throughput is lost', () => {
    // Queueing: above capacity, latency grows in proportion to the load (contention 1 = a FIFO queue).
    const polite: DegradingModel = { ...degrading, contention: 1, overloadAbove: 100_000 };
    const sim = new Simulation(polite, { initial: 10 }, 1000);
    sim.run(2_000);
    const settled = sim.run(5_000);
    expect(settled.perSecond).toBeGreaterThanOrEqual(0.95 * 5000);
    expect(settled.meanLimit).toBeLessThan(200);
  });

  it('is not misled when our side delays some calls (a busy event loop) while the upstream keeps up', () => {
    const random = prng(7);
    // Most calls' completions are held back 0-40 ms on our side, a few are not.
    const sim = new Simulation(degrading, { initial: 10 }, 1000, () => (random() < 0.8 ? 40 * random() : 0));
    sim.run(2_000);
    expect(sim.run(5_000).meanLimit).toBeGreaterThanOrEqual(90);
  });

  it('backs off when the upstream starts refusing, and recovers when it stops', () => {
    const sim = new Simulation(degrading, { initial: 10 }, 1000);
    sim.run(3_000);
    const settled = sim.limiter.limit;
    // The upstream now refuses beyond 30 in flight (a smaller quota, say).
    sim.model = { ...degrading, overloadAbove: 30, overload: 429 };
    sim.run(2_000);
    expect(sim.limiter.limit).toBeLessThanOrEqual(40);
    const refusedWhileLearning = sim.overloads;
    sim.run(2_000);
    // Settled: refusals are rare once the limit sits near the quota.
    expect(sim.overloads - refusedWhileLearning).toBeLessThan(sim.served / 10);
    sim.model = degrading;
    sim.run(2_000);
    expect(sim.run(3_000).meanLimit).toBeGreaterThanOrEqual(Math.min(90, settled));
  });

  it('shrinks when calls time out because the upstream hangs past a threshold', () => {
    const hanging: DegradingModel = { ...degrading, overloadAbove: 50, overload: 'hang' };
    const sim = new Simulation(hanging, { initial: 200 }, 1000);
    sim.run(10_000);
    expect(sim.limiter.limit).toBeLessThanOrEqual(55);
  });

  it('does not grow while callers use less than half of it', () => {
    const sim = new Simulation(degrading, { initial: 32 }, 10);
    sim.run(5_000);
    expect(sim.limiter.limit).toBe(32);
  });

  it('stays between min and max', () => {
    const high = new Simulation(degrading, { initial: 10, max: 40 }, 1000);
    high.run(3_000);
    expect(high.limiter.limit).toBe(40);
    const low = new Simulation({ ...degrading, overloadAbove: 2, overload: 503 }, { initial: 10, min: 4 }, 1000);
    low.run(3_000);
    expect(low.limiter.limit).toBe(4);
  });

  it('learns a lasting slower pace within two baseline periods instead of staying at the minimum', () => {
    const sim = new Simulation(degrading, { initial: 10, baselineMs: 2_000 }, 1000);
    sim.run(3_000);
    // The upstream is now twice as slow at every load: its no-load latency changed, not its capacity.
    sim.model = { ...degrading, baseMs: 40 };
    sim.run(4_000);
    expect(sim.limiter.baselineMs).toBeGreaterThanOrEqual(39.9);
    expect(sim.run(4_000).meanLimit).toBeGreaterThanOrEqual(90);
  });

  it('tells onChange each new whole-number limit', () => {
    let now = 0;
    const seen: number[] = [];
    const limit = new AdaptiveLimit({ min: 1, max: 100, initial: 4, clock: () => now, onChange: (n) => seen.push(n) });
    for (let i = 0; i < 4; i++) {
      const startedAt = limit.start();
      now += 10;
      limit.record(startedAt, 'ok', 4);
    }
    // Latency at the baseline and the limit in full use: it grows by √4.
    expect(seen).toEqual([6]);
    expect(limit.limit).toBe(6);
  });

  it('ignores calls that say nothing about the upstream', () => {
    const limit = new AdaptiveLimit({ min: 1, max: 100, initial: 2, clock: () => 0 });
    for (let i = 0; i < 10; i++) limit.record(0, 'ignore', 2);
    expect(limit.limit).toBe(2);
  });

  it('refuses bounds that contradict each other', () => {
    expect(() => new AdaptiveLimit({ min: 10, max: 5, initial: 7 })).toThrow(/1 <= min <= initial <= max/);
    expect(() => new AdaptiveLimit({ min: 1, max: 5, initial: 7 })).toThrow(RangeError);
  });
});
