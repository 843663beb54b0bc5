/**
 * `npm run bench:overload`: goodput and latency of the Node process at a multiple of its
 * capacity, without load shedding and with it, in the same run. Not part of `npm test`.
 *
 *   1. capacity: 64 clients in a closed loop against a fresh gateway: 200s per second;
 *   2. for each limit (default: TRIBUTARY_MAX_IN_FLIGHT=1000000, i.e. none, then the default
 *      derived from the config), a fresh gateway, 2 s of warm-up, `connections` client
 *      connections opened, then an open loop at `factor` × capacity for `seconds` over them,
 *      each request timed from its scheduled start and given up after 10 s.
 *
 * Goodput: 200s answered within the endpoint's deadline (1.5 s), per second of load. Drain: from
 * the end of the load to the last answer. The gateway and the upstream (answers of 0.6, 8 and
 * 16 KB after 5, 10 and 20 ms, so that the gateway's CPU, not this process's, is the limit) run in
 * processes of their own; this process only sends. Figures from a shared or busy machine
 * are noise: the load average is printed before and after.
 *
 *   npm run bench:overload -- [--seconds 20] [--factor 3] [--connections 1000] [--capacity N] [--limits 1000000,default,200]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { closedLoop, loadClient, openLoop, percentile, type Shot } from './lib/load.ts';
import { defaultMaxInFlight } from '../src/routes/admission.ts';
import { compilePlan } from '../src/services/plan/index.ts';
import { cpuMs, exitOnSignals, freePort, loadAverage, sampleRss, startChild, startUpstreamProcess, type Child } from './lib/processes.ts';

const DEADLINE_MS = 1500;
const TIMEOUT_MS = 10_000;
const STEADY_AFTER_S = 5;

function settings() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '20' },
      factor: { type: 'string', default: '3' },
      connections: { type: 'string', default: '1000' },
      capacity: { type: 'string' },
      limits: { type: 'string', default: '1000000,default' },
    },
  });
  const seconds = Number(values.seconds);
  const factor = Number(values.factor);
  const connections = Number(values.connections);
  if (!(Number.isInteger(seconds) && seconds >= 5 && seconds <= 600)) throw new Error(`--seconds must be a whole number from 5 to 600, got ${values.seconds}`);
  if (!(factor > 0 && factor <= 10)) throw new Error(`--factor must be a number in (0, 10], got ${values.factor}`);
  if (!(Number.isInteger(connections) && connections >= 1 && connections <= 10_000)) throw new Error(`--connections must be a whole number from 1 to 10000, got ${values.connections}`);
  const capacity = values.capacity === undefined ? undefined : Number(values.capacity);
  return { seconds, factor, connections, capacity, limits: values.limits.split(',').map((l) => l.trim()) };
}

/** A dashboard like the demo's: a required profile and two optional calls, all on loopback. */
function config(upstream: string) {
  return {
    upstreams: {
      users: { baseUrl: upstream, maxConcurrency: 100 },
      orders: { baseUrl: upstream, maxConcurrency: 100 },
      recs: { baseUrl: upstream, maxConcurrency: 100 },
    },
    endpoints: [
      {
        path: '/v1/dashboard/:id',
        deadlineMs: DEADLINE_MS,
        input: { params: { id: { type: 'string', pattern: '^[0-9]+$' } } },
        calls: {
          profile: { upstream: 'users', path: '/delay/5/{params.id}', required: true },
          orders: { upstream: 'orders', path: '/blob/8/10/{params.id}' },
          recs: { upstream: 'recs', path: '/blob/16/20/{params.id}', fallback: [] },
        },
      },
    ],
  };
}

const pct = (share: number): string => (share * 100).toFixed(0);

let n = 0;
const next = (): Shot => ({ tag: '', path: `/v1/dashboard/${(n++ % 100_000) + 1}` });

