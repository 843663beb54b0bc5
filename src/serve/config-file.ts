import { ConfigError } from '../services/plan/index.ts';

/** How an entry reads a file: `node:fs/promises` on Node, `Deno.readTextFile`, `Bun.file().text()`. */
export type ReadText = (url: URL) => Promise<string>;

/**
 * The `file:` URL of a path typed by the user: absolute, or relative to `base` (the directory the
 * command was typed in). Web-standard, so every entry resolves paths the same way.
 *
 * @example
 * fileUrl('examples/dashboard.config.json', '/srv/app').href; // 'file:///srv/app/examples/dashboard.config.json'
 */
export function fileUrl(path: string, base: string): URL {
  const encode = (p: string): string => p.split('/').map(encodeURIComponent).join('/');
  const dir = new URL(`file://${encode(base.endsWith('/') ? base : `${base}/`)}`);
  return new URL(encode(path), dir);
}

/**
 * Reads a config (TRIBUTARY_CONFIG, `tributary check <file>`): a JSON file, or a .ts/.js module
 * whose default export is `defineConfig(...)`, imported by the runtime itself (Node 24, Deno and
 * Bun all run TypeScript). Read or parse failures become a ConfigError with a plain message
 * naming the file as resolved.
 *
 * @example
 * const raw = await loadConfigAt(fileUrl(env.TRIBUTARY_CONFIG, Deno.cwd()), (url) => Deno.readTextFile(url));
 * const plan = compilePlan(raw, env);
 */
export async function loadConfigAt(url: URL, readText: ReadText): Promise<unknown> {
  const file = decodeURIComponent(url.pathname);
  const ext = /\.[^./]*$/.exec(file)?.[0] ?? '';
  if (ext === '.json') {
    let text: string;
    try {
      text = await readText(url);
    } catch (error) {
      // Node and Bun: a code (ENOENT). Deno's permission error has none: its message says which flag.
      const { code, message } = error as { code?: string; message?: string };
      throw new ConfigError([`cannot read ${file}: ${code ?? message ?? String(error)}`]);
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
      mod = (await import(url.href)) as { default?: unknown };
    } catch (error) {
      throw new ConfigError([`cannot load ${file}: ${(error as Error).message.split('\n')[0]}`]);
    }
    if (mod.default === undefined) throw new ConfigError([`${file} has no default export (export default defineConfig({...}))`]);
    return mod.default;
  }
  throw new ConfigError([`${file}: a config must be a .json, .ts or .js file`]);
}
