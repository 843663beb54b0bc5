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
