export { buildCallStack, compose } from './stack.ts';
export { createAdaptiveLimit, createBulkhead, createUpstreamHealth, type HealthByUpstream, type UpstreamHealth } from './runtime.ts';
export { MIN_CALL_BUDGET_MS } from './classify.ts';
export {
  silentObserver,
  type CallContext,
  type CallFn,
  type CallObserver,
  type CallResult,
  type FetchInit,
  type FetchTimeout,
  type Fetcher,
  type Layer,
  type UpstreamBody,
  type UpstreamRequest,
  type UpstreamResponse,
} from './types.ts';
