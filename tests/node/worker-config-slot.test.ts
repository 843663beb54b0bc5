/**
 * src/worker/config.ts is the user's slot: the README says to put one's own config there. The
 * Worker tests must not depend on it, or following the README breaks them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : /\.ts$/.test(entry.name) ? [path] : [];
  });
}

describe('the Worker config slot (src/worker/config.ts)', () => {
  it('is used by no test: they import the demo from src/worker/demo-config.ts, and none calls the main Worker\'s exports', () => {
    const offenders = filesUnder(join(ROOT, 'tests')).flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      const name = relative(ROOT, file);
      const found: string[] = [];
      if (/from\s+['"][./]*src\/worker\/config\.ts['"]/.test(text)) found.push(`${name} imports src/worker/config.ts`);
      // `exports` of cloudflare:workers is src/worker.ts, which bundles the slot.
      if (/import\s*\{[^}]*\bexports\b[^}]*\}\s*from\s*['"]cloudflare:workers['"]/.test(text)) found.push(`${name} calls the main Worker (src/worker.ts)`);
      return found;
    });
    expect(offenders).toEqual([]);
  });
});
