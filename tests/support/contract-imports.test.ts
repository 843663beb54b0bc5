import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The contract suite also runs inside workerd, so its test files (and the helpers they import)
 * may import only vitest, src/app.ts, src/services and src/lib (sub-folders included) and each
 * other. The globalSetup runs in Node and is the one exception.
 */
const dir = fileURLToPath(new URL('../contract/', import.meta.url));
const NODE_ONLY = new Set(['global-setup.ts']);
const ALLOWED = [/^vitest$/, /^\.\.\/\.\.\/src\/app\.ts$/, /^\.\.\/\.\.\/src\/services\/(?:[\w-]+\/)*[\w-]+\.ts$/, /^\.\.\/\.\.\/src\/lib\/(?:[\w-]+\/)*[\w-]+\.ts$/, /^\.\/[\w-]+\.ts$/];

function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g)) found.push(m[1] as string);
  for (const m of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.push(m[1] as string);
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1] as string);
  return found;
}

describe('tests/contract stays runtime-agnostic', () => {
  it('imports only vitest, src/app.ts, src/services, src/lib and its own helpers', async () => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !NODE_ONLY.has(f));
    expect(files.length).toBeGreaterThan(3);
    const bad: string[] = [];
    for (const file of files) {
      const source = await readFile(`${dir}${file}`, 'utf8');
      for (const spec of importsOf(source)) if (!ALLOWED.some((re) => re.test(spec))) bad.push(`${file}: ${spec}`);
      if (/\bprocess\.|\bBuffer\b|\brequire\(/.test(source)) bad.push(`${file}: uses a Node global`);
    }
    expect(bad).toEqual([]);
  });
});
