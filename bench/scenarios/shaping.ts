/**
 * Scenario 11: what response shaping, streaming and compression cost. One Tributary process,
 * upstreams at 0 ms (so the gateway's CPU is the limit), each variant against its plain JSON
 * twin in the same run: pick + response template and an NDJSON stream against the plain
 * aggregate; gzip and brotli against the same 2-3 KiB answer uncompressed.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BENCH_DIR } from '../lib/contenders.ts';
import type { Ctx } from '../lib/context.ts';
import { load, type LoadResult } from '../lib/load.ts';
import { freePort, spawnNode, waitForHttp } from '../lib/processes.ts';
import type { Row, ScenarioResult, Table } from '../lib/result.ts';
import { figure, ratio, type Figure } from '../lib/stats.ts';

const CONNECTIONS = 50;

interface Variant {
  name: string;
  path: string;
  headers?: Record<string, string>;
}

/** Baseline first in each group. */
const GROUPS: { caption: string; variants: Variant[] }[] = [
  {
    caption: 'Shaping and streaming (three calls, ~650 B answer)',
    variants: [
      { name: 'JSON, whole answers', path: '/v1/agg/1' },
      { name: 'JSON, pick + response template', path: '/v1/shaped/1' },
      { name: 'NDJSON stream', path: '/v1/agg/1', headers: { accept: 'application/x-ndjson' } },
      { name: 'SSE stream', path: '/v1/agg/1', headers: { accept: 'text/event-stream' } },
    ],
  },
  {
    caption: 'Compression (ten calls, ~2.6 KiB answer)',
    variants: [
      { name: 'uncompressed', path: '/v1/big/1' },
      { name: 'gzip', path: '/v1/big/1', headers: { 'accept-encoding': 'gzip' } },
      { name: 'brotli (quality 4)', path: '/v1/big/1', headers: { 'accept-encoding': 'br' } },
    ],
  },
];

function config(ctx: Ctx) {
  const base = (url: string) => `${url}/d/0`;
  const id = { params: { id: { type: 'string', pattern: '^[0-9]+$' } } };
  const calls = {
    user: { upstream: 'users', path: '/users/{params.id}' },
    orders: { upstream: 'orders', path: '/orders/{params.id}' },
    recs: { upstream: 'recs', path: '/recs/{params.id}' },
  };
  return {
    upstreams: {
      users: { baseUrl: base(ctx.upstreams.users), timeoutMs: 1000 },
      orders: { baseUrl: base(ctx.upstreams.orders), timeoutMs: 1000 },
      recs: { baseUrl: base(ctx.upstreams.recs), timeoutMs: 1000 },
    },
    endpoints: [
      { path: '/v1/agg/:id', input: id, calls },
      {
        path: '/v1/shaped/:id',
        input: id,
        calls: {
          user: { ...calls.user, pick: ['id', 'name'] },
          orders: { ...calls.orders, pick: ['id', 'total'] },
          recs: { ...calls.recs, pick: ['id', 'title'] },
        },
        response: { id: '{params.id}', name: '{calls.user.name}', orders: '{calls.orders}', firstOrder: '{calls.orders.0.id}', recs: '{calls.recs}' },
      },
      {
        path: '/v1/big/:id',
        input: id,
        calls: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`orders${i}`, { upstream: 'orders', path: `/orders/{params.id}-${i}` }])),
      },
    ],
  };
}

export async function shaping(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s } = ctx;
  const port = await freePort();
  const file = join(ctx.tmpDir, 'shaping.json');
  writeFileSync(file, JSON.stringify(config(ctx), null, 2));
  const child = spawnNode('tributary (shaping)', resolve(BENCH_DIR, '../src/node.ts'), {
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    TRIBUTARY_CONFIG: file,
  });
  const url = `http://127.0.0.1:${port}`;
  const tables: Table[] = [];
  const summary: string[] = [];
  try {
    await waitForHttp(child, `${url}/v1/shaped/1`, (body) => (body as { data?: { firstOrder?: string } }).data?.firstOrder === '1-1');
    ctx.log(`started tributary (shaping) (pid ${child.pid})`);
    for (const group of GROUPS) {
      const runs = new Map<string, LoadResult[]>(group.variants.map((v) => [v.name, []]));
      const run = (v: Variant, durationS: number, pid?: number) =>
        load({ url: `${url}${v.path}`, connections: CONNECTIONS, durationS, ...(v.headers ? { headers: v.headers } : {}), ...(pid ? { pid } : {}) });
      if (s.warmupS > 0) for (const v of group.variants) await run(v, s.warmupS);
      for (let round = 1; round <= s.rounds; round++) {
        for (const v of group.variants) {
          const r = await run(v, s.throughputDurationS, child.pid);
          runs.get(v.name)?.push(r);
          ctx.log(`11 shaping · round ${round}/${s.rounds} · ${v.name}: ${Math.round(r.rps)} req/s, ${(r.cpuMsPerReq ?? 0).toFixed(3)} CPU ms/req${r.failed ? `, ${r.failed} failed` : ''}`);
        }
      }
      const series = (name: string, pick: (r: LoadResult) => number): number[] => (runs.get(name) ?? []).map(pick);
      const baseline = group.variants[0]?.name ?? '';
      const baseCpu = series(baseline, (r) => r.cpuMsPerReq ?? Number.NaN);
      const baseRps = series(baseline, (r) => r.rps);
      const rows: Row[] = group.variants.map(({ name }) => {
        const cpu = series(name, (r) => r.cpuMsPerReq ?? Number.NaN);
        const rps = series(name, (r) => r.rps);
        return {
          label: name,
          cells: {
            rps: figure(rps),
            cpu: figure(cpu),
            p50: figure(series(name, (r) => r.p50)),
            cpux: name === baseline ? null : ratio(cpu, baseCpu),
            rpsx: name === baseline ? null : ratio(rps, baseRps),
            failed: (runs.get(name) ?? []).reduce((n, r) => n + r.failed, 0),
          },
        };
      });
      tables.push({
        caption: `${group.caption}, ${CONNECTIONS} connections, upstreams at 0 ms`,
        columns: [
          { key: 'rps', label: 'req/s', kind: 'rps' },
          { key: 'cpu', label: 'CPU ms/req', kind: 'cpu' },
          { key: 'p50', label: 'p50 ms', kind: 'ms' },
          { key: 'cpux', label: `CPU/req ÷ ${baseline}`, kind: 'ratio' },
          { key: 'rpsx', label: `req/s ÷ ${baseline}`, kind: 'ratio' },
          { key: 'failed', label: 'failed', kind: 'count' },
        ],
        rows,
      });
      for (const row of rows.slice(1)) {
        const cx = row.cells.cpux as Figure;
        summary.push(`${row.label}: ×${cx.median.toFixed(2)} the CPU per request of "${baseline}" [${cx.min.toFixed(2)}–${cx.max.toFixed(2)}].`);
      }
    }
  } finally {
    await child.stop();
  }
  return {
    id: 11,
    title: 'Response shaping, streaming and compression',
    measures:
      `One Tributary process, upstreams at 0 ms, ${CONNECTIONS} client connections: CPU time of the gateway per ` +
      `request and requests/s of each variant, as ratios to its plain JSON twin measured in the same run.`,
    status: 'ok',
    tables,
    summary,
    notes: [],
    seconds: (performance.now() - t0) / 1000,
  };
}
