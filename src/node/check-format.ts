import type { CallSummary, EndpointSummary } from '../services/plan/index.ts';

/** One part of `tributary check`'s report: a config file, or the Worker. */
export interface CheckSection {
  title: string;
  errors: string[];
  warnings: string[];
  notes: string[];
  /** The endpoints that compiled, with their plans. */
  endpoints: EndpointSummary[];
  /** Counts for the title line, when the config was read. */
  counts?: { upstreams: number; endpoints: number } | undefined;
}

/**
 * A section as lines: its title with a verdict, its notes, every problem, then each endpoint's
 * calls (upstream, method and path, what they wait for, worst-case time) and critical path.
 *
 * @example
 * formatSection({ title: 'tributary.json', errors: [], warnings: [], notes: [], endpoints, counts: { upstreams: 2, endpoints: 1 } });
 * // ['tributary.json: ok (2 upstreams, 1 endpoint)', '', '  GET /v1/x  deadline 1500 ms, calls get 1425 ms', ...]
 */
export function formatSection(section: CheckSection): string[] {
  const { errors, warnings } = section;
  const verdict = errors.length > 0 ? plural(errors.length, 'error') : warnings.length > 0 ? `ok, ${plural(warnings.length, 'warning')}` : 'ok';
  const counts = section.counts ? ` (${plural(section.counts.upstreams, 'upstream')}, ${plural(section.counts.endpoints, 'endpoint')})` : '';
  const lines = [`${section.title}: ${verdict}${counts}`];
  for (const note of section.notes) lines.push(`  ${note}`);
  for (const error of errors) lines.push(`  error: ${error}`);
  for (const warning of warnings) lines.push(`  warning: ${warning}`);
  for (const endpoint of section.endpoints) lines.push('', ...formatEndpoint(endpoint));
  return lines;
}

function formatEndpoint(endpoint: EndpointSummary): string[] {
  const path = endpoint.criticalPath;
  const rows = endpoint.calls.map(callColumns);
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length))) ?? [];
  const lines = [`  ${endpoint.id}  deadline ${path.deadlineMs} ms, calls get ${round(path.budgetMs)} ms`];
  for (const row of rows) lines.push(`    ${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] as number))).join('  ')}`.trimEnd());
  const chain = path.calls.join(' -> ');
  lines.push(`    critical path: ${chain}, up to ${path.worstMs} ms of ${round(path.budgetMs)} ms${path.fits ? '' : '  (does not fit)'}`);
  return lines;
}

/** name, upstream, method and path, role, worst case. */
function callColumns(call: CallSummary): string[] {
  const role = [
    call.required ? 'required' : call.hasFallback ? 'fallback' : 'optional',
    ...(call.each ? [`each {${call.each}}`] : []),
    ...(call.dependsOn.length > 0 ? [`after ${call.dependsOn.join(', ')}`] : []),
  ].join(', ');
  const worst = `up to ${call.worst.worstMs} ms${call.each ? ' per element' : ''}${call.worst.detail ? ` (${call.worst.detail})` : ''}`;
  return [call.name, call.upstream, `${call.method} ${call.path}`, role, worst];
}

/** The closing line: totals over every section. */
export function formatTotals(sections: CheckSection[]): string {
  const errors = sections.reduce((n, s) => n + s.errors.length, 0);
  const warnings = sections.reduce((n, s) => n + s.warnings.length, 0);
  if (errors === 0 && warnings === 0) return 'no problems found';
  return `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const round = (ms: number): number => Math.round(ms * 10) / 10;
