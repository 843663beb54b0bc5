/**
 * DESIGN section 3, enforced: reads every import in src/ and checks that it points the one
 * allowed way, `lib <- services <- routes <- app.ts <- serve <- {node.ts, worker.ts, deno.ts, bun.ts}`
 * (the Worker does not use serve/), and that only the entries (and the files beside them that
 * only they import) touch runtime-specific modules and globals.
 * Also: the Workers entry creates no timers, semaphores or engines at module scope.
 *
 * Imports are found by a small scanner that blanks comments, strings and regular expressions
 * first, so text that merely looks like an import is not one. The scanner has its own tests below.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

type Layer = 'lib' | 'services' | 'routes' | 'app' | 'serve' | 'node' | 'worker' | 'deno' | 'bun';
/** The entry sides: each may use its own runtime's APIs and packages, never another's. */
type Entry = 'node' | 'worker' | 'deno' | 'bun';
const ENTRIES: readonly Layer[] = ['node', 'worker', 'deno', 'bun'];

/** The layer of a file under src/, by path relative to the repo root; undefined: in no layer. */
function layerOf(path: string): Layer | undefined {
  if (path.startsWith('src/lib/')) return 'lib';
  if (path.startsWith('src/services/')) return 'services';
  if (path.startsWith('src/routes/')) return 'routes';
  if (path === 'src/app.ts') return 'app';
  // What the server entries share (Node, Deno, Bun): runtime-agnostic, above app.ts.
  if (path.startsWith('src/serve/')) return 'serve';
  for (const entry of ['node', 'worker', 'deno', 'bun'] as const) {
    if (path === `src/${entry}.ts` || path.startsWith(`src/${entry}/`)) return entry;
  }
  return undefined;
}

/** Which src/ layers each layer may import. The two entry sides never import each other. */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  lib: ['lib'],
  services: ['lib', 'services'],
  routes: ['lib', 'services', 'routes'],
  app: ['lib', 'services', 'routes'],
  serve: ['lib', 'services', 'routes', 'app', 'serve'],
  node: ['lib', 'services', 'routes', 'app', 'serve', 'node'],
  worker: ['lib', 'services', 'routes', 'app', 'worker'],
  deno: ['lib', 'services', 'routes', 'app', 'serve', 'deno'],
  bun: ['lib', 'services', 'routes', 'app', 'serve', 'bun'],
};

const NODE_BUILTINS = new Set(builtinModules);
const isNodeBuiltin = (spec: string): boolean => spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0] as string);

/** Packages only an entry side may use: the runtime, its transport and the OpenTelemetry SDK. */
function isEntryOnly(spec: string): boolean {
  return (
    isNodeBuiltin(spec) ||
    spec.startsWith('cloudflare:') ||
    spec === 'undici' ||
    spec.startsWith('undici/') ||
    spec === '@hono/node-server' ||
    spec.startsWith('@hono/node-server/') ||
    isRedisClient(spec) ||
    /^@opentelemetry\/(sdk-|exporter-|context-async-hooks)/.test(spec)
  );
}

/** Redis clients hold sockets: a store is injected from an entry side, never imported by the core. */
const isRedisClient = (spec: string): boolean => spec === 'redis' || spec === 'ioredis' || spec.startsWith('@redis/');

