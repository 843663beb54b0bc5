import type { Figure } from './stats.ts';
import { isFigure, type Cell, type Kind } from './result.ts';

/** One number, with as many decimals as its size and kind deserve. */
export function num(value: number, kind: Kind): string {
  if (!Number.isFinite(value)) return '–';
  switch (kind) {
    case 'rps':
    case 'count':
      return Math.round(value).toLocaleString('en-US');
    case 'cpu':
      return value >= 10 ? value.toFixed(1) : value >= 1 ? value.toFixed(2) : value.toFixed(3);
    case 'mb':
      return value.toFixed(1);
    case 'ratio':
      return value.toFixed(2);
    default:
      return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
  }
}

/** `median [min–max]`, a ratio as `×median`, and a ⚠ when the spread over rounds is wide. */
export function figureText(f: Figure, kind: Kind): string {
  const prefix = kind === 'ratio' ? '×' : '';
  const flag = f.wide ? ' ⚠' : '';
  if (f.samples.length <= 1 || f.min === f.max) return `${prefix}${num(f.median, kind)}${flag}`;
  return `${prefix}${num(f.median, kind)} [${num(f.min, kind)}–${num(f.max, kind)}]${flag}`;
}

export function cellText(cell: Cell, kind: Kind): string {
  if (cell === null || cell === undefined) return '–';
  if (isFigure(cell)) return figureText(cell, kind);
  if (typeof cell === 'number') return num(cell, kind);
  return cell;
}
