/**
 * Scenario 12: 1000 clients open the same dashboard at once (three calls, each upstream answering
 * after 20 ms). Three Tributary processes side by side: coalescing off (the baseline, what every
 * gateway without it does), coalescing on, and coalescing with a 30 s cache. The upstream's view
 * (requests it received per client request) and the client's (p50, requests per second).
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { callMany } from '../lib/calls.ts';
import type { Ctx } from '../lib/context.ts';
import { freePort, spawnNode, waitForHttp, type NodeChild } from '../lib/processes.ts';
import type { Row, ScenarioResult } from '../lib/result.ts';
import { figure, ratio } from '../lib/stats.ts';

const CLIENTS = 1000;
/**
 * Each client asks this many times in a row, over its kept-alive connection: the first wave
 * mostly measures 1000 TCP handshakes at once (the listen backlog overflows, SYNs are retried),
 * the later ones the gateway.
 */
const WAVES = 5;
const DELAY_MS = 20;
const CALLS = ['user', 'orders', 'recs'] as const;
const ROOT = resolve(import.meta.dirname, '../..');

interface Variant {
  name: string;
  tag: string;
  upstream: Record<string, unknown>;
}

const VARIANTS: readonly Variant[] = [
  { name: 'coalescing off (baseline)', tag: 'c7off', upstream: {} },
  { name: 'coalescing on', tag: 'c7on', upstream: { coalesce: true } },
  { name: 'coalescing on + cache 30 s', tag: 'c7cache', upstream: { coalesce: true, cache: { ttlMs: 30_000 } } },
];

interface Running {
  variant: Variant;
  child: NodeChild;
  url: string;
}

type FaultyStats = Record<string, { requests: number } | undefined>;

