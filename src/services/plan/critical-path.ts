import type { CompiledCall, CompiledEndpoint, CompiledRetry } from './types.ts';

/**
 * The share of an endpoint's deadline its calls get; the rest is kept to merge and answer. The
 * engine uses it too, so the check and the run agree.
 */
export const CALL_BUDGET_FRACTION = 0.95;

/** How long one call can take at worst, and why. */
export interface CallWorstCase {
  call: string;
  worstMs: number;
  /** How the time adds up, when it is not just the timeout: `3 × 300 ms + 150 ms of backoff`, `hedged: the timeout once`. */
  detail: string | undefined;
}

/** The longest chain of dependent calls in an endpoint, at their worst, against its deadline. */
export interface CriticalPath {
  /** Call names, first to last: each waits for the one before it. */
  calls: string[];
  worstMs: number;
  deadlineMs: number;
  /** What the calls get: {@link CALL_BUDGET_FRACTION} of the deadline. */
  budgetMs: number;
  /** False when the chain at its worst would outlast the calls' budget. */
  fits: boolean;
}

/**
 * A call's worst-case time: every attempt running to its per-try timeout, plus the longest
 * backoffs between them. A backoff is at most `min(maxBackoffMs, backoffMs × 2^retry)` (full
 * jitter), but a `Retry-After` on a 429 or 503 may ask for up to `maxBackoffMs` before any retry,
 * so a policy that retries on 429 or 5xx counts `maxBackoffMs` each time. A hedged call counts its
 * timeout once: its attempts overlap. The bulkhead wait is not counted: the deadline bounds it.
 *
 * @example
 * callWorstCase({ ...call, timeoutMs: 300, retry: { attempts: 3, backoffMs: 50, maxBackoffMs: 1000, on: new Set(['timeout']) } });
 * // { call: 'orders', worstMs: 1050, detail: '3 × 300 ms + 150 ms of backoff' }
 */
export function callWorstCase(call: Pick<CompiledCall, 'name' | 'timeoutMs' | 'retry' | 'hedge'>): CallWorstCase {
  const { name, timeoutMs, retry } = call;
  if (retry && retry.attempts > 1) {
    const backoff = worstBackoffMs(retry);
    return { call: name, worstMs: retry.attempts * timeoutMs + backoff, detail: `${retry.attempts} × ${timeoutMs} ms + ${backoff} ms of backoff` };
  }
  return { call: name, worstMs: timeoutMs, detail: call.hedge ? 'hedged: the timeout once' : undefined };
}

/** The longest the backoffs between a retry policy's attempts can add up to. */
function worstBackoffMs(retry: CompiledRetry): number {
  const retryAfter = retry.on.has('429') || retry.on.has('5xx');
  let total = 0;
  for (let i = 0; i < retry.attempts - 1; i++) {
    total += retryAfter ? retry.maxBackoffMs : Math.min(retry.maxBackoffMs, retry.backoffMs * 2 ** i);
  }
  return total;
}

/**
 * The endpoint's critical path: the chain of dependent calls whose worst-case times add up to
 * the most (calls without dependencies run at once, so only chains add up). Calls that could not
 * be compiled are absent; a dependency on one is ignored.
 *
 * @example
 * criticalPath(dashboard); // { calls: ['profile', 'manager'], worstMs: 1000, deadlineMs: 1500, budgetMs: 1425, fits: true }
 */
export function criticalPath(endpoint: Pick<CompiledEndpoint, 'calls' | 'deadlineMs'>): CriticalPath {
  const byName = new Map(endpoint.calls.map((c) => [c.name, c]));
  // Longest finish time per call, memoised. The compiler refuses cycles; `visiting` only keeps
  // a hand-made endpoint with one from recursing forever.
  const finish = new Map<string, { ms: number; chain: string[] }>();
  const visiting = new Set<string>();
  const visit = (call: CompiledCall): { ms: number; chain: string[] } => {
    const known = finish.get(call.name);
    if (known) return known;
    visiting.add(call.name);
    let before = { ms: 0, chain: [] as string[] };
    for (const dep of call.dependsOn) {
      const target = byName.get(dep);
      if (!target || visiting.has(dep)) continue;
      const candidate = visit(target);
      if (candidate.ms > before.ms) before = candidate;
    }
    visiting.delete(call.name);
    const result = { ms: before.ms + callWorstCase(call).worstMs, chain: [...before.chain, call.name] };
    finish.set(call.name, result);
    return result;
  };
  let longest = { ms: 0, chain: [] as string[] };
  for (const call of endpoint.calls) {
    const candidate = visit(call);
    // On a tie, the longer chain: it says more about where the time goes.
    if (candidate.ms > longest.ms || (candidate.ms === longest.ms && candidate.chain.length > longest.chain.length)) longest = candidate;
  }
  const budgetMs = endpoint.deadlineMs * CALL_BUDGET_FRACTION;
  return { calls: longest.chain, worstMs: longest.ms, deadlineMs: endpoint.deadlineMs, budgetMs, fits: longest.ms <= budgetMs };
}