/** Package imports each core layer may make (entry sides may import any package, see below). */
function packageAllowed(layer: Layer, spec: string): boolean {
  if (layer === 'lib') return false; // Web-standard globals only.
  if (layer === 'serve' && /^@opentelemetry\//.test(spec)) return true; // see violations()
  const service = spec === 'zod' || spec.startsWith('zod/') || spec === '@opentelemetry/api';
  if (layer === 'services') return service;
  // Hono middleware: hono's own, @hono/* (but the Node server), and Scalar's API reference page for /docs.
  const middleware = (spec.startsWith('@hono/') && !isEntryOnly(spec)) || spec === '@scalar/hono-api-reference';
  const hono = spec === 'hono' || spec.startsWith('hono/') || middleware;
  return service || hono; // routes, app.ts
}

/** Runtime-specific packages that would break another runtime's entry. */
function wrongRuntime(layer: Entry, spec: string): boolean {
  if (layer === 'node') return spec.startsWith('cloudflare:');
  const nodeOnly =
    spec === 'undici' || spec.startsWith('undici/') || spec.startsWith('@hono/node-server') || spec === '@opentelemetry/sdk-node' || isRedisClient(spec);
  // Deno and Bun serve with their own servers and fetch: Node's transport and SDK are not theirs.
  if (layer === 'deno' || layer === 'bun') return nodeOnly || spec.startsWith('cloudflare:');
  return nodeOnly;
}

/** The runtime globals only their own entry may touch: the core and the other entries stay portable. */
const RUNTIME_GLOBALS: { name: string; layer: Layer; pattern: RegExp }[] = [
  { name: 'Deno', layer: 'deno', pattern: /\bDeno\b/ },
  { name: 'Bun', layer: 'bun', pattern: /\bBun\b/ },
];

/** Every runtime global a file names in its code (not in comments or strings) that its layer may not use. */
export function foreignGlobals(file: string, source: string): string[] {
  const { code } = scan(source);
  const layer = layerOf(file);
  return RUNTIME_GLOBALS.filter((g) => g.layer !== layer && g.pattern.test(code)).map((g) => `${file} uses the ${g.name} global, which only src/${g.layer}.ts and src/${g.layer}/ may`);
}

// ---------------------------------------------------------------------------------------------
// The scanner

export interface Scanned {
  /** The source with comments removed, string contents replaced by `"#<n>"`, regexes by `/r/`. */
  code: string;
  strings: string[];
}

const REGEX_BEFORE = new Set([...'(,=:[!&|?{};+-*%<>~^']);
const REGEX_AFTER_WORD = /\b(return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)\s*$/;

/** Blanks what is not code, keeping string values aside. Template `${...}` parts stay code. */
export function scan(source: string): Scanned {
  const strings: string[] = [];
  let i = 0;
  const n = source.length;

  const readQuoted = (quote: string): string => {
    let value = '';
    i++;
    while (i < n && source[i] !== quote) {
      if (source[i] === '\\') {
        value += source[i + 1] ?? '';
        i += 2;
      } else value += source[i++];
    }
    i++;
    return value;
  };

  const skipRegex = (): void => {
    let inClass = false;
    i++;
    while (i < n) {
      const c = source[i];
      if (c === '\\') i += 2;
      else if (c === '[') (inClass = true), i++;
      else if (c === ']') (inClass = false), i++;
      else if (c === '/' && !inClass) break;
      else if (c === '\n') break;
      else i++;
    }
    i++;
    while (i < n && /[a-z]/.test(source[i] as string)) i++;
  };

  /** Code until the end, or until an unmatched `}` when inside a template's `${`. */
  const code = (inTemplate: boolean): string => {
    let out = '';
    let depth = 0;
    while (i < n) {
      const c = source[i] as string;
      const next = source[i + 1];
      if (c === '/' && next === '/') {
        while (i < n && source[i] !== '\n') i++;
      } else if (c === '/' && next === '*') {
        const end = source.indexOf('*/', i + 2);
        i = end === -1 ? n : end + 2;
        out += ' ';
      } else if (c === "'" || c === '"') {
        strings.push(readQuoted(c));
        out += `"#${strings.length - 1}"`;
      } else if (c === '`') {
        out += template();
      } else if (c === '/') {
        const before = out.trimEnd();
        const last = before[before.length - 1];
        if (last === undefined || REGEX_BEFORE.has(last) || REGEX_AFTER_WORD.test(before)) {
          skipRegex();
          out += '/r/';
        } else {
          out += c;
          i++;
        }
      } else if (c === '{') {
        depth++;
        out += c;
        i++;
      } else if (c === '}') {
        if (inTemplate && depth === 0) {
          i++;
          return out;
        }
        depth--;
        out += c;
        i++;
      } else {
        out += c;
        i++;
      }
    }
    return out;
  };

  /** A template literal: its text is dropped, its `${...}` expressions kept as code. */
  const template = (): string => {
    let out = '`';
    i++;
    while (i < n && source[i] !== '`') {
      if (source[i] === '\\') i += 2;
      else if (source[i] === '$' && source[i + 1] === '{') {
        i += 2;
        out += '${' + code(true) + '}';
      } else i++;
    }
    i++;
    return out + '`';
  };

  return { code: code(false), strings };
}

/** Every module specifier a file imports or re-exports (static and literal dynamic imports). */
export function importsOf(source: string): string[] {
  const { code, strings } = scan(source);
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^;"()]*?\bfrom\s*"#(\d+)"/g,
    /\bimport\s*"#(\d+)"/g,
    /\bimport\s*\(\s*"#(\d+)"/g,
    /\brequire\s*\(\s*"#(\d+)"/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) found.push(strings[Number(match[1])] as string);
  }
  return found;
}

/** What a Worker must not create at module scope: it would be shared by every request of the isolate. */
const MODULE_SCOPE_FORBIDDEN = /\b(setTimeout|setInterval|startTimer|createApp)\s*\(|\bnew\s+(Semaphore|Engine|UpstreamClient|Scope)\b/g;

/**
 * Forbidden calls that run when the module loads: not inside a function, method or class body.
 * Conservative: a call in an expression-bodied arrow function at module scope is reported too.
 */
export function moduleScopeCalls(source: string): string[] {
  const { code } = scan(source);
  // For each position: true when some enclosing `{` opens a function, method, class or block
  // (rather than an object literal, whose values are evaluated when the module loads).
  const deferred: boolean[] = new Array(code.length).fill(false);
  const stack: boolean[] = [];
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '{') {
      const before = code.slice(0, i).trimEnd();
      const last = before[before.length - 1];
      // `= {`, `({`, `, {`, `: {`, `[{`, `? {`, `return {`, `export default {` open object literals;
      // `) {`, `=> {`, `class X {`, `else {` open bodies that do not run at load time.
      const objectLiteral = last !== undefined && ('=(,:[?'.includes(last) || /\b(return|default)$/.test(before));
      stack.push(objectLiteral ? (stack[stack.length - 1] ?? false) : true);
    } else if (c === '}') stack.pop();
    deferred[i] = stack[stack.length - 1] ?? false;
  }
  const found: string[] = [];
  for (const match of code.matchAll(MODULE_SCOPE_FORBIDDEN)) {
    if (!deferred[match.index]) found.push(match[0].replace(/\s+/g, ' ').replace(/\s*\($/, '('));
  }
  return found;
}

// ---------------------------------------------------------------------------------------------

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const rel = (path: string): string => relative(ROOT, path).split('\\').join('/');
const sources = filesUnder(SRC).map((path) => ({ path: rel(path), text: readFileSync(path, 'utf8') }));

/** Every rule broken by one import, as readable lines. */
function violations(file: string, spec: string): string[] {
  const layer = layerOf(file);
  if (!layer) return [`${file} is in no layer of DESIGN section 3 (lib, services, routes, app.ts, serve, node, worker, deno, bun)`];
  if (spec.startsWith('.')) {
    const target = rel(resolve(ROOT, dirname(file), spec));
    if (!target.startsWith('src/')) {
      // An entry may bundle a config file from outside src/ (src/worker/config.ts says how).
      return ENTRIES.includes(layer) ? [] : [`${file} imports ${spec}, outside src/`];
    }
    if (ENTRIES.some((entry) => target === `src/${entry}.ts`)) return [`${file} imports the entry ${target}; entries are imported by nobody`];
    const to = layerOf(target);
    if (!to) return [`${file} imports ${target}, which is in no layer`];
    if (!MAY_IMPORT[layer].includes(to)) return [`${file} (${layer}) imports ${target} (${to})`];
    return [];
  }
  if ((ENTRIES as readonly string[]).includes(layer)) {
    return wrongRuntime(layer as Entry, spec) ? [`${file} (${layer} entry) imports ${spec}, which belongs to another runtime`] : [];
  }
  // The server entries' shared code may load the OpenTelemetry SDK and exporters, which run on Node, Deno and Bun.
  const sharedTelemetry = layer === 'serve' && /^@opentelemetry\//.test(spec);
  if (isEntryOnly(spec) && !sharedTelemetry) return [`${file} (${layer}) imports ${spec}: only the entries (src/node.ts, src/worker.ts, src/deno.ts, src/bun.ts) and the files beside them may`];
  return packageAllowed(layer, spec) ? [] : [`${file} (${layer}) imports ${spec}, which ${layer} may not use`];
}

describe('the import scanner', () => {
  it('finds static, type-only, side-effect, re-export and literal dynamic imports', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from 'b';",
      'import c, {\n  d,\n  type E,\n} from "c";',
      "import 'side-effect';",
      "export * from './all.ts';",
      "export { x } from './x.ts';",
      "const lazy = await import('lazy');",
    ].join('\n');
    expect(importsOf(source).sort()).toEqual(['./a.ts', './all.ts', './x.ts', 'b', 'c', 'lazy', 'side-effect']);
  });

  it('ignores imports in comments, strings, templates and regular expressions', () => {
    const source = [
      "// import x from 'in-line-comment';",
      "/* import y from 'in-block-comment'; */",
      "const s = \"import z from 'in-string'\";",
      'const t = `import w from ${"\'in-template\'"}`;',
      "const r = /import q from 'in-regex'/;",
      "import real from 'real';",
    ].join('\n');
    expect(importsOf(source)).toEqual(['real']);
  });

  it('reports timers and semaphores made at module scope, not those inside functions or methods', () => {
    const source = [
      'const timer = setTimeout(tick, 10);',
      'export const config = { pool: new Semaphore({ limit: 1 }) };',
      'function ok() { setTimeout(tick, 10); }',
      'const alsoOk = async () => { const s = new Semaphore({ limit: 1 }); };',
      'export default { fetch(request) { const { app } = createApp(deps); return app.fetch(request); } };',
      'class Later { s = new Semaphore({ limit: 1 }); }',
      "const text = 'setInterval(x)';",
    ].join('\n');
    expect(moduleScopeCalls(source)).toEqual(['setTimeout(', 'new Semaphore']);
  });

  it('flags a layer breach with a message naming both files', () => {
    expect(violations('src/lib/semaphore.ts', '../services/engine.ts')).toEqual([
      'src/lib/semaphore.ts (lib) imports src/services/engine.ts (services)',
    ]);
    expect(violations('src/services/engine.ts', 'node:async_hooks')[0]).toContain('only the entries (src/node.ts, src/worker.ts, src/deno.ts, src/bun.ts)');
    expect(violations('src/routes/x.ts', 'hono/cors')).toEqual([]);
    expect(violations('src/services/x.ts', 'hono')[0]).toContain('may not use');
    expect(violations('src/worker/x.ts', '../node/demo.ts')[0]).toContain('(worker) imports src/node/demo.ts (node)');
  });

  it('keeps the Deno and Bun entries apart from each other and from Node-only packages, and their shared code portable', () => {
    expect(violations('src/deno/x.ts', '../bun/listen.ts')[0]).toContain('(deno) imports src/bun/listen.ts (bun)');
    expect(violations('src/bun/x.ts', 'undici')[0]).toContain('belongs to another runtime');
    expect(violations('src/deno/x.ts', '@hono/node-server')[0]).toContain('belongs to another runtime');
    expect(violations('src/serve/x.ts', 'node:fs')[0]).toContain('only the entries');
    expect(violations('src/serve/x.ts', '../deno/listen.ts')[0]).toContain('(serve) imports src/deno/listen.ts (deno)');
    expect(violations('src/serve/x.ts', '@opentelemetry/sdk-trace')).toEqual([]);
    expect(violations('src/node.ts', './serve/run-gateway.ts')).toEqual([]);
  });

  it('reports a runtime global used outside its entry, not one named in a comment or a string', () => {
    expect(foreignGlobals('src/services/x.ts', 'const env = Deno.env.toObject();')).toEqual([
      'src/services/x.ts uses the Deno global, which only src/deno.ts and src/deno/ may',
    ]);
    expect(foreignGlobals('src/serve/x.ts', "// Bun.serve\nconst name = 'Bun';")).toEqual([]);
    expect(foreignGlobals('src/bun/x.ts', 'const server = Bun.serve(options);')).toEqual([]);
  });
});

describe('DESIGN section 3: imports point one way', () => {
  it('finds the source files', () => {
    expect(sources.map((s) => s.path)).toEqual(expect.arrayContaining(['src/app.ts', 'src/node.ts', 'src/worker.ts', 'src/deno.ts', 'src/bun.ts']));
  });

  it('every import in src/ follows the dependency rule', () => {
    const broken = sources.flatMap(({ path, text }) => {
      if (!layerOf(path)) return violations(path, '');
      return importsOf(text).flatMap((spec) => violations(path, spec));
    });
    expect(broken).toEqual([]);
  });

  it('only the Deno entry touches the Deno global, and only the Bun entry the Bun global', () => {
    expect(sources.flatMap(({ path, text }) => foreignGlobals(path, text))).toEqual([]);
  });

  it('the Workers entry creates no timers, semaphores or engines at module scope', () => {
    const worker = sources.filter(({ path }) => layerOf(path) === 'worker');
    expect(worker.length).toBeGreaterThan(0);
    const found = worker.flatMap(({ path, text }) => moduleScopeCalls(text).map((call) => `${path}: ${call}`));
    expect(found).toEqual([]);
  });
});
