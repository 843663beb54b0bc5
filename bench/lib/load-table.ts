/** The cells and columns every load table shares: requests/s, CPU per request, p50, p99, failures. */
import type { LoadResult } from './load.ts';
import type { Column } from './result.ts';
import { figure, type Figure } from './stats.ts';

/**
 * One contender's figures over its rounds.
 *
 * @example
 * const row = { label: 'tuned', cells: { ...loadCells(runs), rpsx: ratio(a, b) } };
 */
export function loadCells(runs: readonly LoadResult[]): { rps: Figure; cpu: Figure; p50: Figure; p99: Figure; failed: number } {
  return {
    rps: figure(runs.map((r) => r.rps)),
    cpu: figure(runs.map((r) => r.cpuMsPerReq ?? Number.NaN)),
    p50: figure(runs.map((r) => r.p50)),
    p99: figure(runs.map((r) => r.p99)),
    failed: runs.reduce((n, r) => n + r.failed, 0),
  };
}

/** The columns of {@link loadCells}, ratio columns in between; `failed` last. */
export function loadColumns(cpuLabel: string, ratios: Column[]): Column[] {
  return [
    { key: 'rps', label: 'req/s', kind: 'rps' },
    { key: 'cpu', label: cpuLabel, kind: 'cpu' },
    { key: 'p50', label: 'p50 ms', kind: 'ms' },
    { key: 'p99', label: 'p99 ms', kind: 'ms' },
    ...ratios,
    { key: 'failed', label: 'failed', kind: 'count' },
  ];
}