async function startGateway(configFile: string, limit: string): Promise<{ child: Child; base: string; limit: string }> {
  const port = await freePort();
  const child = startChild('src/node.ts', {
    TRIBUTARY_CONFIG: configFile,
    PORT: String(port),
    TRIBUTARY_ACCESS_LOG: '0',
    TRIBUTARY_LOG_LEVEL: 'warn',
    ...(limit === 'default' ? {} : { TRIBUTARY_MAX_IN_FLIGHT: limit }),
  });
  const base = `http://127.0.0.1:${port}`;
  const until = performance.now() + 15_000;
  while (performance.now() < until) {
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { child, base, limit };
    if (child.proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the gateway did not start: ${child.stderr()}`);
}

interface Row {
  limit: string;
  offered: number;
  ok: number;
  goodput: number;
  shed: number;
  other: number;
  lost: number;
  p50: number;
  p99: number;
  /** p99 of the 200s scheduled after the first STEADY_AFTER_S seconds (connections opened, backlog of the start gone or not). */
  steadyP99: number;
  shedP99: number;
  peakRss: number;
  drainS: number;
  /** CPU used during the load, as a share of one core: the gateway, the upstream, this process. */
  cpu: { gateway: number; upstream: number; driver: number };
}

async function overload(configFile: string, limit: string, rate: number, seconds: number, connections: number, upstreamPid: number): Promise<Row> {
  const gateway = await startGateway(configFile, limit);
  try {
    const warm = loadClient(32);
    await closedLoop(gateway.base, warm, 32, 2, next);
    await warm.close();
    const client = loadClient(connections);
    // Open the client's connections before the load (as a load balancer's pool has them), so
    // the figures are about requests, not about a storm of TCP handshakes at the start.
    await Promise.all(Array.from({ length: connections }, () => client.send(gateway.base, { tag: '', path: '/healthz' }, performance.now(), TIMEOUT_MS)));
    const okLatencies: number[] = [];
    const steadyLatencies: number[] = [];
    const steadyFrom = performance.now() + STEADY_AFTER_S * 1000;
    const shedLatencies: number[] = [];
    let good = 0;
    let other = 0;
    let lost = 0;
    const rss = sampleRss(gateway.child.pid);
    const cpuBefore = { gateway: cpuMs(gateway.child.pid), upstream: cpuMs(upstreamPid), driver: cpuMs(process.pid), at: performance.now() };
    const result = await openLoop({
      base: gateway.base,
      client,
      rate,
      seconds,
      timeoutMs: TIMEOUT_MS,
      next,
      onAnswer: (a) => {
        if (a.status === 200) {
          okLatencies.push(a.latencyMs);
          if (a.startedAt >= steadyFrom) steadyLatencies.push(a.latencyMs);
          if (a.latencyMs <= DEADLINE_MS) good++;
        } else if (a.status === 503) shedLatencies.push(a.latencyMs);
        else if (a.status === 0) lost++;
        else other++;
      },
    });
    const peakRss = rss.stop();
    const wall = performance.now() - cpuBefore.at;
    const cpu = {
      gateway: (cpuMs(gateway.child.pid) - cpuBefore.gateway) / wall,
      upstream: (cpuMs(upstreamPid) - cpuBefore.upstream) / wall,
      driver: (cpuMs(process.pid) - cpuBefore.driver) / wall,
    };
    await client.close();
    okLatencies.sort((a, b) => a - b);
    steadyLatencies.sort((a, b) => a - b);
    shedLatencies.sort((a, b) => a - b);
    return {
      limit,
      offered: result.sent / seconds,
      ok: okLatencies.length / seconds,
      goodput: good / seconds,
      shed: shedLatencies.length / seconds,
      other,
      lost,
      p50: percentile(okLatencies, 50),
      p99: percentile(okLatencies, 99),
      steadyP99: percentile(steadyLatencies, 99),
      shedP99: percentile(shedLatencies, 99),
      peakRss,
      drainS: (result.lastAnswerAt - result.loadEndedAt) / 1000,
      cpu,
    };
  } finally {
    await gateway.child.stop(5000);
  }
}

async function main(): Promise<void> {
  exitOnSignals();
  const s = settings();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-overload-'));
  const upstream = await startUpstreamProcess();
  const configFile = join(dir, 'overload.config.json');
  await writeFile(configFile, JSON.stringify(config(upstream.url)));
  const derived = defaultMaxInFlight(compilePlan(config(upstream.url)));
  const loadBefore = loadAverage();
  try {
    let capacity = s.capacity;
    if (capacity === undefined) {
      const gateway = await startGateway(configFile, 'default');
      const client = loadClient(64);
      await closedLoop(gateway.base, client, 64, 2, next);
      capacity = await closedLoop(gateway.base, client, 64, 5, next);
      await client.close();
      await gateway.child.stop(5000);
    }
    const rate = Math.round(capacity * s.factor);
    console.error(`capacity ${Math.round(capacity)} req/s; offering ${rate} req/s (×${s.factor}) for ${s.seconds} s from up to ${s.connections} connections`);
    const rows: Row[] = [];
    for (const limit of s.limits) {
      const row = await overload(configFile, limit, rate, s.seconds, s.connections, upstream.child.pid);
      console.error(`  limit ${limit}: goodput ${row.goodput.toFixed(0)}/s, p99 ${row.p99.toFixed(0)} ms`);
      rows.push(row);
    }
    const loadAfter = loadAverage();
    const cells = (r: Row): string[] => [
      r.offered.toFixed(0), r.ok.toFixed(0), r.goodput.toFixed(0), r.shed.toFixed(0), String(r.other), String(r.lost),
      r.p50.toFixed(0), r.p99.toFixed(0), r.steadyP99.toFixed(0), Number.isNaN(r.shedP99) ? '-' : r.shedP99.toFixed(1), r.peakRss.toFixed(0), r.drainS.toFixed(1),
      `${pct(r.cpu.gateway)} / ${pct(r.cpu.upstream)} / ${pct(r.cpu.driver)}`,
    ];
    const header = ['offered/s', '200/s', 'goodput/s', '503/s', '5xx other', 'no answer', 'p50 ms', 'p99 ms', `p99 ms after ${STEADY_AFTER_S} s`, '503 p99 ms', 'peak RSS MB', 'drain s', 'CPU % gateway / upstream / driver'];
    const line = (label: string, values: string[]): string => `| ${label} | ${values.join(' | ')} |`;
    console.log(`capacity ${Math.round(capacity)} req/s (64 clients, closed loop); ${s.factor}× = ${rate} req/s open loop for ${s.seconds} s; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
    console.log(line('TRIBUTARY_MAX_IN_FLIGHT', header));
    console.log(line('---', header.map(() => '---:')));
    for (const r of rows) console.log(line(r.limit === 'default' ? `default (${derived})` : r.limit, cells(r)));
    // Before: the first variant (no limit by default); after: the default limit when it ran, else the last.
    const [before, after] = [rows[0], rows.find((r) => r.limit === 'default') ?? rows.at(-1)];
    if (before && after && before !== after) {
      console.log(
        `after ÷ before: goodput ×${(after.goodput / before.goodput).toFixed(2)}, p99 of 200s ×${(after.p99 / before.p99).toFixed(3)} ` +
          `(after ${STEADY_AFTER_S} s: ×${(after.steadyP99 / before.steadyP99).toFixed(3)}), ` +
          `peak RSS ×${(after.peakRss / before.peakRss).toFixed(2)}, drain ${before.drainS.toFixed(1)} s → ${after.drainS.toFixed(1)} s`,
      );
    }
  } finally {
    await upstream.child.stop(2000);
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 2;
}
