import { cacheSchema, type CacheConfig, type CallConfig, type UpstreamConfig } from '../config-schema.ts';
import { checkFields, integer, type Rule } from './resilience-checks.ts';
import { defined } from './resilience.ts';
import type { CompiledCache } from './types.ts';

const CACHE_RULES = {
  ttlMs: integer(1),
  staleWhileRevalidateMs: integer(0),
  staleIfErrorMs: integer(0),
} satisfies Record<string, Rule>;

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Merges a call's `coalesce` and `cache` over its upstream's and checks them. Only GET calls are
 * coalesced or cached: from the upstream they silently skip other methods; set on a non-GET call
 * itself they are an error. A call's `cache` names only the fields it changes; `ttlMs` must come
 * from somewhere.
 *
 * @example
 * compileCallCache({ ...call, cache: { ttlMs: 30000 } }, upstream, 'endpoint GET /x, call "a"', issues);
 * // { coalesce: false, cache: { ttlMs: 30000, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, vary: [], respectCacheControl: true } }
 */
export function compileCallCache(
  call: CallConfig,
  upstream: UpstreamConfig | undefined,
  where: string,
  issues: string[],
): { coalesce: boolean; cache: CompiledCache | undefined } {
  const get = call.method === 'GET';
  if (!get && (call.coalesce === true || (call.cache !== undefined && call.cache !== false))) {
    const field = call.coalesce === true ? 'coalesce' : 'cache';
    issues.push(`${where}, field "${field}": only GET calls are coalesced or cached, this call is a ${call.method}`);
  }
  const coalesce = get && (call.coalesce ?? upstream?.coalesce ?? false);
  if (!get || call.cache === false) return { coalesce, cache: undefined };
  const own = call.cache === undefined ? undefined : defined(call.cache);
  if (!own && !upstream?.cache) return { coalesce, cache: undefined };
  const ttlMs = own?.ttlMs ?? upstream?.cache?.ttlMs;
  if (ttlMs === undefined) {
    issues.push(`${where}, field "cache.ttlMs": is required (the upstream "${call.upstream}" sets no cache to take it from)`);
    return { coalesce, cache: undefined };
  }
  const merged: CacheConfig = { ...cacheSchema.parse({ ttlMs }), ...upstream?.cache, ...own };
  // The upstream's own fields were checked with the upstream.
  if (own && !checkCache(own, where, issues)) return { coalesce, cache: undefined };
  return { coalesce, cache: { ...merged, vary: [...new Set(merged.vary.map((h) => h.toLowerCase()))].sort() } };
}

/**
 * Checks the set fields of a cache: whole non-negative ms (a positive `ttlMs`) and header names
 * in `vary`. Returns whether all were fine.
 *
 * @example
 * checkCache({ ttlMs: 0 }, 'upstream "config"', issues); // false
 */
export function checkCache(own: Partial<CacheConfig>, where: string, issues: string[]): boolean {
  const before = issues.length;
  checkFields(own, CACHE_RULES, `${where}, field "cache.`, issues);
  for (const name of own.vary ?? []) {
    if (!HEADER_NAME.test(name)) issues.push(`${where}, field "cache.vary": "${name}" is not a header name`);
  }
  return issues.length === before;
}
