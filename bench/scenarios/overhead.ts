/** Scenario 1: latency added on top of the upstreams at light load. */
import { CONTENDERS } from '../lib/contenders.ts';
import { startContenders, stopContenders, type Ctx } from '../lib/context.ts';
import { load, type LoadResult } from '../lib/load.ts';
import type { ScenarioResult } from '../lib/result.ts';
import { figure, ratio } from '../lib/stats.ts';

const DELAY_MS = 20;
const CONNECTIONS = 10;
const FLOOR = 'direct to one upstream (floor)';

export async function overhead(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s } = ctx;
  const contenders = await startContenders(ctx, CONTENDERS, { delayMs: DELAY_MS });
  const targets = [
    { name: FLOOR, url: `${ctx.upstreams.users}/d/${DELAY_MS}/users/1` },
    ...contenders.map((c) => ({ name: c.name, url: c.aggUrl })),
  ];
  const runs = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  try {
    if (s.warmupS > 0) for (const t of targets) await load({ url: t.url, connections: CONNECTIONS, durationS: s.warmupS });
    for (let round = 1; round <= s.rounds; round++) {
      for (const t of targets) {
        const r = await load({ url: t.url, connections: CONNECTIONS, durationS: s.lightDurationS });
        runs.get(t.name)?.push(r);
        ctx.log(`1 overhead · round ${round}/${s.rounds} · ${t.name}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms${r.failed ? `, ${r.failed} failed` : ''}`);
      }
    }
  } finally {
    await stopContenders(contenders);
  }

  const floorP50 = (runs.get(FLOOR) ?? []).map((r) => r.p50);
  const trib = (runs.get('tributary') ?? []).map((r) => r.p50);
  const rows = targets.map(({ name }) => {
    const rs = runs.get(name) ?? [];
    const p50 = rs.map((r) => r.p50);
    const p99 = rs.map((r) => r.p99);
    const isContender = name !== FLOOR;
    return {
      label: name === 'tributary' ? '**tributary**' : name,
      cells: {
        p50: figure(p50),
        p99: figure(p99),
        p50x: isContender ? ratio(p50, floorP50) : null,
        p99x: isContender ? ratio(p99, floorP50) : null,
        vs: isContender && name !== 'tributary' ? ratio(trib, p50) : null,
        failed: rs.reduce((n, r) => n + r.failed, 0),
      },
    };
  });
  const med = (name: string, key: 'p50x' | 'p50'): number => {
    const cell = rows.find((r) => r.label.replace(/\*/g, '') === name)?.cells[key];
    return cell && typeof cell === 'object' ? cell.median : Number.NaN;
  };
  return {
    id: 1,
    title: 'Overhead at light load',
    measures:
      `Three upstreams answering after ${DELAY_MS} ms, ${CONNECTIONS} client connections. p50 and p99 latency of ` +
      `GET /v1/agg/:id on each contender, divided by the p50 of calling one upstream directly (the floor: ` +
      `no aggregation layer can answer faster). ×1.00 means no overhead; \`sequential\` should sit near ×3.`,
    status: 'ok',
    tables: [
      {
        caption: `Latency, ms (${CONNECTIONS} connections, upstreams at ${DELAY_MS} ms)`,
        columns: [
          { key: 'p50', label: 'p50 ms', kind: 'ms' },
          { key: 'p99', label: 'p99 ms', kind: 'ms' },
          { key: 'p50x', label: 'p50 ÷ floor p50', kind: 'ratio' },
          { key: 'p99x', label: 'p99 ÷ floor p50', kind: 'ratio' },
          { key: 'vs', label: 'tributary p50 ÷ this p50', kind: 'ratio' },
          { key: 'failed', label: 'failed', kind: 'count' },
        ],
        rows,
      },
    ],
    summary: [
      `Tributary's p50 is ×${med('tributary', 'p50x').toFixed(2)} the floor (+${(med('tributary', 'p50') - med(FLOOR, 'p50')).toFixed(2)} ms); ` +
        `\`tuned\`'s is ×${med('tuned', 'p50x').toFixed(2)} (+${(med('tuned', 'p50') - med(FLOOR, 'p50')).toFixed(2)} ms).`,
    ],
    notes: [],
    seconds: (performance.now() - t0) / 1000,
  };
}
