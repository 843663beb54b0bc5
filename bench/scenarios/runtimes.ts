/**
 * Scenario 9: Tributary on Node, Deno and Bun (src/node.ts, src/deno.ts, src/bun.ts), the same
 * config and upstreams: throughput and CPU per request under load, and latency added at light
 * load, as ratios to Node.
 */
import { startContender, type Contender, type TributaryRuntime } from '../lib/contenders.ts';
import { stopContenders, type Ctx } from '../lib/context.ts';
import { load, type LoadResult } from '../lib/load.ts';
import type { Chart, Kind, Row, ScenarioResult, Table } from '../lib/result.ts';
import { figure, ratio, type Figure } from '../lib/stats.ts';

const RUNTIMES: readonly TributaryRuntime[] = ['node', 'deno', 'bun'];
const DELAYS = [0, 20];
const CONNECTIONS = 50;
const LIGHT_CONNECTIONS = 10;

/** The table's columns: key, label, kind. */
const COLUMNS: [string, string, Kind][] = [
  ['rps', 'req/s', 'rps'], ['cpu', 'CPU ms/req', 'cpu'], ['p99', 'p99 ms', 'ms'], ['light', 'light p50 ms', 'ms'],
  ['rpsx', 'req/s ÷ Node', 'ratio'], ['cpux', 'CPU/req ÷ Node', 'ratio'], ['lightx', 'light p50 ÷ Node', 'ratio'], ['failed', 'failed', 'count'],
];

interface Runs {
  heavy: LoadResult[];
  light: LoadResult[];
}

export async function runtimes(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s } = ctx;
  const tables: Table[] = [];
  const summary: string[] = [];
  const chart: Chart = { title: `Scenario 9: Tributary's requests/s by runtime, ${CONNECTIONS} connections (higher is better)`, unit: 'requests/s', log: false, groups: [] };

  for (const delayMs of DELAYS) {
    const contenders: Contender[] = [];
    const runs = new Map<TributaryRuntime, Runs>(RUNTIMES.map((r) => [r, { heavy: [], light: [] }]));
    try {
      // One at a time: three runtimes starting at once on two cores would time each other out.
      for (const runtime of RUNTIMES) {
        // No access log anywhere: a line per request is the logger's cost (pino on Node, console on Deno and Bun), not the runtime's.
        contenders.push(await startContender('tributary', ctx.upstreams, { delayMs, tmpDir: ctx.tmpDir, limits: [], runtime, label: runtime, env: { TRIBUTARY_ACCESS_LOG: '0' } }));
      }
      ctx.log(`started ${contenders.map((c) => `${c.name} (pid ${c.child.pid})`).join(', ')}`);
      if (s.warmupS > 0) for (const c of contenders) await load({ url: c.aggUrl, connections: CONNECTIONS, durationS: s.warmupS });
      for (let round = 1; round <= s.rounds; round++) {
        for (const c of contenders) {
          const r = runs.get(c.name as TributaryRuntime) as Runs;
          const heavy = await load({ url: c.aggUrl, connections: CONNECTIONS, durationS: s.throughputDurationS, pid: c.child.pid });
          r.heavy.push(heavy);
          const light = await load({ url: c.aggUrl, connections: LIGHT_CONNECTIONS, durationS: s.lightDurationS });
          r.light.push(light);
          ctx.log(
            `9 runtimes ${delayMs} ms · round ${round}/${s.rounds} · ${c.name}: ${Math.round(heavy.rps)} req/s, ` +
              `${(heavy.cpuMsPerReq ?? 0).toFixed(3)} CPU ms/req; light load p50 ${light.p50.toFixed(2)} ms` +
              `${heavy.failed + light.failed ? `, ${heavy.failed + light.failed} failed` : ''}`,
          );
        }
      }
    } finally {
      await stopContenders(contenders);
    }

    const pick = (runtime: TributaryRuntime, f: (r: Runs) => LoadResult[], g: (r: LoadResult) => number): number[] => f(runs.get(runtime) as Runs).map(g);
    const heavy = (r: Runs): LoadResult[] => r.heavy;
    const light = (r: Runs): LoadResult[] => r.light;
    const rps = (rt: TributaryRuntime): number[] => pick(rt, heavy, (r) => r.rps);
    const cpu = (rt: TributaryRuntime): number[] => pick(rt, heavy, (r) => r.cpuMsPerReq ?? Number.NaN);
    const p50 = (rt: TributaryRuntime): number[] => pick(rt, light, (r) => r.p50);
    const rows: Row[] = RUNTIMES.map((rt) => ({
      label: rt === 'node' ? '**node** (baseline)' : rt,
      cells: {
        rps: figure(rps(rt)),
        cpu: figure(cpu(rt)),
        p99: figure(pick(rt, heavy, (r) => r.p99)),
        light: figure(p50(rt)),
        rpsx: ratio(rps(rt), rps('node')),
        cpux: ratio(cpu(rt), cpu('node')),
        lightx: ratio(p50(rt), p50('node')),
        failed: [...heavy(runs.get(rt) as Runs), ...light(runs.get(rt) as Runs)].reduce((n, r) => n + r.failed, 0),
      },
    }));
    tables.push({
      caption: `Upstreams at ${delayMs} ms: ${CONNECTIONS} connections (req/s, CPU, p99), ${LIGHT_CONNECTIONS} connections (light-load p50)`,
      columns: COLUMNS.map(([key, label, kind]) => ({ key, label, kind })),
      rows,
    });
    for (const rt of ['deno', 'bun'] as const) {
      const cells = rows.find((r) => r.label === rt)?.cells;
      const rx = cells?.rpsx as Figure;
      const cx = cells?.cpux as Figure;
      summary.push(
        `Upstreams at ${delayMs} ms: on ${rt}, Tributary serves ×${rx.median.toFixed(2)} the requests/s it serves on Node ` +
          `[${rx.min.toFixed(2)}–${rx.max.toFixed(2)}] and spends ×${cx.median.toFixed(2)} the CPU per request [${cx.min.toFixed(2)}–${cx.max.toFixed(2)}].`,
      );
    }
    chart.groups.push({ label: `upstreams at ${delayMs} ms`, bars: rows.map((r) => ({ series: r.label.replace(/\*| \(baseline\)/g, ''), value: r.cells.rps as Figure })) });
  }
  return {
    id: 9,
    title: 'Runtimes: Tributary on Node, Deno and Bun',
    measures:
      `The same config (three upstreams, GET /v1/agg/:id) served by each native entry: src/node.ts (@hono/node-server, ` +
      `undici Agent), src/deno.ts (Deno.serve, Deno's fetch; deno.json's permissions) and src/bun.ts (Bun.serve, Bun's ` +
      `fetch), with the access log off on all three. Requests/s and CPU per request (user + system of the runtime's ` +
      `process) at ${CONNECTIONS} connections, and p50 at ${LIGHT_CONNECTIONS} connections, each as a per-round ratio to Node.`,
    status: 'ok', tables, summary, notes: [], chart,
    seconds: (performance.now() - t0) / 1000,
  };
}
