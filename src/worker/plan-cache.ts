import { compilePlan, ConfigError, type Env, type Plan } from '../services/plan/index.ts';
import { DEFAULT_MAX_SUBREQUESTS, fixedSubrequests } from '../services/subrequests.ts';

/**
 * The variable that sets the subrequest cap: 50 on the Free plan; on Paid 10,000 by default, or your
 * `[limits] subrequests`. The Worker cannot read `[limits]` at run time, so the two are kept equal by
 * hand (`tributary check --worker` warns when they differ).
 */
export const MAX_SUBREQUESTS_VAR = 'TRIBUTARY_MAX_SUBREQUESTS';

/**
 * The variable that caps one request's open fetches. The platform lets 6 connections per
 * invocation wait for response headers and queues the rest inside the runtime, where the wait
 * eats the fetch's timeout unseen; at 6 the wait is Tributary's own, before the per-try timer.
 */
export const MAX_CONNECTIONS_VAR = 'TRIBUTARY_MAX_CONNECTIONS';
export const DEFAULT_MAX_CONNECTIONS = 6;

/** What one isolate compiles once: immutable, so every request may share it. */
export interface Compiled {
  plan: Plan;
  maxSubrequests: number;
  maxConnections: number;
}

export type Prepared = { ok: true; compiled: Compiled } | { ok: false; message: string };

export type Log = (message: string, error?: unknown) => void;

/**
 * Compiles the bundled config on the first request of an isolate, with the Worker's variables
 * and secrets as the environment for `${NAME}` placeholders, and keeps the result while those
 * variables stay the same. A plan is immutable; nothing with state (engine, bulkheads, timers)
 * is cached here. A config that does not compile is logged once and reported to every request.
 *
 * @example
 * const prepare = createPlanCache(config);
 * const prepared = prepare(env); // in fetch()
 */
export function createPlanCache(config: unknown, log: Log = defaultLog): (env: object) => Prepared {
  // Only the variables the config names (and the cap) decide the plan: they make the cache key.
  const names = [...new Set([...JSON.stringify(config).matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string))];
  names.push(MAX_SUBREQUESTS_VAR, MAX_CONNECTIONS_VAR);
  let last: { key: string; prepared: Prepared } | undefined;
  return function prepare(env) {
    const vars = stringVars(env);
    const key = JSON.stringify(names.map((name) => vars[name] ?? null));
    if (last?.key !== key) last = { key, prepared: compile(config, vars, log) };
    return last.prepared;
  };
}

function compile(config: unknown, vars: Env, log: Log): Prepared {
  const maxSubrequests = parseLimit(vars[MAX_SUBREQUESTS_VAR], DEFAULT_MAX_SUBREQUESTS);
  const maxConnections = parseLimit(vars[MAX_CONNECTIONS_VAR], DEFAULT_MAX_CONNECTIONS);
  if (maxSubrequests === undefined || maxConnections === undefined) {
    const name = maxSubrequests === undefined ? MAX_SUBREQUESTS_VAR : MAX_CONNECTIONS_VAR;
    const message = `${name} must be a positive integer, got "${vars[name]}"`;
    log(`tributary: ${message}`);
    return { ok: false, message };
  }
  let plan: Plan;
  try {
    plan = compilePlan(config, vars);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log(`tributary: ${error.message}`);
    return { ok: false, message: error.message };
  }
  for (const endpoint of plan.endpoints) {
    const fixed = fixedSubrequests(endpoint);
    if (fixed.total > maxSubrequests) {
      const calls = fixed.calls.filter((c) => c.rule === 'each-result').map((c) => c.call);
      const repeated = fixed.calls.filter((c) => c.attempts > 1 && c.count > 0).map((c) => `${c.call} (x${c.attempts})`);
      log(
        `tributary: every request to ${endpoint.id} needs up to ${fixed.total} subrequests, more than ` +
          `${MAX_SUBREQUESTS_VAR}=${maxSubrequests}, and will be refused` +
          (calls.length > 0 ? `; lower "maxItems" of ${calls.join(', ')}` : '') +
          (repeated.length > 0 ? `; retries or hedges multiply ${repeated.join(', ')}` : ''),
      );
    }
  }
  return { ok: true, compiled: { plan, maxSubrequests, maxConnections } };
}

function parseLimit(text: string | undefined, fallback: number): number | undefined {
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** Worker env holds bindings of every kind; variables are strings (or JSON numbers and booleans). */
export function stringVars(env: object): Env {
  const vars: Env = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value === 'string') vars[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') vars[name] = String(value);
  }
  return vars;
}

export function defaultLog(message: string, error?: unknown): void {
  if (error === undefined) console.error(message);
  else console.error(message, error);
}
