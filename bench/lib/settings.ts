/**
 * Run settings from the environment:
 *   BENCH_QUICK=1         smoke run (~1 min): 2 rounds, 1 s runs, no warm-up, fewer fan-out cells
 *   BENCH_ROUNDS=n        rounds per scenario (default 3)
 *   BENCH_DURATION_S=s    length of every measured load run
 *   BENCH_WARMUP_S=s      unmeasured load per contender before a scenario's first round (default 3)
 *   BENCH_WARMUP_REQUESTS=n  scenarios 2, 4 and 7: each contender is warmed up (after BENCH_WARMUP_S)
 *                         until it has answered n requests with a 2xx (n per serving process), for at
 *                         most 60 s in all (default 30000; quick 0; 0: off)
 *   BENCH_SCENARIOS=1,3   run only these scenarios (1-12; default all)
 *   BENCH_SEQ_SCALE=x     scenario 8: the articles' 2 s and 3 s calls scaled by x (default 0.1, quick 0.05)
 *   BENCH_RESILIENCE_CALLS=n  client calls per contender and case in scenario 6 (default 2000, quick 300)
 *   BENCH_OUT=dir         where latest.{json,md,svg} go (default bench/results)
 *   BENCH_ENTRY=src       run Tributary's TypeScript source instead of the build (npm run build: dist/js)
 */
import { resolve } from 'node:path';

export interface Settings {
  quick: boolean;
  rounds: number;
  /** Scenario 1 run length, s. */
  lightDurationS: number;
  /** Scenarios 2 and 4 run length, s. */
  throughputDurationS: number;
  /** Scenario 5 run length at 1000 connections, s. */
  memoryDurationS: number;
  /** Unmeasured load before the first round of a scenario, per contender, s (0: none). */
  warmupS: number;
  /**
   * Scenarios 2, 4 and 7 (CPU and requests/s against a baseline): requests each contender serves
   * before the first round, warm-up included, so that every contender is measured at its steady
   * state (Tributary's CPU per request keeps falling for some 20,000 requests, `tuned`'s for a few
   * thousand). Bounded by {@link WARMUP_MAX_S}.
   */
  warmupRequests: number;
  /** Scenario 3: calls per request, and per-request limits (0 = unlimited). */
  widths: number[];
  limits: number[];
  /** The limited upstream: requests served at once, and ms per request. */
  limitedCapacity: number;
  limitedMs: number;
  /** Scenario 6: client calls per contender and case (success rates, upstream requests per call, p99). */
  resilienceCalls: number;
  /** Scenario 8: the factor applied to the articles' 2 s and 3 s calls. */
  seqScale: number;
  scenarios: Set<number>;
  outDir: string;
  /** How Tributary starts on Node: the build in dist/js (production; the default) or src/node.ts. */
  entry: 'dist' | 'src';
}

/** The longest a contender is warmed up towards `warmupRequests` (its own load, not counting the others' turns), s. */
export const WARMUP_MAX_S = 60;
/** Load per turn of the warm-up rounds (`warmInTurns` in context.ts), s. */
export const WARMUP_TURN_S = 2;

/** Every scenario, in the order they run. */
export const SCENARIO_IDS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

export function readSettings(env: NodeJS.ProcessEnv, benchDir: string): Settings {
  const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';
  const rounds = positive(env.BENCH_ROUNDS, quick ? 2 : 3);
  const duration = env.BENCH_DURATION_S === undefined ? undefined : positive(env.BENCH_DURATION_S, 1);
  const scenarios = new Set((env.BENCH_SCENARIOS ?? SCENARIO_IDS.join(',')).split(',').map(Number).filter((n) => SCENARIO_IDS.includes(n)));
  return {
    quick,
    rounds,
    lightDurationS: duration ?? (quick ? 1 : 2),
    throughputDurationS: duration ?? (quick ? 1 : 2),
    memoryDurationS: duration ?? (quick ? 1 : 3),
    // V8 keeps getting faster for several seconds of load (tiering, heap sizing): warm up well.
    warmupS: env.BENCH_WARMUP_S === undefined ? (quick ? 0 : 3) : Math.max(0, Number(env.BENCH_WARMUP_S) || 0),
    warmupRequests: count(env.BENCH_WARMUP_REQUESTS, quick ? 0 : 30_000),
    // The quick run keeps the extremes only, so it stays near a minute.
    widths: quick ? [10, 1000] : [10, 100, 1000],
    limits: quick ? [0, 100, 10] : [0, 100, 50, 10],
    limitedCapacity: 100,
    limitedMs: 20,
    resilienceCalls: Math.round(positive(env.BENCH_RESILIENCE_CALLS, quick ? 300 : 2000)),
    seqScale: Math.min(1, positive(env.BENCH_SEQ_SCALE, quick ? 0.05 : 0.1)),
    scenarios,
    outDir: resolve(env.BENCH_OUT ?? resolve(benchDir, 'results')),
    entry: env.BENCH_ENTRY === 'src' ? 'src' : 'dist',
  };
}

/** A whole number of at least 0 (`0` turns the thing off); anything else is the fallback. */
function count(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isFinite(n) && n >= 0 ? Math.round(n) : fallback;
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : fallback;
}
