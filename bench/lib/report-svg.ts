import type { Chart } from './result.ts';

const COLORS = ['#d9480f', '#1971c2', '#2f9e44', '#7048e8', '#868e96', '#e8590c'];
const W = 860;
const PANEL_H = 300;
const M = { top: 44, right: 20, bottom: 56, left: 70 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Hand-rolled grouped bar charts with min–max whiskers, one panel per chart, stacked. */
export function renderSvg(charts: Chart[], subtitle: string): string {
  const height = 30 + charts.length * PANEL_H;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${M.left}" y="20" fill="#495057">${esc(subtitle)}</text>`,
  ];
  charts.forEach((chart, i) => parts.push(panel(chart, 30 + i * PANEL_H)));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function panel(chart: Chart, y0: number): string {
  const series = [...new Set(chart.groups.flatMap((g) => g.bars.map((b) => b.series)))];
  const values = chart.groups.flatMap((g) => g.bars.flatMap((b) => [b.value.max, b.value.median])).filter((v) => Number.isFinite(v) && v > 0);
  const plotW = W - M.left - M.right;
  const plotH = PANEL_H - M.top - M.bottom;
  const top = Math.max(1e-9, ...values);
  const bottom = chart.log ? Math.max(1e-9, Math.min(...values) / 2) : 0;
  const step = niceStep(top * 1.1 / 5);
  const lo = chart.log ? Math.log10(bottom) : 0;
  const hi = chart.log ? Math.log10(top * 1.2) : Math.ceil((top * 1.1) / step) * step;
  const yOf = (v: number): number => {
    const t = chart.log ? (Math.log10(Math.max(v, bottom)) - lo) / (hi - lo) : v / hi;
    return y0 + M.top + plotH * (1 - Math.min(1, Math.max(0, t)));
  };
  const out: string[] = [`<g>`, `<text x="${M.left}" y="${y0 + 20}" font-size="14" font-weight="600">${esc(chart.title)}</text>`];
  // Axis ticks: 1-2-5 steps on a log scale, round steps otherwise.
  const ticks: number[] = [];
  if (chart.log) {
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of [1, 2, 5]) if (Math.log10(m * 10 ** e) >= lo && Math.log10(m * 10 ** e) <= hi) ticks.push(m * 10 ** e);
    }
  } else for (let k = 0; k * step <= hi + step / 2; k++) ticks.push(k * step);
  for (const t of ticks) {
    const y = yOf(t);
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e9ecef"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#495057">${tickLabel(t)}</text>`);
  }
  out.push(`<text transform="translate(14 ${y0 + M.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#495057">${esc(chart.unit)}</text>`);
  const groupW = plotW / Math.max(1, chart.groups.length);
  const barW = Math.min(28, (groupW * 0.8) / Math.max(1, series.length));
  chart.groups.forEach((group, gi) => {
    const gx = M.left + gi * groupW + (groupW - barW * series.length) / 2;
    for (const bar of group.bars) {
      const si = series.indexOf(bar.series);
      const x = gx + si * barW;
      const color = COLORS[si % COLORS.length] as string;
      const { median, min, max } = bar.value;
      if (!Number.isFinite(median)) continue;
      const y = yOf(median);
      const base = yOf(bottom);
      out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${Math.max(0, base - y).toFixed(1)}" fill="${color}"><title>${esc(`${group.label} ${bar.series}: ${median}`)}</title></rect>`);
      const cx = (x + (barW - 2) / 2).toFixed(1);
      out.push(`<line x1="${cx}" x2="${cx}" y1="${yOf(min).toFixed(1)}" y2="${yOf(max).toFixed(1)}" stroke="#212529"/>`);
    }
    out.push(`<text x="${(M.left + gi * groupW + groupW / 2).toFixed(1)}" y="${y0 + PANEL_H - M.bottom + 16}" text-anchor="middle" fill="#212529">${esc(group.label)}</text>`);
  });
  if (chart.xLabel) out.push(`<text x="${W - M.right}" y="${y0 + PANEL_H - M.bottom + 32}" text-anchor="end" fill="#868e96">${esc(chart.xLabel)}</text>`);
  series.forEach((name, si) => {
    const x = M.left + si * 150;
    const y = y0 + PANEL_H - 18;
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[si % COLORS.length]}"/>`);
    out.push(`<text x="${x + 16}" y="${y}" fill="#212529">${esc(name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

/** 1, 2, 2.5 or 5 times a power of ten, at least `raw`. */
function niceStep(raw: number): number {
  const p = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 2.5, 5, 10].find((m) => m * p >= raw) ?? 10) * p;
}

function tickLabel(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toFixed(1)}k`;
  if (v >= 10 || v === 0) return v.toFixed(0);
  return +v.toPrecision(2) + '';
}
