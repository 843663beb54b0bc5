/** Scenario 4: Tributary with tracing off, and on with the batch exporter sending to a loopback OTLP sink. */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BENCH_DIR } from '../lib/contenders.ts';
import { startContenders, stopContenders, warmUp, type Ctx } from '../lib/context.ts';
import { load, type LoadResult } from '../lib/load.ts';
import { readyLine, spawnNode } from '../lib/processes.ts';
import type { Row, ScenarioResult } from '../lib/result.ts';
import { figure, ratio, rotated, type Figure } from '../lib/stats.ts';

const CONNECTIONS = 50;

/**
 * The standard OTEL_* settings of a traced Tributary: spans exported over OTLP/HTTP (the SDK's
 * defaults otherwise) to `sinkUrl`; undefined: tracing off. Metrics and logs are not exported.
 */
export function tracingEnv(sinkUrl: string | undefined): Record<string, string> {
  const common = { OTEL_SERVICE_NAME: 'tributary-bench', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
  return sinkUrl === undefined ? { ...common, OTEL_TRACES_EXPORTER: 'none' } : { ...common, OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl };
}
const DELAY_MS = 0;
/** The batch span processor exports every 5 s by default (OTEL_BSP_SCHEDULE_DELAY); wait a little longer before concluding. */
const FLUSH_WAIT_MS = 6500;

interface SinkStats {
  posts: number;
  bytes: number;
}

export async function tracing(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s } = ctx;
  const sink = spawnNode('otlp-sink', join(BENCH_DIR, 'otlp-sink.ts'), {});
  const sinkUrl = await readyLine(sink);
  const sinkStats = async (): Promise<SinkStats> => (await fetch(`${sinkUrl}/stats`)).json() as Promise<SinkStats>;
  const off = tracingEnv(undefined);
  const on = tracingEnv(sinkUrl);
  const runs = new Map<string, LoadResult[]>([['tracing off', []], ['tracing on', []]]);
  let received: SinkStats = { posts: 0, bytes: 0 };
  /** Every response of the traced instance, warm-up included: all of them sent spans. */
  let onResponses = 0;
  try {
    const [offC, onC] = await Promise.all([
      startContenders(ctx, ['tributary'], { delayMs: DELAY_MS, env: off, label: 'tracing off' }),
      startContenders(ctx, ['tributary'], { delayMs: DELAY_MS, env: on, label: 'tracing on' }),
    ]).then((lists) => lists.flat());
    const contenders = [offC, onC].filter((c) => c !== undefined);
    try {
      const served = await warmUp(ctx, contenders, CONNECTIONS, '4 tracing');
      onResponses += served[contenders.findIndex((c) => c.name === 'tracing on')] ?? 0;
      for (let round = 1; round <= s.rounds; round++) {
        for (const c of rotated(contenders, round)) {
          const r = await load({ url: c.aggUrl, connections: CONNECTIONS, durationS: s.throughputDurationS, pid: c.child.pid });
          runs.get(c.name)?.push(r);
          if (c.name === 'tracing on') onResponses += r.responses;
          ctx.log(`4 tracing · round ${round}/${s.rounds} · ${c.name}: ${Math.round(r.rps)} req/s, ${(r.cpuMsPerReq ?? 0).toFixed(3)} CPU ms/req`);
        }
      }
      received = await sinkStats();
      for (let waited = 0; received.bytes === 0 && waited < FLUSH_WAIT_MS; waited += 500) {
        await sleep(500);
        received = await sinkStats();
      }
    } finally {
      await stopContenders(contenders);
    }
    // Stopping flushes what the exporter still held.
    received = await sinkStats();
  } finally {
    await sink.stop();
  }

  const wired = received.bytes > 0;
  const get = (name: string, pick: (r: LoadResult) => number): number[] => (runs.get(name) ?? []).map(pick);
  const offRps = get('tracing off', (r) => r.rps);
  const offCpu = get('tracing off', (r) => r.cpuMsPerReq ?? Number.NaN);
  const rows: Row[] = ['tracing off', 'tracing on'].map((name) => ({
    label: name,
    cells: {
      rps: figure(get(name, (r) => r.rps)),
      cpu: figure(get(name, (r) => r.cpuMsPerReq ?? Number.NaN)),
      p50: figure(get(name, (r) => r.p50)),
      p99: figure(get(name, (r) => r.p99)),
      rpsx: name === 'tracing on' ? ratio(get(name, (r) => r.rps), offRps) : null,
      cpux: name === 'tracing on' ? ratio(get(name, (r) => r.cpuMsPerReq ?? Number.NaN), offCpu) : null,
    },
  }));
  const rx = rows[1]?.cells.rpsx as Figure;
  const cx = rows[1]?.cells.cpux as Figure;
  return {
    id: 4,
    title: 'Tracing cost',
    measures:
      `Tributary twice, upstreams at ${DELAY_MS} ms, ${CONNECTIONS} connections: once with OTEL_TRACES_EXPORTER=none, ` +
      `once exporting, 100 % sampled, with its batch span processor (standard OTEL_* environment, defaults) over OTLP/HTTP ` +
      `to a loopback sink that only counts bytes. Ratio of requests/s and of CPU per request, on ÷ off.`,
    status: wired ? 'ok' : 'not available: tracing not wired (the OTLP sink received nothing); both rows ran without tracing',
    tables: [
      {
        caption: `Tributary, upstreams at ${DELAY_MS} ms, ${CONNECTIONS} connections`,
        columns: [
          { key: 'rps', label: 'req/s', kind: 'rps' },
          { key: 'cpu', label: 'CPU ms/req', kind: 'cpu' },
          { key: 'p50', label: 'p50 ms', kind: 'ms' },
          { key: 'p99', label: 'p99 ms', kind: 'ms' },
          { key: 'rpsx', label: 'req/s on ÷ off', kind: 'ratio' },
          { key: 'cpux', label: 'CPU/req on ÷ off', kind: 'ratio' },
        ],
        rows,
      },
    ],
    summary: wired
      ? [
          `With tracing on, Tributary serves ×${rx.median.toFixed(2)} the requests/s [${rx.min.toFixed(2)}–${rx.max.toFixed(2)}] ` +
            `at ×${cx.median.toFixed(2)} the CPU per request; the sink received ${received.posts} exports, ` +
            `${Math.round(received.bytes / 1024)} KiB (${(received.bytes / Math.max(1, onResponses)).toFixed(0)} bytes per request).`,
        ]
      : [],
    notes: [],
    seconds: (performance.now() - t0) / 1000,
    extra: { sink: received, tracingWired: wired },
  };
}
