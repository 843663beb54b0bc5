import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../services/plan/index.ts';

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
 * ConfigError with a plain message naming the file as resolved.
 *
 * @example
 * const raw = await loadConfigFile('examples/dashboard.config.json');
 * const plan = compilePlan(raw, process.env);
 */
export async function loadConfigFile(path: string, base: string = configBase()): Promise<unknown> {
  const file = resolve(base, path);
  const ext = extname(file);
  if (ext === '.json') {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new ConfigError([`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConfigError([`${file} is not valid JSON: ${(error as Error).message}`]);
    }
  }
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (error) {
      throw new ConfigError([`cannot load ${file}: ${(error as Error).message.split('\n')[0]}`]);
    }
    if (mod.default === undefined) throw new ConfigError([`${file} has no default export (export default defineConfig({...}))`]);
    return mod.default;
  }
  throw new ConfigError([`${file}: a config must be a .json, .ts or .js file`]);
}
