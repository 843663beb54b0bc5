import type { CircuitBreakerConfig, HedgeConfig, RetryConfig } from '../config-schema.ts';

/**
 * Range checks of the `retry`, `circuitBreaker` and `hedge` fields. The schema only checks types,
 * so that every problem is reported here together, each naming its field, the way the rest of
 * the compiler reports.
 */

/** Undefined when the value is fine, else what it must be. */
export type Rule = (value: number) => string | undefined;

export const integer =
  (min: number, max?: number): Rule =>
  (value) => {
    if (Number.isInteger(value) && value >= min && (max === undefined || value <= max)) return undefined;
    return max === undefined ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}`;
  };

const RETRY_RULES = {
  attempts: integer(1, 10),
  backoffMs: integer(0),
  maxBackoffMs: integer(0),
  budgetRatio: (v) => (v >= 0 && v <= 1 ? undefined : 'must be from 0 to 1'),
  budgetMinPerSecond: (v) => (v >= 0 ? undefined : 'must be 0 or more'),
} satisfies Record<string, Rule>;

const BREAKER_RULES = {
  failureRatio: (v) => (v > 0 && v <= 1 ? undefined : 'must be more than 0 and at most 1'),
  minimumRequests: integer(1),
  // A shorter window holds too few calls to judge a failure rate.
  windowMs: integer(1000),
  openMs: integer(1),
  halfOpenRequests: integer(1),
} satisfies Record<string, Rule>;

const HEDGE_RULES = {
  // More than three extra copies of one request multiplies the load for little gain.
  maxExtra: integer(1, 3),
} satisfies Record<string, Rule>;

/**
 * Checks the fields of `own` that are set; `merged` (own over the upstream's over the defaults)
 * for the checks that involve two fields. Returns whether all were fine.
 *
 * @example
 * checkRetry({ attempts: 0 }, merged, 'upstream "users"', issues);
 * // issues: ['upstream "users", field "retry.attempts": must be an integer from 1 to 10, got 0']
 */
export function checkRetry(own: Partial<RetryConfig>, merged: RetryConfig, where: string, issues: string[]): boolean {
  const before = issues.length;
  checkFields(own, RETRY_RULES, `${where}, field "retry.`, issues);
  if (own.on !== undefined && own.on.length === 0) {
    issues.push(`${where}, field "retry.on": must name at least one of timeout, network, 5xx, 429`);
  }
  const touched = own.backoffMs !== undefined || own.maxBackoffMs !== undefined;
  if (issues.length === before && touched && merged.maxBackoffMs < merged.backoffMs) {
    issues.push(`${where}, field "retry.maxBackoffMs": ${merged.maxBackoffMs} ms is shorter than backoffMs (${merged.backoffMs} ms)`);
  }
  return issues.length === before;
}

/**
 * Checks the set fields of a breaker. Returns whether all were fine.
 *
 * @example
 * checkBreaker({ ...breaker, windowMs: 100 }, 'upstream "users"', issues); // false
 */
export function checkBreaker(breaker: CircuitBreakerConfig, where: string, issues: string[]): boolean {
  const before = issues.length;
  checkFields(breaker, BREAKER_RULES, `${where}, field "circuitBreaker.`, issues);
  return issues.length === before;
}

/**
 * Checks the set fields of a hedge (the delay against the timeout is the caller's check, as it
 * depends on where each came from). Returns whether all were fine.
 *
 * @example
 * checkHedge({ afterMs: 0 }, 'upstream "users"', issues); // false
 */
export function checkHedge(own: Partial<HedgeConfig>, where: string, issues: string[]): boolean {
  const before = issues.length;
  checkFields(own, HEDGE_RULES, `${where}, field "hedge.`, issues);
  const { afterMs } = own;
  if (typeof afterMs === 'number' && !(Number.isInteger(afterMs) && afterMs > 0)) {
    issues.push(`${where}, field "hedge.afterMs": must be a positive integer of ms or "p90", "p95" or "p99", got ${afterMs}`);
  }
  return issues.length === before;
}

/** Pushes an issue for each set numeric field its rule refuses, named `${at}${field}"`. */
export function checkFields<K extends string>(values: Partial<Record<NoInfer<K>, unknown>>, rules: Record<K, Rule>, at: string, issues: string[]): void {
  for (const field of Object.keys(rules) as K[]) {
    const value = values[field];
    if (typeof value !== 'number') continue;
    const problem = rules[field](value);
    if (problem) issues.push(`${at}${field}": ${problem}, got ${value}`);
  }
}
