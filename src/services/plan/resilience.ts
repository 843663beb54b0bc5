import {
  hedgeSchema,
  retrySchema,
  type CallConfig,
  type HedgeConfig,
  type RetryConfig,
  type UpstreamConfig,
} from '../config-schema.ts';
import { checkBreaker, checkHedge, checkRetry } from './resilience-checks.ts';
import type { CompiledBreaker, CompiledHedge, CompiledRetry } from './types.ts';

/** What a call gets when it sets `retry` or `hedge` and its upstream has none: the schema's own defaults. */
const RETRY_DEFAULTS: RetryConfig = retrySchema.parse({});
const HEDGE_DEFAULTS: HedgeConfig = hedgeSchema.parse({});

/** Methods that are safe to send twice (RFC 9110, section 9.2.2). */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** The resilience fields of a compiled call. */
export interface CallResilience {
  idempotent: boolean;
  retry: CompiledRetry | undefined;
  hedge: CompiledHedge | undefined;
  useBreaker: boolean;
}

/** A merged policy and where it came from, for messages: `upstream "users"` or `the call`. */
type Sourced<T> = { policy: T; source: string };

/**
 * Checks an upstream's `retry`, `hedge` and `circuitBreaker` (every field, each problem naming
 * it) and compiles its breaker; undefined when it has none.
 *
 * @example
 * compileUpstreamResilience({ ...upstream, circuitBreaker: { failureRatio: 0.5, ... } }, 'upstream "users"', issues);
 * // { failureRatio: 0.5, minimumRequests: 20, windowMs: 10000, openMs: 5000, halfOpenRequests: 1 }
 */
export function compileUpstreamResilience(upstream: UpstreamConfig, where: string, issues: string[]): CompiledBreaker | undefined {
  if (upstream.retry) checkRetry(upstream.retry, upstream.retry, where, issues);
  if (upstream.hedge) {
    const { afterMs } = upstream.hedge;
    if (checkHedge(upstream.hedge, where, issues) && typeof afterMs === 'number' && afterMs >= upstream.timeoutMs) {
      issues.push(`${where}, field "hedge.afterMs": ${afterMs} ms is not shorter than the upstream's per-try timeout of ${upstream.timeoutMs} ms; a hedge after the timeout never starts`);
    }
  }
  const breaker = upstream.circuitBreaker;
  if (!breaker) return undefined;
  checkBreaker(breaker, where, issues);
  const { failureRatio, minimumRequests, windowMs, openMs, halfOpenRequests } = breaker;
  return { failureRatio, minimumRequests, windowMs, openMs, halfOpenRequests };
}

/**
 * Merges a call's `retry` and `hedge` over its upstream's and checks the result. A call that is
 * not idempotent silently gets neither from its upstream; setting one on the call itself is then
 * an error (a POST is never retried unless the config says it is safe). `upstream` is undefined
 * when the call names an unknown one (reported elsewhere).
 *
 * @example
 * compileCallResilience({ ...call, method: 'GET' }, upstreamWithRetry, 'endpoint GET /x, call "a"', issues).retry?.attempts; // 3
 */
export function compileCallResilience(
  call: CallConfig,
  upstream: UpstreamConfig | undefined,
  where: string,
  issues: string[],
): CallResilience {
  const idempotent = call.idempotent ?? IDEMPOTENT_METHODS.has(call.method);
  const fromUpstream = `upstream "${call.upstream}"`;
  const retry = resolveRetry(call, upstream, idempotent, fromUpstream, where, issues);
  const hedge = resolveHedge(call, upstream, idempotent, fromUpstream, where, issues);
  const retries = retry !== undefined && retry.policy.attempts > 1;
  if (retries && hedge) {
    issues.push(
      `${where}: uses both retry and hedge; a call uses one (retry from ${retry.source}, hedge from ${hedge.source}): ` +
        'set "retry": false or "hedge": false on the call',
    );
  }
  return {
    idempotent,
    retry: retries && idempotent ? compileRetry(retry.policy) : undefined,
    hedge: hedge && idempotent ? compileHedge(hedge.policy) : undefined,
    useBreaker: upstream?.circuitBreaker !== undefined && call.circuitBreaker !== false,
  };
}

/**
 * The budget the retries and hedges of every call to `upstream` share: from its `retry`, or the
 * defaults when only its calls retry or hedge.
 *
 * @example
 * retryBudgetOf(upstreamWithoutRetry); // { ratio: 0.2, minPerSecond: 5 }
 */
