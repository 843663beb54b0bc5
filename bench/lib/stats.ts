/** A figure over rounds: median with its min and max, and whether the spread is wide. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  /** (max - min) / median. */
  spread: number;
  /** Spread above {@link WIDE_SPREAD}: the report flags the figure. */
  wide: boolean;
  samples: number[];
}

export const WIDE_SPREAD = 0.2;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile of an ascending array, p in [0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/**
 * @example
 * figure([10, 12, 11]) // { median: 11, min: 10, max: 12, spread: 0.18, wide: false, ... }
 */
export function figure(samples: readonly number[]): Figure {
  const finite = samples.filter(Number.isFinite);
  const med = median(finite);
  const min = finite.length ? Math.min(...finite) : Number.NaN;
  const max = finite.length ? Math.max(...finite) : Number.NaN;
  const spread = med > 0 ? (max - min) / med : 0;
  return { median: med, min, max, spread, wide: spread > WIDE_SPREAD, samples: [...samples] };
}

/** Per-round ratios a[i] / b[i]: both figures of one ratio come from the same round. */
export function ratio(a: readonly number[], b: readonly number[]): Figure {
  return figure(a.map((x, i) => x / (b[i] as number)));
}

/**
 * `items` in the order of round `round` (from 1): each round starts one further along, so no
 * contender always runs first (after the orchestrator's quiet moment) or right after the same
 * other one. Ratios are still taken within a round.
 *
 * @example
 * rotated(['a', 'b', 'c'], 2); // ['b', 'c', 'a']
 */
export function rotated<T>(items: readonly T[], round: number): T[] {
  const shift = items.length === 0 ? 0 : (round - 1) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
