import { readFile } from 'node:fs/promises';

/**
 * Scalar's standalone browser bundle, from the installed `@scalar/api-reference`: `/docs` loads
 * it from the gateway, not from a CDN, so the page works offline and behind a strict egress policy.
 *
 * @example
 * createApp({ plan, fetcher, docsScript: scalarScript });
 */
export async function scalarScript(): Promise<Uint8Array<ArrayBuffer>> {
  // The package's main entry is dist/index.js; the bundle is built beside it.
  const url = new URL('./browser/standalone.js', import.meta.resolve('@scalar/api-reference'));
  return new Uint8Array(await readFile(url));
}
