import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../services/plan/index.ts';

/**
 * Reads the config named by TRIBUTARY_CONFIG: a JSON file, or a .ts/.js module whose default
 * export is `defineConfig(...)`. Read or parse failures become a ConfigError with a plain message.
 */
export async function loadConfigFile(path: string): Promise<unknown> {
  const file = resolve(path);
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
  throw new ConfigError([`${file}: TRIBUTARY_CONFIG must name a .json, .ts or .js file`]);
}
