import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfigAt } from '../serve/config-file.ts';

/**
 * The directory a relative config path is relative to: the one the command was typed in.
 * `npm start` and `npm run check` run in the package's root, and npm keeps the caller's
 * directory in INIT_CWD; run directly (`node src/node.ts`), it is the current directory.
 *
 * @example
 * resolve(configBase(process.env), 'tributary.json');
 */
export function configBase(env: Record<string, string | undefined> = process.env): string {
  return env.INIT_CWD || process.cwd();
}

/**
 * Reads a config file (TRIBUTARY_CONFIG, or `tributary check <file>`): a JSON file, or a
 * .ts/.js module whose default export is `defineConfig(...)`. A relative path is resolved
 * against `base`, the directory the command was typed in. Read or parse failures become a
 * ConfigError with a plain message naming the file as resolved (src/serve/config-file.ts, which
 * the Deno and Bun entries share).
 *
 * @example
 * const raw = await loadConfigFile('examples/dashboard.config.json');
 * const plan = compilePlan(raw, process.env);
 */
export async function loadConfigFile(path: string, base: string = configBase()): Promise<unknown> {
  return loadConfigAt(pathToFileURL(resolve(base, path)), (url) => readFile(url, 'utf8'));
}
