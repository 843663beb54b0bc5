/**
 * Scenario 8: the asyncio articles' two experiments, through Tributary, and adaptive concurrency
 * measured against fixed limits in the same run:
 *   a. sequential vs concurrent: a call of 2 s and one of 3 s (scaled by BENCH_SEQ_SCALE), the
 *      second depending on the first (≈ the sum) or independent (≈ the longer);
 *   b. 1000 calls in one request against the degrading upstream (bench/DEGRADING.md) with the
 *      upstream's bulkhead unlimited, 100, 50, 10 and adaptive; and against the polite (queueing)
 *      upstream, unlimited and adaptive;
 *   c. steady load, many clients, 3 calls each, against the degrading upstream: a limit that is
 *      too high, one that is too low, and adaptive.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR } from '../lib/contenders.ts';
import type { Ctx } from '../lib/context.ts';
import { DEFAULT_MODEL, QUEUEING_MODEL } from '../lib/degrading-model.ts';
import type { DegradingStats } from '../lib/degrading-upstream.ts';
import { load } from '../lib/load.ts';
import { memoryMb, resetPeak, sampleRss } from '../lib/proc-stats.ts';
import { freePort, spawnNode, waitForHttp, type NodeChild } from '../lib/processes.ts';
import type { Row, ScenarioResult } from '../lib/result.ts';
import { figure, ratio, type Figure } from '../lib/stats.ts';

const CALLS = 1000;
const ADAPTIVE = { min: 4, max: 1000, initial: 32 };
/** Fixed limits of the 1000-call fan-out; 0 is unlimited (a bulkhead no fan-out fills). */
const FIXED = [0, 100, 50, 10];
const DEGRADING_VARIANTS = [...FIXED.map(String), 'adaptive'];
const POLITE_VARIANTS = ['0', 'adaptive'];
/** Steady load: too high (never limits), too low, adaptive. */
const STEADY = { high: 1000, low: 25 } as const;
const STEADY_VARIANTS = ['high', 'low', 'adaptive'];
const STEADY_CONNECTIONS = 300;

interface Shot {
  ms: number;
  errors: number;
  upstreamPeak: number;
  peakRssMb: number;
}

const variantLabel = (v: string): string => (v === '0' ? 'unlimited' : v === 'adaptive' ? 'adaptive' : `limit ${v}`);

