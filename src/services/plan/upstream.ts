import { adaptiveConcurrencySchema, type UpstreamConfig } from '../config-schema.ts';
import { checkCache } from './cache.ts';
import { compileUpstreamResilience } from './resilience.ts';
import type { CompiledUpstream, Env } from './types.ts';

/**
 * Compiles one upstream: substitutes `${ENV}` in its base URL and headers, checks the URL and its
 * retry, breaker and hedge settings. Problems go to `issues`; undefined when it cannot be used.
 * `retryBudget` is filled in later, once the calls that use the upstream are known.
 *
 * @example
 * const users = compileUpstream('users', config.upstreams.users, process.env, issues);
 */
export function compileUpstream(name: string, upstream: UpstreamConfig, env: Env, issues: string[]): CompiledUpstream | undefined {
  const where = `upstream "${name}"`;
  const baseUrl = substituteEnv(upstream.baseUrl, env, `${where}, field "baseUrl"`, issues);
  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(upstream.headers)) {
    const resolved = substituteEnv(value, env, `${where}, header "${header}"`, issues);
    if (resolved !== undefined) headers[header.toLowerCase()] = resolved;
  }
  const circuitBreaker = compileUpstreamResilience(upstream, where, issues);
  const adaptive = compileConcurrency(upstream, where, issues);
  if (upstream.cache) checkCache(upstream.cache, where, issues);
  if (baseUrl === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    issues.push(`${where}, field "baseUrl": "${baseUrl}" is not a valid URL`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    issues.push(`${where}, field "baseUrl": must be http or https, got ${url.protocol}`);
    return undefined;
  }
  if (url.username || url.password || url.search || url.hash) {
    issues.push(`${where}, field "baseUrl": must not carry credentials, a query or a fragment (use "headers")`);
    return undefined;
  }
  return {
    name,
    base: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    origin: url.origin,
    // `[::1]` in a URL, `::1` as an address.
    address: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    timeoutMs: upstream.timeoutMs,
    maxConcurrency: adaptive?.max ?? (typeof upstream.maxConcurrency === 'number' ? upstream.maxConcurrency : DEFAULT_MAX_CONCURRENCY),
    adaptive,
    maxQueue: upstream.maxQueue,
    maxQueueWaitMs: upstream.maxQueueWaitMs,
    headers,
    forwardHeaders: new Set(upstream.forwardHeaders.map((h) => h.toLowerCase())),
    maxBodyBytes: upstream.maxBodyBytes,
    maxJsonDepth: upstream.maxJsonDepth,
    circuitBreaker,
    retryBudget: undefined,
  };
}

/** An upstream's bulkhead when its config says nothing. */
export const DEFAULT_MAX_CONCURRENCY = 64;

/**
 * The bounds of an adaptive limit (`"maxConcurrency": "adaptive"` or `adaptiveConcurrency`), or
 * undefined for a fixed one. A number in `maxConcurrency` next to `adaptiveConcurrency` is a
 * contradiction, reported rather than guessed.
 *
 * @example
 * compileConcurrency({ ...upstream, maxConcurrency: 'adaptive' }, 'upstream "users"', issues); // { min: 4, max: 512, initial: 32 }
 */
export function compileConcurrency(upstream: UpstreamConfig, where: string, issues: string[]): CompiledUpstream['adaptive'] {
  const bounds = upstream.adaptiveConcurrency;
  if (typeof upstream.maxConcurrency === 'number' && bounds) {
    issues.push(`${where}: "maxConcurrency": ${upstream.maxConcurrency} and "adaptiveConcurrency" contradict each other; keep one (or say "maxConcurrency": "adaptive")`);
    return undefined;
  }
  if (upstream.maxConcurrency !== 'adaptive' && !bounds) return undefined;
  const { min, max, initial } = bounds ?? adaptiveConcurrencySchema.parse({});
  if (!(min <= initial && initial <= max)) {
    issues.push(`${where}, field "adaptiveConcurrency": needs min <= initial <= max, got min ${min}, initial ${initial}, max ${max}`);
    return undefined;
  }
  return { min, max, initial };
}

/**
 * Replaces `${NAME}` with the environment's value; a missing variable is an issue (naming the
 * variable, never another value), and the result is then undefined.
 *
 * @example
 * substituteEnv('Bearer ${TOKEN}', { TOKEN: 'abc' }, 'upstream "u", header "authorization"', issues); // 'Bearer abc'
 */
export function substituteEnv(value: string, env: Env, where: string, issues: string[]): string | undefined {
  let ok = true;
  const out = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const found = env[name];
    if (found === undefined) {
      issues.push(`${where}: environment variable ${name} is not set`);
      ok = false;
      return '';
    }
    return found;
  });
  return ok ? out : undefined;
}
