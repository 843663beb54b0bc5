/**
 * The plan compiler: a config (JSON or `defineConfig`) in, an executable plan out, once at
 * start-up. Import from here; the files beside it are its parts:
 *
 *   compile.ts            compilePlan (and compileConfig: what compiles, with every problem) and endpoints
 *   parse.ts              the schema pass: every problem, with the valid parts kept for the next pass
 *   did-you-mean.ts       the known name closest to a mistyped one
 *   upstream.ts           an upstream: base URL, headers, `${ENV}`
 *   call.ts               a call: templates and the references in them
 *   cycles.ts             dependency cycles between calls
 *   resilience.ts         retry, hedge and circuit breaker, merged from upstream and call
 *   resilience-checks.ts  the ranges of their fields
 *   cache.ts              coalesce and cache, merged from upstream and call, GET only
 *   config-error.ts       ConfigError and how a problem's place is said
 *   critical-path.ts      a call's worst-case time, an endpoint's longest chain against its deadline
 *   check.ts              checkConfig: problems, warnings and each endpoint's plan, without serving
 *   share.ts              shareBulkheads: one process's part of each bulkhead, when several serve a host
 *   types.ts              the compiled plan's types
 */
export { compileConfig, compilePlan } from './compile.ts';
export { checkConfig, type CallSummary, type CheckResult, type EndpointSummary } from './check.ts';
export { ConfigError } from './config-error.ts';
export { shareBulkheads } from './share.ts';
export { CALL_BUDGET_FRACTION, callWorstCase, criticalPath, type CallWorstCase, type CriticalPath } from './critical-path.ts';
export type * from './types.ts';
