import type { CompiledEndpoint } from './plan/index.ts';
import { resolveRef, type TemplateContext } from './template.ts';

/** Cloudflare's per-request subrequest cap on the Free plan; Paid allows 10,000 by default (or what `[limits] subrequests` sets, up to 10 million). */
export const DEFAULT_MAX_SUBREQUESTS = 50;

export interface CallCount {
  call: string;
  /** Upstream requests this call may make: its elements times `attempts`. */
  count: number;
  /** Why: one request, one per input element, or the call's `maxItems` (each over another call's result). */
  rule: 'one' | 'each-input' | 'each-result';
  /** Requests per element: `retry.attempts` when it retries, `1 + hedge.maxExtra` when it hedges, else 1. */
  attempts: number;
}

export interface SubrequestCount {
  total: number;
  calls: CallCount[];
}

/**
 * The most upstream requests one request to `endpoint` can make, known before any call starts:
 * one per plain call (dependent calls included: they may run), one per element for `each` over
 * the input, and the call's `maxItems` for `each` over another call's result (its length is not
 * known yet, `maxItems` bounds it). An input array that is missing or not an array counts 0: the
 * call then fails without a request. Each of these is multiplied by the attempts one element may
 * send: `retry.attempts` for a call that retries, `1 + hedge.maxExtra` for one that hedges. The
 * retry budget may allow fewer, but it is shared and cannot be known up front.
 *
 * @example
 * countSubrequests(itemsEndpoint, { params: {}, query: { ids: ['1', '2'] }, body: {}, calls: {} }).total; // 2
 * // the same endpoint with "retry": { "attempts": 3 } on the call: 6
 */
export function countSubrequests(endpoint: CompiledEndpoint, input: TemplateContext): SubrequestCount {
  const calls = endpoint.calls.map((call): CallCount => {
    const attempts = call.retry ? call.retry.attempts : call.hedge ? 1 + call.hedge.maxExtra : 1;
    const counted = (elements: number, rule: CallCount['rule']): CallCount => ({ call: call.name, count: elements * attempts, rule, attempts });
    if (!call.each) return counted(1, 'one');
    if (call.each.source === 'calls') return counted(call.maxItems, 'each-result');
    const items = resolveRef(call.each, input);
    return counted(Array.isArray(items) ? items.length : 0, 'each-input');
  });
  return { total: calls.reduce((sum, c) => sum + c.count, 0), calls };
}

/** The part of the count no input can lower: what every request to `endpoint` needs at least. */
export function fixedSubrequests(endpoint: CompiledEndpoint): SubrequestCount {
  return countSubrequests(endpoint, { params: {}, query: {}, body: {}, calls: {} });
}

/** True when `endpoint` takes `each` elements from the request (so its count depends on the input). */
export function countDependsOnInput(endpoint: CompiledEndpoint): boolean {
  return endpoint.calls.some((c) => c.each !== undefined && c.each.source !== 'calls');
}

/**
 * The request could make more upstream requests than the runtime allows (the Workers
 * subrequest cap). Thrown before any call starts; the route layer answers 422.
 */
export class TooManySubrequestsError extends Error {
  override readonly name = 'TooManySubrequestsError';
  readonly count: SubrequestCount;
  readonly limit: number;
  constructor(endpoint: CompiledEndpoint, count: SubrequestCount, limit: number) {
    super(`${endpoint.id} would make up to ${count.total} upstream requests; this deployment allows ${limit} per request`);
    this.count = count;
    this.limit = limit;
  }
}
