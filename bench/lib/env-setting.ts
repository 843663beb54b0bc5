import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * A positive number from the environment, or `fallback` when unset. A value that is not a
 * positive number stops the script with a message naming the variable, rather than running on
 * with NaN.
 *
 * @example
 * const rounds = positiveSetting('BENCH_ROUNDS', 10);
 */
export function positiveSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: must be a positive number`);
  return value;
}

/**
 * The other checkout named by `BENCH_BASE` (relative to where npm was run), checked to hold
 * `file`; undefined when unset. A directory without it stops the script naming both.
 *
 * @example
 * const base = baseCheckout('src/app.ts'); // '/tmp/before' for BENCH_BASE=/tmp/before
 */
export function baseCheckout(file: string): string | undefined {
  const raw = process.env.BENCH_BASE;
  if (!raw) return undefined;
  const root = resolve(process.env.INIT_CWD ?? process.cwd(), raw);
  if (!existsSync(join(root, file))) throw new Error(`BENCH_BASE=${raw}: no ${file} under ${root}`);
  return root;
}
