import type { Env } from './types.ts';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Every `${NAME}` a config uses, in order of first use: the variables it needs at start-up
 * (the Worker: its vars and secrets).
 *
 * @example
 * envNames({ upstreams: { u: { baseUrl: '${U_URL}', headers: { a: 'Bearer ${U_TOKEN}' } } } }); // ['U_URL', 'U_TOKEN']
 */
export function envNames(raw: unknown): string[] {
  const text = JSON.stringify(raw) ?? '';
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string))];
}

/**
 * Values that stand in for variables whose names are known but whose values are not (secrets,
 * when checking before deploy), chosen so that the place each is used still compiles: a whole
 * URL where a base URL starts with it, a port after `host:`, a plain word elsewhere.
 *
 * @example
 * standInEnv({ upstreams: { u: { baseUrl: '${U_URL}' } } }, ['U_URL']); // { U_URL: 'https://u-url.secret.invalid' }
 */
export function standInEnv(raw: unknown, names: Iterable<string>): Env {
  const baseUrls = baseUrlsOf(raw);
  const env: Env = {};
  for (const name of names) {
    const placeholder = `\${${name}}`;
    if (baseUrls.some((url) => url.startsWith(placeholder))) env[name] = `https://${name.toLowerCase().replace(/_/g, '-')}.secret.invalid`;
    else if (baseUrls.some((url) => new RegExp(`^[a-z]+://[^/]*:\\$\\{${name}\\}`, 'i').test(url))) env[name] = '8443';
    else env[name] = 'secret-value';
  }
  return env;
}

function baseUrlsOf(raw: unknown): string[] {
  const upstreams = (raw as { upstreams?: unknown } | null)?.upstreams;
  if (typeof upstreams !== 'object' || upstreams === null) return [];
  return Object.values(upstreams).flatMap((u) => (typeof (u as { baseUrl?: unknown })?.baseUrl === 'string' ? [(u as { baseUrl: string }).baseUrl] : []));
}
