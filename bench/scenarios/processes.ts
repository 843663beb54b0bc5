/** Scenario 7: Tributary on one process and on two (TRIBUTARY_PROCESSES=2), with `tuned` as the reference. */
import { loadInRounds, startContenders, stopContenders, type Ctx } from '../lib/context.ts';
import type { LoadResult } from '../lib/load.ts';
import type { Chart, Row, ScenarioResult, Table } from '../lib/result.ts';
import { loadCells, loadColumns } from '../lib/load-table.ts';
import { ratio, type Figure } from '../lib/stats.ts';

const DELAYS = [0, 20];
const CONNECTIONS = 50;

export async function processes(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const tables: Table[] = [];
  const summary: string[] = [];
  const chart: Chart = { title: `Scenario 7: requests/s on 1 and 2 processes, ${CONNECTIONS} connections (higher is better)`, unit: 'requests/s', log: false, groups: [] };

  for (const delayMs of DELAYS) {
    const [one, two, tuned] = (
      await Promise.all([
        startContenders(ctx, ['tributary'], { delayMs, label: 'tributary, 1 process' }, true),
        startContenders(ctx, ['tributary'], { delayMs, label: 'tributary, 2 processes', env: { TRIBUTARY_PROCESSES: '2' } }, true),
        startContenders(ctx, ['tuned'], { delayMs }, true),
      ])
    ).flat();
    const contenders = [one, two, tuned].filter((c) => c !== undefined);
    let runs: Map<string, LoadResult[]>;
    try {
      // The CPU of the whole process tree: a primary and its serving processes.
      runs = await loadInRounds(ctx, contenders, {
        connections: CONNECTIONS,
        tag: `7 processes ${delayMs} ms`,
        tree: true,
        processes: (c) => (c === two ? 2 : 1),
      });
    } finally {
      await stopContenders(contenders);
    }
    const series = (name: string, pick: (r: LoadResult) => number): number[] => (runs.get(name) ?? []).map(pick);
    const baseRps = series('tributary, 1 process', (r) => r.rps);
    const rows: Row[] = contenders.map(({ name }) => ({
      label: name,
      cells: {
        ...loadCells(runs.get(name) ?? []),
        rpsx: ratio(series(name, (r) => r.rps), baseRps),
      },
    }));
    tables.push({
      caption: `Upstreams at ${delayMs} ms, ${CONNECTIONS} connections`,
      columns: loadColumns('CPU ms/req (all processes)', [{ key: 'rpsx', label: 'req/s ÷ 1 process', kind: 'ratio' }]),
      rows,
    });
    const twoX = rows.find((r) => r.label === 'tributary, 2 processes')?.cells.rpsx as Figure | undefined;
    if (twoX) {
      summary.push(`Upstreams at ${delayMs} ms: two processes serve ×${twoX.median.toFixed(2)} the requests/s of one [${twoX.min.toFixed(2)}–${twoX.max.toFixed(2)}].`);
    }
    chart.groups.push({ label: `upstreams at ${delayMs} ms`, bars: rows.map((r) => ({ series: r.label, value: r.cells.rps as Figure })) });
  }
  return {
    id: 7,
    title: 'Every core: one process and two',
    measures:
      `Scenario 2's load (three upstreams, ${CONNECTIONS} connections) on Tributary with TRIBUTARY_PROCESSES unset and =2, ` +
      `and on \`tuned\`. CPU counts every process of the tree. What a second process gives depends on free cores: ` +
      `on a 2-core machine the load generator and the upstreams use the same two cores.`,
    status: 'ok',
    tables,
    summary,
    notes: [],
    chart,
    seconds: (performance.now() - t0) / 1000,
  };
}