export async function concurrency(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s } = ctx;
  const firstMs = Math.round(2000 * s.seqScale);
  const secondMs = Math.round(3000 * s.seqScale);
  const gateway = await startGateway(ctx, firstMs, secondMs);
  const seq: number[] = [];
  const par: number[] = [];
  const shots = new Map<string, Shot[]>();
  const steady = new Map<string, { p99: number[]; errorRate: number[]; rps: number[] }>();
  const push = (key: string, shot: Shot): void => void shots.set(key, [...(shots.get(key) ?? []), shot]);
  try {
    // Warm-up: every endpoint once or more, so adaptive limits start each round where a running
    // gateway would have them (they are per process on Node), and V8 has compiled the paths.
    await timed(`${gateway.url}/v1/seq/1`);
    await timed(`${gateway.url}/v1/par/1`);
    for (const v of DEGRADING_VARIANTS) for (let i = 0; i < (v === 'adaptive' ? 4 : 1); i++) await fanOut(ctx, gateway, 'deg', v);
    for (const v of POLITE_VARIANTS) for (let i = 0; i < (v === 'adaptive' ? 4 : 1); i++) await fanOut(ctx, gateway, 'pol', v);

    for (let round = 1; round <= s.rounds; round++) {
      // Requests of the last load run may still be finishing in the gateway.
      await idle(ctx.upstreams.degrading);
      seq.push(await timed(`${gateway.url}/v1/seq/1`));
      par.push(await timed(`${gateway.url}/v1/par/1`));
      for (const v of DEGRADING_VARIANTS) push(`deg/${v}`, await fanOut(ctx, gateway, 'deg', v));
      for (const v of POLITE_VARIANTS) push(`pol/${v}`, await fanOut(ctx, gateway, 'pol', v));
      ctx.log(
        `8 concurrency · round ${round}/${s.rounds}: seq ${Math.round(seq.at(-1) ?? 0)} ms, par ${Math.round(par.at(-1) ?? 0)} ms; degrading ` +
          DEGRADING_VARIANTS.map((v) => `${variantLabel(v)} ${Math.round(shots.get(`deg/${v}`)?.at(-1)?.ms ?? 0)} ms`).join(', ') +
          `; polite ${POLITE_VARIANTS.map((v) => `${variantLabel(v)} ${Math.round(shots.get(`pol/${v}`)?.at(-1)?.ms ?? 0)} ms`).join(', ')}`,
      );
    }
    // Steady load last: what a load run leaves queued in the gateway must not slow the single requests above.
    await load({ url: `${gateway.url}/v1/steady/adaptive?ids=1,2,3`, connections: STEADY_CONNECTIONS, durationS: Math.max(2, s.warmupS) });
    for (let round = 1; round <= s.rounds; round++) {
      for (const v of STEADY_VARIANTS) {
        // The last run's requests may still be finishing at the upstream: start from an idle one.
        await idle(ctx.upstreams.degrading);
        const r = await load({ url: `${gateway.url}/v1/steady/${v}?ids=1,2,3`, connections: STEADY_CONNECTIONS, durationS: steadyS(s.throughputDurationS) });
        const entry = steady.get(v) ?? { p99: [], errorRate: [], rps: [] };
        entry.p99.push(r.p99);
        entry.errorRate.push(r.responses > 0 ? r.failed / r.responses : 1);
        entry.rps.push(r.rps);
        steady.set(v, entry);
      }
      ctx.log(`8 concurrency · steady round ${round}/${s.rounds}: p99 ${STEADY_VARIANTS.map((v) => `${v} ${Math.round(steady.get(v)?.p99.at(-1) ?? 0)} ms`).join(', ')}`);
    }
  } finally {
    await gateway.child.stop();
  }
  return report(ctx, { firstMs, secondMs, seq, par, shots, steady, seconds: (performance.now() - t0) / 1000 });
}

interface Gateway {
  child: NodeChild;
  url: string;
}

