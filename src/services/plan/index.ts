/**
 * The plan compiler: a config (JSON or `defineConfig`) in, an executable plan out, once at
 * start-up. Import from here; the files beside it are its parts:
 *
 *   compile.ts            compilePlan and endpoints
 *   upstream.ts           an upstream: base URL, headers, `${ENV}`
 *   call.ts               a call: templates and the references in them
 *   cycles.ts             dependency cycles between calls
 *   resilience.ts         retry, hedge and circuit breaker, merged from upstream and call
 *   resilience-checks.ts  the ranges of their fields
 *   config-error.ts       ConfigError and how a problem's place is said
 *   types.ts              the compiled plan's types
 */
export { compilePlan } from './compile.ts';
export { ConfigError } from './config-error.ts';
export type * from './types.ts';
