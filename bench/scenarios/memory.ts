/** Scenario 5: RSS when idle and with 1000 client connections open against the 20 ms endpoint. */
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTENDERS } from '../lib/contenders.ts';
import { startContenders, stopContenders, type Ctx } from '../lib/context.ts';
import { load, type LoadResult } from '../lib/load.ts';
import { memoryMb } from '../lib/proc-stats.ts';
import type { Row, ScenarioResult } from '../lib/result.ts';
import { figure, ratio, rotated } from '../lib/stats.ts';

const CONNECTIONS = 1000;
const DELAY_MS = 20;

export async function memory(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s } = ctx;
  const idle = new Map<string, number[]>(CONTENDERS.map((n) => [n, []]));
  const busy = new Map<string, LoadResult[]>(CONTENDERS.map((n) => [n, []]));
  // Fresh processes every round: idle RSS and peak RSS are then independent samples.
  for (let round = 1; round <= s.rounds; round++) {
    // No load shedding: every contender serves all 1000 connections (the default in-flight limit
    // would answer most of them 503 at once, which is its job but not what this measures).
    const contenders = await startContenders(ctx, CONTENDERS, { delayMs: DELAY_MS, env: { TRIBUTARY_MAX_IN_FLIGHT: '100000' } });
    try {
      await sleep(1000);
      for (const c of contenders) idle.get(c.name)?.push(memoryMb(c.child.pid).rss);
      for (const c of rotated(contenders, round)) {
        const r = await load({ url: c.aggUrl, connections: CONNECTIONS, durationS: s.memoryDurationS, pid: c.child.pid, memory: true });
        busy.get(c.name)?.push(r);
        ctx.log(
          `5 memory · round ${round}/${s.rounds} · ${c.name}: idle ${idle.get(c.name)?.at(-1)?.toFixed(1)} MB, ` +
            `${CONNECTIONS} connections ${r.peakRssMb?.toFixed(1)} MB, ${Math.round(r.rps)} req/s${r.failed ? `, ${r.failed} failed` : ''}`,
        );
      }
    } finally {
      await stopContenders(contenders);
    }
  }
  const peak = (name: string): number[] => (busy.get(name) ?? []).map((r) => r.peakRssMb ?? Number.NaN);
  const rows: Row[] = CONTENDERS.map((name) => {
    const other = name !== 'tributary';
    const rs = busy.get(name) ?? [];
    return {
      label: other ? name : '**tributary**',
      cells: {
        idle: figure(idle.get(name) ?? []),
        peak: figure(peak(name)),
        rps: figure(rs.map((r) => r.rps)),
        p99: figure(rs.map((r) => r.p99)),
        x: other ? ratio(peak('tributary'), peak(name)) : null,
        failed: rs.reduce((n, r) => n + r.failed, 0),
      },
    };
  });
  const tunedX = rows.find((r) => r.label === 'tuned')?.cells.x;
  return {
    id: 5,
    title: 'Memory',
    measures:
      `RSS of each contender's process 1 s after start-up (one request served), and its peak RSS (VmHWM, reset ` +
      `before the run, and VmRSS sampled every 50 ms) while autocannon holds ${CONNECTIONS} connections against ` +
      `GET /v1/agg/:id with upstreams at ${DELAY_MS} ms. Fresh processes each round.`,
    status: 'ok',
    tables: [
      {
        caption: `RSS, MB (${CONNECTIONS} connections, upstreams at ${DELAY_MS} ms)`,
        columns: [
          { key: 'idle', label: 'idle MB', kind: 'mb' },
          { key: 'peak', label: `peak MB at ${CONNECTIONS} conns`, kind: 'mb' },
          { key: 'rps', label: 'req/s', kind: 'rps' },
          { key: 'p99', label: 'p99 ms', kind: 'ms' },
          { key: 'x', label: 'tributary peak ÷ this', kind: 'ratio' },
          { key: 'failed', label: 'failed', kind: 'count' },
        ],
        rows,
      },
    ],
    summary:
      tunedX && typeof tunedX === 'object'
        ? [`At ${CONNECTIONS} connections Tributary's peak RSS is ×${tunedX.median.toFixed(2)} that of \`tuned\` [${tunedX.min.toFixed(2)}–${tunedX.max.toFixed(2)}].`]
        : [],
    notes: [],
    seconds: (performance.now() - t0) / 1000,
  };
}