export async function coalescing(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s, upstreams } = ctx;
  const stats = async (): Promise<FaultyStats> => (await fetch(`${upstreams.faulty}/__stats`)).json() as Promise<FaultyStats>;
  const procs = await Promise.all(VARIANTS.map((v) => start(v, upstreams.faulty, ctx.tmpDir)));
  ctx.log(`started ${procs.map((p) => `${p.variant.tag} (pid ${p.child.pid})`).join(', ')}`);
  const samples = new Map(VARIANTS.map((v) => [v.tag, { p50: [] as number[], rps: [] as number[], perClient: [] as number[] }]));
  try {
    // Warm-up: JIT and connections; it also fills the cache variant's cache (steady state is what it is for).
    for (const p of procs) await callMany({ url: () => `${p.url}/v1/dash/1`, calls: 200, concurrency: 50 });
    for (let round = 1; round <= s.rounds; round++) {
      for (const p of procs) {
        await fetch(`${upstreams.faulty}/__stats/reset`).then((r) => r.text());
        const r = await callMany({ url: () => `${p.url}/v1/dash/1`, calls: CLIENTS * WAVES, concurrency: CLIENTS, maxSeconds: 60 });
        const seen = await stats();
        const upstreamRequests = CALLS.reduce((n, c) => n + (seen[`${p.variant.tag}-${c}`]?.requests ?? 0), 0);
        const sample = samples.get(p.variant.tag);
        sample?.p50.push(r.p50);
        sample?.rps.push(r.ok / r.seconds);
        sample?.perClient.push(upstreamRequests / Math.max(1, r.calls));
        ctx.log(
          `12 coalescing · round ${round}/${s.rounds} · ${p.variant.name}: ${r.ok}/${r.calls} ok, p50 ${r.p50.toFixed(1)} ms, ` +
            `${(r.ok / r.seconds).toFixed(0)} req/s, ${(upstreamRequests / Math.max(1, r.calls)).toFixed(3)} upstream requests per client request`,
        );
      }
    }
  } finally {
    await Promise.all(procs.map((p) => p.child.stop()));
  }
  const base = samples.get(VARIANTS[0]?.tag ?? '');
  const rows: Row[] = VARIANTS.map((v) => {
    const x = samples.get(v.tag);
    const isBase = v === VARIANTS[0];
    return {
      label: v.name,
      cells: {
        perClient: figure(x?.perClient ?? []),
        p50: figure(x?.p50 ?? []),
        rps: figure(x?.rps ?? []),
        p50x: isBase ? null : ratio(x?.p50 ?? [], base?.p50 ?? []),
        rpsx: isBase ? null : ratio(x?.rps ?? [], base?.rps ?? []),
      },
    };
  });
  const med = (tag: string, key: 'perClient' | 'rps'): number => figure(samples.get(tag)?.[key] ?? []).median;
  return {
    id: 12,
    title: 'Coalescing and caching',
    measures:
      `${CLIENTS} clients ask for the same dashboard (three calls, upstreams answering after ${DELAY_MS} ms) at the same moment, ` +
      `${WAVES} times each over kept-alive connections, per round, against three Tributary processes: coalescing off (the ` +
      'baseline), coalescing on, and coalescing with a 30 s cache (warm: the warm-up filled it). Upstream requests per client ' +
      'request (3.00 without coalescing), p50 and requests per second, and their ratios to the baseline.',
    status: 'ok',
    tables: [
      {
        caption: `${CLIENTS} concurrent clients, one dashboard`,
        columns: [
          { key: 'perClient', label: 'upstream requests per client request', kind: 'ratio' },
          { key: 'p50', label: 'p50 ms', kind: 'ms' },
          { key: 'rps', label: 'requests/s', kind: 'rps' },
          { key: 'p50x', label: 'p50 ÷ baseline', kind: 'ratio' },
          { key: 'rpsx', label: 'requests/s ÷ baseline', kind: 'ratio' },
        ],
        rows,
      },
    ],
    summary: [
      `Upstream requests per client request: ${med('c7off', 'perClient').toFixed(2)} without coalescing, ` +
        `${med('c7on', 'perClient').toFixed(3)} with it, ${med('c7cache', 'perClient').toFixed(3)} with the cache; ` +
        `requests/s ×${(med('c7on', 'rps') / med('c7off', 'rps')).toFixed(2)} and ×${(med('c7cache', 'rps') / med('c7off', 'rps')).toFixed(2)} the baseline.`,
    ],
    notes: ['Coalescing is per process: N instances send up to N requests per key at once; the Redis cache is what they share.'],
    seconds: (performance.now() - t0) / 1000,
  };
}

async function start(variant: Variant, faulty: string, tmpDir: string): Promise<Running> {
  const port = await freePort();
  const upstream = (call: string) => ({
    baseUrl: `${faulty}/slowtail/1/${DELAY_MS}/${variant.tag}-${call}`,
    timeoutMs: 5000,
    maxConcurrency: 2000,
    maxQueue: 5000,
    ...variant.upstream,
  });
  const config = {
    upstreams: Object.fromEntries(CALLS.map((c) => [c, upstream(c)])),
    endpoints: [
      {
        path: '/v1/dash/:id',
        deadlineMs: 10_000,
        calls: Object.fromEntries(CALLS.map((c) => [c, { upstream: c, path: `/${c}/{params.id}` }])),
      },
    ],
  };
  const file = join(tmpDir, `coalescing-${variant.tag}.json`);
  writeFileSync(file, JSON.stringify(config));
  const env = { PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production', TRIBUTARY_CONFIG: file, TRIBUTARY_MAX_IN_FLIGHT: '5000', TRIBUTARY_ACCESS_LOG: '0' };
  const child = spawnNode(variant.tag, join(ROOT, 'src/node.ts'), env);
  const url = `http://127.0.0.1:${port}`;
  // Generous: three processes start at once on a machine that may be busy.
  await waitForHttp(child, `${url}/v1/dash/1`, (body) => (body as { meta?: { complete?: boolean } }).meta?.complete === true, 60_000);
  return { variant, child, url };
}