/** One Tributary process with every endpoint of the scenario, its adaptive limits per process. */
async function startGateway(ctx: Ctx, firstMs: number, secondMs: number): Promise<Gateway> {
  const { upstreams: u } = ctx;
  const upstreams: Record<string, unknown> = {
    first: { baseUrl: `${u.users}/d/${firstMs}`, timeoutMs: 10_000 },
    second: { baseUrl: `${u.orders}/d/${secondMs}`, timeoutMs: 10_000 },
  };
  const concurrency = (v: string): Record<string, unknown> =>
    v === 'adaptive' ? { adaptiveConcurrency: ADAPTIVE } : { maxConcurrency: v === '0' ? 5000 : Number(v) };
  for (const v of DEGRADING_VARIANTS) upstreams[`deg-${v}`] = { baseUrl: u.degrading, timeoutMs: 10_000, maxQueue: 5000, ...concurrency(v) };
  for (const v of POLITE_VARIANTS) upstreams[`pol-${v}`] = { baseUrl: u.queueing, timeoutMs: 10_000, maxQueue: 5000, ...concurrency(v) };
  for (const v of STEADY_VARIANTS) {
    const limit = v === 'adaptive' ? { adaptiveConcurrency: ADAPTIVE } : { maxConcurrency: STEADY[v as keyof typeof STEADY] };
    upstreams[`steady-${v}`] = { baseUrl: u.degrading, timeoutMs: 10_000, maxQueue: 5000, ...limit };
  }
  const ids = { ids: { type: 'array', items: { type: 'string', pattern: '^[0-9]+$' }, maxItems: CALLS, required: true } };
  const fan = (prefix: string, v: string, required = false) => ({
    path: `/v1/${prefix}/${v}`,
    deadlineMs: 60_000,
    maxConcurrency: 100_000,
    input: { query: ids },
    calls: { items: { upstream: `${prefix}-${v}`, path: '/items/{item}', each: '{query.ids}', maxItems: CALLS, required } },
  });
  const config = {
    upstreams,
    endpoints: [
      {
        path: '/v1/seq/:id',
        deadlineMs: 30_000,
        input: { params: { id: { type: 'string' } } },
        // `b` uses a field of `a`'s result: it can only start once `a` is done.
        calls: { a: { upstream: 'first', path: '/u/{params.id}' }, b: { upstream: 'second', path: '/o/{calls.a.id}' } },
      },
      {
        path: '/v1/par/:id',
        deadlineMs: 30_000,
        input: { params: { id: { type: 'string' } } },
        calls: { a: { upstream: 'first', path: '/u/{params.id}' }, b: { upstream: 'second', path: '/o/{params.id}' } },
      },
      ...DEGRADING_VARIANTS.map((v) => fan('deg', v)),
      ...POLITE_VARIANTS.map((v) => fan('pol', v)),
      // Required calls: a failed one makes the response a 502, which the load generator counts.
      ...STEADY_VARIANTS.map((v) => fan('steady', v, true)),
    ],
  };
  const file = join(ctx.tmpDir, 'concurrency.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const port = await freePort();
  const child = spawnNode('tributary-concurrency', join(BENCH_DIR, '..', 'src/node.ts'), {
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ENV: 'production',
    TRIBUTARY_CONFIG: file,
    TRIBUTARY_ACCESS_LOG: '0',
    TRIBUTARY_LOG_LEVEL: 'warn',
    // Scenario 8 measures the bulkheads; the admission limit derived from them must not shed first.
    TRIBUTARY_MAX_IN_FLIGHT: '100000',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(child, `${url}/v1/par/1`, (body) => (body as { meta?: { complete?: boolean } }).meta?.complete === true);
  ctx.log(`started tributary for scenario 8 (pid ${child.pid})`);
  return { child, url };
}

/** Long enough that a too-low limit's slow responses arrive inside the run. */
const steadyS = (configured: number): number => Math.max(3, configured);

/** Waits until the upstream has nothing in flight (at most 10 s). */
async function idle(upstream: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const stats = (await fetch(`${upstream}/__stats`).then((r) => r.json())) as DegradingStats;
    if (stats.inFlight === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function timed(url: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { meta?: { complete?: boolean } };
  if (res.status !== 200 || body.meta?.complete !== true) throw new Error(`${url}: status ${res.status}, ${JSON.stringify(body).slice(0, 300)}`);
  return performance.now() - started;
}

/** One 1000-call request: wall time, failed calls, the upstream's peak in flight, the gateway's peak RSS. */
async function fanOut(ctx: Ctx, gateway: Gateway, prefix: 'deg' | 'pol', variant: string): Promise<Shot> {
  const stats = `${prefix === 'deg' ? ctx.upstreams.degrading : ctx.upstreams.queueing}/__stats`;
  await fetch(`${stats}/reset`).then((r) => r.text());
  const pid = gateway.child.pid;
  const reset = resetPeak(pid);
  const sampler = sampleRss(pid, 10);
  const ids = Array.from({ length: CALLS }, (_, i) => i + 1).join(',');
  const started = performance.now();
  const res = await fetch(`${gateway.url}/v1/${prefix}/${variant}?ids=${ids}`, { signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  const ms = performance.now() - started;
  const sampled = sampler.stop();
  const body = JSON.parse(text) as { data?: { items?: unknown[] }; errors?: unknown[] };
  if (res.status !== 200 || body.data?.items?.length !== CALLS) throw new Error(`/v1/${prefix}/${variant}: status ${res.status}, ${text.slice(0, 300)}`);
  const upstream = (await fetch(stats).then((r) => r.json())) as DegradingStats;
  return {
    ms,
    errors: body.errors?.length ?? 0,
    upstreamPeak: upstream.peakInFlight,
    peakRssMb: reset ? Math.max(sampled, memoryMb(pid).hwm) : sampled,
  };
}

interface Measured {
  firstMs: number;
  secondMs: number;
  seq: number[];
  par: number[];
  shots: Map<string, Shot[]>;
  steady: Map<string, { p99: number[]; errorRate: number[]; rps: number[] }>;
  seconds: number;
}

function report(ctx: Ctx, m: Measured): ScenarioResult {
  const { settings: s } = ctx;
  const model = DEFAULT_MODEL;
  const of = (key: string, pick: (x: Shot) => number): number[] => (m.shots.get(key) ?? []).map(pick);
  const fanRows = (prefix: string, variants: string[]): Row[] =>
    variants.map((v) => ({
      label: variantLabel(v),
      cells: {
        ms: figure(of(`${prefix}/${v}`, (x) => x.ms)),
        errors: figure(of(`${prefix}/${v}`, (x) => x.errors)),
        peak: figure(of(`${prefix}/${v}`, (x) => x.upstreamPeak)),
        rss: figure(of(`${prefix}/${v}`, (x) => x.peakRssMb)),
      },
    }));
  const fanColumns = [
    { key: 'ms', label: 'total ms', kind: 'ms' as const },
    { key: 'errors', label: 'upstream errors', kind: 'count' as const },
    { key: 'peak', label: 'peak in flight at the upstream', kind: 'count' as const },
    { key: 'rss', label: 'gateway peak RSS MB', kind: 'mb' as const },
  ];
  // Best fixed limit: the lowest median total time among the fixed limits that saw no errors.
  const fixedKeys = FIXED.map((v) => `deg/${v}`);
  const clean = fixedKeys.filter((k) => of(k, (x) => x.errors).every((e) => e === 0));
  const best = (clean.length > 0 ? clean : fixedKeys).reduce((a, b) => (figure(of(a, (x) => x.ms)).median <= figure(of(b, (x) => x.ms)).median ? a : b));
  const adaptiveVsBest = ratio(of('deg/adaptive', (x) => x.ms), of(best, (x) => x.ms));
  const adaptiveVsUnlimited = ratio(of('deg/adaptive', (x) => x.ms), of('deg/0', (x) => x.ms));
  const politeRatio = ratio(of('pol/adaptive', (x) => x.ms), of('pol/0', (x) => x.ms));
  const seqF = figure(m.seq);
  const parF = figure(m.par);
  const steadyRows: Row[] = STEADY_VARIANTS.map((v) => {
    const e = m.steady.get(v) ?? { p99: [], errorRate: [], rps: [] };
    return {
      label: v === 'adaptive' ? 'adaptive' : `limit ${STEADY[v as keyof typeof STEADY]} (${v === 'high' ? 'too high' : 'too low'})`,
      cells: { p99: figure(e.p99), errors: figure(e.errorRate.map((r) => r * 100)), rps: figure(e.rps) },
    };
  });
  const pct = (f: Figure): string => `${(f.median * 100 - 100).toFixed(0)}%`;
  const x = (f: Figure): string => `×${f.median.toFixed(2)}`;
  const steadyMedian = (v: string, k: 'p99' | 'errorRate'): number => figure(m.steady.get(v)?.[k] ?? []).median;
  return {
    id: 8,
    title: "Concurrency limits: the articles' experiments",
    measures:
      `(a) One request with two calls of ${m.firstMs} ms and ${m.secondMs} ms (the articles' 2 s and 3 s scaled by ${s.seqScale}): ` +
      `the second depending on the first, and independent. (b) One request of ${CALLS} calls against the degrading upstream ` +
      `(capacity ${model.capacity} at ${model.baseMs} ms, contention ${model.contention}, 503 past ${model.overloadAbove} in flight; bench/DEGRADING.md) ` +
      `with the upstream's bulkhead unlimited, at 100, 50, 10, and adaptive (${JSON.stringify(ADAPTIVE)}); and against the polite upstream ` +
      `(the same model with contention 1 and no refusals: ${QUEUEING_MODEL.capacity} at a time at ${QUEUEING_MODEL.baseMs} ms, the rest queue), unlimited and adaptive. Adaptive limits are per process: the ` +
      `gateway is warmed by a few requests first, as a running one would be. (c) Steady load, ${STEADY_CONNECTIONS} clients, 3 required calls ` +
      `each, against the degrading upstream: a limit too high (${STEADY.high}), too low (${STEADY.low}), and adaptive. One gateway process, ${s.rounds} rounds.`,
    status: 'ok',
    tables: [
      {
        caption: `(a) Sequential vs concurrent (expected ≈ ${m.firstMs + m.secondMs} ms and ≈ ${Math.max(m.firstMs, m.secondMs)} ms; articles: ≈ 5 s and ≈ 3 s)`,
        columns: [
          { key: 'expected', label: 'expected ms', kind: 'ms' },
          { key: 'ms', label: 'measured ms', kind: 'ms' },
        ],
        rows: [
          { label: 'dependent calls (sequential)', cells: { expected: m.firstMs + m.secondMs, ms: seqF } },
          { label: 'independent calls (concurrent)', cells: { expected: Math.max(m.firstMs, m.secondMs), ms: parF } },
        ],
      },
      { caption: `(b) ${CALLS} calls against the degrading upstream (articles: 8.5 s unlimited, 4.2 s at 100, 5.8 s at 50)`, columns: fanColumns, rows: fanRows('deg', DEGRADING_VARIANTS) },
      { caption: `(b) ${CALLS} calls against the polite (queueing) upstream`, columns: fanColumns, rows: fanRows('pol', POLITE_VARIANTS) },
      {
        caption: `(c) Steady load, ${STEADY_CONNECTIONS} clients × 3 calls, degrading upstream`,
        columns: [
          { key: 'p99', label: 'p99 ms', kind: 'ms' },
          { key: 'errors', label: 'failed responses %', kind: 'count' },
          { key: 'rps', label: 'ok responses/s', kind: 'rps' },
        ],
        rows: steadyRows,
      },
    ],
    summary: [
      `Sequential ${Math.round(seqF.median)} ms vs concurrent ${Math.round(parF.median)} ms (expected ${m.firstMs + m.secondMs} and ${Math.max(m.firstMs, m.secondMs)}): ×${(seqF.median / parF.median).toFixed(2)}; the articles: 5 s vs 3 s, ×1.67.`,
      `Degrading upstream, ${CALLS} calls: unlimited ${x(ratio(of('deg/0', (x) => x.ms), of(best, (x) => x.ms)))} the time of the best fixed limit (${variantLabel(best.split('/')[1] as string)}), with ${figure(of('deg/0', (x) => x.errors)).median} failed calls; the articles: unlimited ×2.0 the time at 100.`,
      `Adaptive ${x(adaptiveVsBest)} the time of the best fixed limit (goal: within 10%, ${adaptiveVsBest.median <= 1.1 ? 'met' : 'missed'}; ${pct(adaptiveVsBest)}) and ${x(adaptiveVsUnlimited)} the time of unlimited.`,
      `Polite upstream: adaptive ${x(politeRatio)} the time of unlimited (goal: within 10%, ${politeRatio.median <= 1.1 ? 'met' : 'missed'}).`,
      `Steady load: adaptive p99 ${Math.round(steadyMedian('adaptive', 'p99'))} ms and ${(steadyMedian('adaptive', 'errorRate') * 100).toFixed(1)}% failed, vs too high ${Math.round(steadyMedian('high', 'p99'))} ms and ${(steadyMedian('high', 'errorRate') * 100).toFixed(1)}%, too low ${Math.round(steadyMedian('low', 'p99'))} ms and ${(steadyMedian('low', 'errorRate') * 100).toFixed(1)}%.`,
    ],
    notes: [
      "The articles' figures are for their own rate-limited API over the internet; ours are loopback with short latencies, so compare shapes and ratios, not seconds.",
      'Upstream errors are 503s of the degrading upstream past its overload threshold; no call is retried here.',
    ],
    seconds: m.seconds,
    extra: { best, adaptive: ADAPTIVE, model },
  };
}
