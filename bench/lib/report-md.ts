import type { Machine } from './machine.ts';
import { cellText } from './format.ts';
import type { ScenarioResult, Table } from './result.ts';
import { WARMUP_MAX_S, WARMUP_TURN_S, type Settings } from './settings.ts';
import { WIDE_SPREAD } from './stats.ts';

export interface RunInfo {
  startedAt: string;
  seconds: number;
  machine: Machine;
  settings: Settings;
}

/** What the contenders were warmed up with before their rounds. */
function warmUpText(s: Settings): string {
  const longer = s.warmupRequests > 0 && [2, 4, 7].some((id) => s.scenarios.has(id));
  const counted = `in unmeasured rounds of ${WARMUP_TURN_S} s turns until each had answered ${s.warmupRequests.toLocaleString('en-US')} requests (at most ${WARMUP_MAX_S} s of its own load)`;
  if (s.warmupS > 0) return `after ${s.warmupS} s of warm-up per contender${longer ? `, in scenarios 2, 4 and 7 ${counted}` : ''}`;
  return longer ? `without warm-up, except in scenarios 2, 4 and 7: ${counted}` : 'without warm-up';
}

/** latest.md: the table the README quotes. */
export function renderMarkdown(run: RunInfo, scenarios: ScenarioResult[]): string {
  const { machine: m, settings: s } = run;
  const out: string[] = [];
  out.push(`# Tributary benchmark results`, '');
  out.push(
    `Machine: ${m.cores} cores, ${m.cpuModel}, Node ${m.node}, ${m.os}, ${m.memoryGb} GB RAM; ` +
      `load average when the run started: ${m.loadAverage}.`,
  );
  out.push(
    `Run: ${run.startedAt}, ${s.quick ? '**quick smoke run (BENCH_QUICK=1): not for quoting**' : 'full run'}, ` +
      `${s.rounds} rounds with the contenders alternated (A B … A B …); load runs of ` +
      `${s.lightDurationS} s (scenario 1), ${s.throughputDurationS} s (2, 4), ${s.memoryDurationS} s (5)` +
      `${s.scenarios.has(6) ? `, ${s.resilienceCalls} client calls per case (6)` : ''} ` +
      `${warmUpText(s)}; ${formatSeconds(run.seconds)} in all.`,
  );
  out.push('');
  out.push(
    `Each figure is the median over the rounds with [min–max]; ⚠ marks a spread (max − min) / median above ` +
      `${WIDE_SPREAD * 100} %. Each ratio (×) is computed per round from two figures of that round, then ` +
      `summarised the same way. Load generator: autocannon, in the orchestrating process; every server ` +
      `(upstreams, Tributary, each baseline) runs in its own process on 127.0.0.1.`,
  );
  for (const sc of scenarios) {
    out.push('', `## ${sc.id}. ${sc.title}`, '', sc.measures, '');
    if (sc.status !== 'ok') out.push(`**${sc.status}**`, '');
    for (const table of sc.tables) out.push(...renderTable(table), '');
    for (const line of sc.summary) out.push(`- ${line}`);
    if (sc.summary.length > 0) out.push('');
    for (const note of sc.notes) out.push(`_${note}_`, '');
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n').trim()}\n`;
}

function renderTable(table: Table): string[] {
  const lines: string[] = [];
  if (table.caption) lines.push(`**${table.caption}**`, '');
  lines.push(`| ${['', ...table.columns.map((c) => c.label)].join(' | ')} |`);
  lines.push(`|${['---', ...table.columns.map((c) => (c.kind === 'text' ? '---' : '--:'))].join('|')}|`);
  for (const row of table.rows) {
    lines.push(`| ${[row.label, ...table.columns.map((c) => cellText(row.cells[c.key] ?? null, c.kind))].join(' | ')} |`);
  }
  return lines;
}

export function formatSeconds(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}