export function retryBudgetOf(upstream: UpstreamConfig): { ratio: number; minPerSecond: number } {
  const retry = upstream.retry ?? RETRY_DEFAULTS;
  return { ratio: retry.budgetRatio, minPerSecond: retry.budgetMinPerSecond };
}

function resolveRetry(
  call: CallConfig,
  upstream: UpstreamConfig | undefined,
  idempotent: boolean,
  fromUpstream: string,
  where: string,
  issues: string[],
): Sourced<RetryConfig> | undefined {
  if (call.retry === false) return undefined;
  // The upstream's own fields were checked with the upstream.
  if (call.retry === undefined) return upstream?.retry && idempotent ? { policy: upstream.retry, source: fromUpstream } : undefined;
  const own = defined(call.retry);
  const policy = { ...RETRY_DEFAULTS, ...upstream?.retry, ...own };
  checkRetry(own, policy, where, issues);
  // The budget is one per upstream: a call cannot have a budget of its own.
  const shared = upstream ? retryBudgetOf(upstream) : undefined;
  for (const [field, value, theirs] of [
    ['budgetRatio', own.budgetRatio, shared?.ratio],
    ['budgetMinPerSecond', own.budgetMinPerSecond, shared?.minPerSecond],
  ] as const) {
    if (value !== undefined && theirs !== undefined && value !== theirs) {
      issues.push(
        `${where}, field "retry.${field}": ${value} differs from ${fromUpstream}'s ${theirs}; the retry budget is shared by ` +
          `every call to the upstream, so set it in the upstream's "retry"`,
      );
    }
  }
  if (!idempotent && policy.attempts > 1) issues.push(notIdempotent(call, 'retry', where));
  return { policy, source: 'the call' };
}

function resolveHedge(
  call: CallConfig,
  upstream: UpstreamConfig | undefined,
  idempotent: boolean,
  fromUpstream: string,
  where: string,
  issues: string[],
): Sourced<HedgeConfig> | undefined {
  if (call.hedge === false) return undefined;
  const own = call.hedge === undefined ? undefined : defined(call.hedge);
  if (own === undefined && !(upstream?.hedge && idempotent)) return undefined;
  const policy = { ...HEDGE_DEFAULTS, ...upstream?.hedge, ...own };
  const valid = own ? checkHedge(own, where, issues) : true;
  if (own && !idempotent) issues.push(notIdempotent(call, 'hedge', where));
  // A fixed delay must fit in the call's per-try timeout. The upstream already checked its own
  // delay against its own timeout; here only what the call changed.
  const afterFrom = own?.afterMs !== undefined ? 'the call' : upstream?.hedge ? fromUpstream : 'the default';
  const timeoutMs = call.timeoutMs ?? upstream?.timeoutMs;
  const checkedByUpstream = afterFrom === fromUpstream && call.timeoutMs === undefined;
  if (valid && !checkedByUpstream && typeof policy.afterMs === 'number' && timeoutMs !== undefined && policy.afterMs >= timeoutMs) {
    issues.push(
      `${where}, field "hedge.afterMs": ${policy.afterMs} ms (from ${afterFrom}) is not shorter than the call's per-try ` +
        `timeout of ${timeoutMs} ms; a hedge after the timeout never starts`,
    );
  }
  return { policy, source: own ? 'the call' : fromUpstream };
}

function notIdempotent(call: CallConfig, field: 'retry' | 'hedge', where: string): string {
  const why = call.idempotent === false ? 'the call is marked "idempotent": false' : `a ${call.method} call is not idempotent`;
  const what = field === 'retry' ? 'a retry' : 'a hedge';
  return `${where}, field "${field}": ${why} and ${what} may send it twice; add "idempotent": true to the call if the upstream can take a repeat`;
}

function compileRetry(policy: RetryConfig): CompiledRetry {
  const { attempts, backoffMs, maxBackoffMs, budgetRatio, budgetMinPerSecond } = policy;
  return { attempts, backoffMs, maxBackoffMs, on: new Set(policy.on), budgetRatio, budgetMinPerSecond };
}

function compileHedge(policy: HedgeConfig): CompiledHedge {
  const { afterMs, maxExtra } = policy;
  const after = typeof afterMs === 'number' ? { ms: afterMs } : { percentile: Number(afterMs.slice(1)) as 90 | 95 | 99 };
  return { after, maxExtra };
}

/** The fields a call sets; `{ attempts: undefined }` (possible from TypeScript) sets none. */
export function defined<T extends object>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Partial<T>;
}
