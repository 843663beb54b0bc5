import type { CompiledCache } from '../plan/types.ts';

/** What the upstream said about caching its answer, read only when `respectCacheControl` is on. */
export interface CacheHeaders {
  cacheControl: string | null;
  age: string | null;
}

/**
 * How long an answer is fresh, in ms, or `undefined` when it must not be stored. With
 * `respectCacheControl`, the upstream's `no-store` and `private` (this is a shared cache) forbid
 * storing, `no-cache` makes it stale at once, `s-maxage` (else `max-age`) replaces `ttlMs`, and
 * `Age` is taken off it.
 *
 * @example
 * freshFor(cache, { cacheControl: 'public, max-age=60', age: '10' }); // 50000
 * freshFor(cache, { cacheControl: 'private', age: null });           // undefined
 */
export function freshFor(cache: CompiledCache, headers: CacheHeaders | undefined): number | undefined {
  if (!cache.respectCacheControl || !headers?.cacheControl) return cache.ttlMs;
  const directives = parseCacheControl(headers.cacheControl);
  if (directives.has('no-store') || directives.has('private')) return undefined;
  if (directives.has('no-cache')) return 0;
  const maxAge = seconds(directives.get('s-maxage')) ?? seconds(directives.get('max-age'));
  if (maxAge === undefined) return cache.ttlMs;
  const age = seconds(headers.age ?? undefined) ?? 0;
  return Math.max(0, maxAge - age) * 1000;
}

/** `public, max-age=60` as `{ public: '', max-age: '60' }`, names lower-cased. */
function parseCacheControl(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const [name = '', value = ''] = part.split('=', 2).map((s) => s.trim());
    if (name) out.set(name.toLowerCase(), value.replace(/^"|"$/g, ''));
  }
  return out;
}

function seconds(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}
