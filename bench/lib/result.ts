import type { Figure } from './stats.ts';

/** How a column's figures are printed. `ratio` columns hold per-round ratios. */
export type Kind = 'ms' | 'rps' | 'cpu' | 'mb' | 'ratio' | 'count' | 'text';

export interface Column {
  key: string;
  label: string;
  kind: Kind;
}

/** A figure, a plain text or number, or nothing (printed as "–"). */
export type Cell = Figure | string | number | null;

export interface Row {
  label: string;
  cells: Record<string, Cell>;
}

export interface Table {
  caption: string;
  columns: Column[];
  rows: Row[];
}

/** Grouped bars with min-max whiskers, for the SVG chart. */
export interface Chart {
  title: string;
  unit: string;
  log: boolean;
  /** What a group label means. */
  xLabel?: string;
  groups: { label: string; bars: { series: string; value: Figure }[] }[];
}

export interface ScenarioResult {
  id: number;
  title: string;
  /** What the scenario measures, one paragraph. */
  measures: string;
  /** 'ok', or why the figures are missing or mean nothing. */
  status: string;
  tables: Table[];
  /** Sentences for the report: the comparisons that matter, as ratios. */
  summary: string[];
  notes: string[];
  chart?: Chart;
  seconds: number;
  /** Anything else worth keeping in latest.json. */
  extra?: Record<string, unknown>;
}

export function isFigure(cell: Cell): cell is Figure {
  return typeof cell === 'object' && cell !== null && 'median' in cell;
}
