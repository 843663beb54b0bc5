/** Scenario 2: requests/s and CPU per request under load, upstreams at 0 ms and at 20 ms. */
import { CONTENDERS } from '../lib/contenders.ts';
import { loadInRounds, startContenders, stopContenders, type Ctx } from '../lib/context.ts';
import type { LoadResult } from '../lib/load.ts';
import type { Chart, Row, ScenarioResult, Table } from '../lib/result.ts';
import { loadCells, loadColumns } from '../lib/load-table.ts';
import { ratio, type Figure } from '../lib/stats.ts';

const DELAYS = [0, 20];
const CONNECTIONS = 50;

export async function throughput(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const tables: Table[] = [];
  const summary: string[] = [];
  const chart: Chart = { title: `Scenario 2: requests/s, ${CONNECTIONS} connections (higher is better)`, unit: 'requests/s', log: false, groups: [] };

  for (const delayMs of DELAYS) {
    const contenders = await startContenders(ctx, CONTENDERS, { delayMs });
    let runs: Map<string, LoadResult[]>;
    try {
      runs = await loadInRounds(ctx, contenders, { connections: CONNECTIONS, tag: `2 throughput ${delayMs} ms` });
    } finally {
      await stopContenders(contenders);
    }

    const series = (name: string, pick: (r: LoadResult) => number): number[] => (runs.get(name) ?? []).map(pick);
    const tribRps = series('tributary', (r) => r.rps);
    const tribCpu = series('tributary', (r) => r.cpuMsPerReq ?? Number.NaN);
    const rows: Row[] = contenders.map(({ name }) => {
      const rps = series(name, (r) => r.rps);
      const cpu = series(name, (r) => r.cpuMsPerReq ?? Number.NaN);
      const other = name !== 'tributary';
      return {
        label: other ? name : '**tributary**',
        cells: {
          ...loadCells(runs.get(name) ?? []),
          rpsx: other ? ratio(tribRps, rps) : null,
          cpux: other ? ratio(tribCpu, cpu) : null,
        },
      };
    });
    tables.push({
      caption: `Upstreams at ${delayMs} ms, ${CONNECTIONS} connections`,
      columns: loadColumns('CPU ms/req', [
        { key: 'rpsx', label: 'tributary req/s ÷ this', kind: 'ratio' },
        { key: 'cpux', label: 'tributary CPU/req ÷ this', kind: 'ratio' },
      ]),
      rows,
    });
    const tuned = rows.find((r) => r.label === 'tuned')?.cells;
    const rx = tuned?.rpsx as Figure | undefined;
    const cx = tuned?.cpux as Figure | undefined;
    if (rx && cx) {
      summary.push(
        `Upstreams at ${delayMs} ms: Tributary serves ×${rx.median.toFixed(2)} the requests/s of \`tuned\` ` +
          `[${rx.min.toFixed(2)}–${rx.max.toFixed(2)}] and spends ×${cx.median.toFixed(2)} its CPU per request ` +
          `[${cx.min.toFixed(2)}–${cx.max.toFixed(2)}].`,
      );
    }
    chart.groups.push({
      label: `upstreams at ${delayMs} ms`,
      bars: rows.map((r) => ({ series: r.label.replace(/\*/g, ''), value: r.cells.rps as Figure })),
    });
  }
  return {
    id: 2,
    title: 'Throughput and CPU per request',
    measures:
      `Three upstreams at 0 ms and at 20 ms, ${CONNECTIONS} client connections: requests/s (2xx only) and CPU time ` +
      `(user + system, from /proc/<pid>/stat) of the contender's process per request. At 0 ms the contender's CPU ` +
      `is the limit; at 20 ms latency and connection handling are. On a machine with few cores the load generator ` +
      `and the upstreams share the CPU with the contender, so compare ratios rather than absolute req/s.`,
    status: 'ok',
    tables,
    summary,
    notes: [],
    chart,
    seconds: (performance.now() - t0) / 1000,
  };
}
