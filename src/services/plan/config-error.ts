/**
 * A config the compiler refused. `issues` has one line per problem, each naming where it is
 * (`endpoint GET /x, call "orders", field "timeoutMs": ...`).
 *
 * @example
 * try { compilePlan(raw, env); } catch (e) { if (e instanceof ConfigError) console.error(e.issues.join('\n')); }
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid Tributary config:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.issues = issues;
  }
}

/**
 * A zod issue path, said the way the compiler's own issues say it. `raw` is the config as given,
 * to name an endpoint by its method and path rather than its index.
 *
 * @example
 * formatPath(['endpoints', 0, 'calls', 'orders', 'timeoutMs'], raw);
 * // 'endpoint GET /x, call "orders", field "timeoutMs"'
 */
export function formatPath(path: PropertyKey[], raw: unknown): string {
  const parts = path.map(String);
  if (parts[0] === 'endpoints' && parts[1] !== undefined) {
    const endpoint = (raw as { endpoints?: { method?: string; path?: string }[] })?.endpoints?.[Number(parts[1])];
    const id = endpoint ? `${endpoint.method ?? 'GET'} ${endpoint.path ?? `#${parts[1]}`}` : `#${parts[1]}`;
    if (parts[2] === 'calls' && parts[3] !== undefined) {
      const rest = parts.slice(4).join('.');
      return `endpoint ${id}, call "${parts[3]}"${rest ? `, field "${rest}"` : ''}`;
    }
    const rest = parts.slice(2).join('.');
    return `endpoint ${id}${rest ? `, field "${rest}"` : ''}`;
  }
  if (parts[0] === 'upstreams' && parts[1] !== undefined) {
    const rest = parts.slice(2).join('.');
    return `upstream "${parts[1]}"${rest ? `, field "${rest}"` : ''}`;
  }
  return parts.length ? `field "${parts.join('.')}"` : 'config';
}
