/**
 * Scenario 6: retries, the retry budget, the circuit breaker and hedging against misbehaving
 * upstreams (bench/upstream.ts, "faulty"): a fixed number of client calls per case, the client's
 * view (success rate, latency) and the upstream's (requests received per client call).
 */
import { callMany, type CallsResult } from '../lib/calls.ts';
import type { Ctx } from '../lib/context.ts';
import {
  DOWN_CASES,
  FLAKY_CASES,
  FLAKY_RATE,
  HEDGE_AFTER_MS,
  SLOW_CASES,
  SLOW_MS,
  SLOW_SHARE,
  startResilienceContenders,
  type Case,
  type ResilienceProcess,
} from '../lib/resilience-contenders.ts';
import type { Chart, Row, ScenarioResult, Table } from '../lib/result.ts';
import { figure, ratio, type Figure } from '../lib/stats.ts';

/** Client connections for the flaky and outage cases (throughput matters little there), and for the slow tail (light load, so latency is the upstream's and the policy's, not queueing). */
const CONNECTIONS = 50;
const SLOW_CONNECTIONS = 10;
/** Calls to each slow-tail case before it is measured: connections open, and the p95 window filled (it hedges from 20 samples). */
const SLOW_WARMUP_CALLS = 100;
/** Calls to /v1/ok on each process before the first case, when the run warms up. */
const OK_WARMUP_CALLS = 500;
/** The retry budget's defaults: retries may add 0.2 of the calls plus 5 per second over a 10 s window. */
const BUDGET_RATIO = 0.2;
const BUDGET_FLOOR = 5 * 10;
/** Short names of the slow-tail cases for the chart's legend. */
const SLOW_SERIES = ['no hedge', `hedge after ${HEDGE_AFTER_MS} ms`, 'hedge after p95'];
/** No case keeps calling past this, whatever its count. */
const MAX_SECONDS = 60;

interface Sample {
  calls: number;
  ok: number;
  /** Requests the upstream received for this case. */
  upstream: number;
  p50: number;
  p99: number;
  /** Latency of every answer, failures included. */
  allP50: number;
  statuses: Record<string, number>;
}

type FaultyStats = Record<string, { requests: number; failed: number; slow: number } | undefined>;

export async function resilience(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s } = ctx;
  const calls = s.resilienceCalls;
  const faulty = ctx.upstreams.faulty;
  const stats = async (): Promise<FaultyStats> => (await fetch(`${faulty}/__stats`)).json() as Promise<FaultyStats>;
  const samples = new Map<string, Sample[]>();

  const measure = async (procs: ResilienceProcess[], c: Case, connections: number, n: number, record: boolean): Promise<Sample> => {
    const base = `${procs.find((p) => p.name === c.contender)?.url ?? ''}${c.path}`;
    const before = (await stats())[c.tag]?.requests ?? 0;
    const r: CallsResult = await callMany({ url: (i) => `${base}${(i % 1000) + 1}`, calls: n, concurrency: connections, maxSeconds: MAX_SECONDS });
    const upstream = ((await stats())[c.tag]?.requests ?? 0) - before;
    const sample: Sample = { calls: r.calls, ok: r.ok, upstream, p50: r.p50, p99: r.p99, allP50: r.allP50, statuses: r.statuses };
    if (record) samples.set(c.tag, [...(samples.get(c.tag) ?? []), sample]);
    return sample;
  };

  for (let round = 1; round <= s.rounds; round++) {
    // Fresh processes every round: retry budgets, breakers and latency windows start empty, and a
    // new seed gives the flaky and slow upstreams a new (but for every tag the same) sequence.
    await fetch(`${faulty}/__stats/reset?seed=${round}`).then((r) => r.text());
    const procs = await startResilienceContenders(faulty, ctx.tmpDir);
    if (round === 1) ctx.log(`started ${procs.map((p) => `${p.name} (pid ${p.child.pid})`).join(', ')}`);
    try {
      if (s.warmupS > 0) {
        // Count-based, not s.warmupS long: JIT warm-up for the processes, not the faulty upstream.
        for (const p of procs) await callMany({ url: (i) => `${p.url}/v1/ok/${(i % 1000) + 1}`, calls: OK_WARMUP_CALLS, concurrency: SLOW_CONNECTIONS });
      }
      for (const c of [...FLAKY_CASES, ...DOWN_CASES]) {
        const r = await measure(procs, c, CONNECTIONS, calls, true);
        ctx.log(
          `6 resilience · round ${round}/${s.rounds} · ${c.tag}: ${pct(r.ok / r.calls)} ok, ` +
            `${(r.upstream / r.calls).toFixed(3)} upstream requests per call, p50 ${r.allP50.toFixed(1)} ms`,
        );
      }
      for (const c of SLOW_CASES) {
        await measure(procs, c, SLOW_CONNECTIONS, SLOW_WARMUP_CALLS, false);
        const r = await measure(procs, c, SLOW_CONNECTIONS, calls, true);
        ctx.log(
          `6 resilience · round ${round}/${s.rounds} · ${c.tag}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, ` +
            `${(r.upstream / r.calls).toFixed(3)} upstream requests per call${r.ok < r.calls ? `, ${r.calls - r.ok} failed` : ''}`,
        );
      }
    } finally {
      await Promise.all(procs.map((p) => p.child.stop()));
    }
  }

  const series = (tag: string, pick: (x: Sample) => number): number[] => (samples.get(tag) ?? []).map(pick);
  const success = (x: Sample): number => (100 * x.ok) / x.calls;
  const perCall = (x: Sample): number => x.upstream / x.calls;
  const failedCalls = (tag: string): number => (samples.get(tag) ?? []).reduce((n, x) => n + x.calls - x.ok, 0);
  const label = (c: Case): string => (c.contender === 'tributary' ? `**${c.label}**` : c.label);
  const [flakyOff, flakyRetry, flakyNaive] = FLAKY_CASES as [Case, Case, Case];
  const [downBudget, downBreaker, downNaive] = DOWN_CASES as [Case, Case, Case];
  const [slowOff, slowFixed, slowP95] = SLOW_CASES as [Case, Case, Case];

  const flakyRows: Row[] = FLAKY_CASES.map((c) => ({
    label: label(c),
    cells: {
      success: figure(series(c.tag, success)),
      successx: c === flakyOff ? null : ratio(series(c.tag, success), series(flakyOff.tag, success)),
      perCall: figure(series(c.tag, perCall)),
      failed: failedCalls(c.tag),
    },
  }));
  const bound = 1 + BUDGET_RATIO + BUDGET_FLOOR / calls;
  const downRows: Row[] = DOWN_CASES.map((c) => ({
    label: label(c),
    cells: {
      perCall: figure(series(c.tag, perCall)),
      x: c === downNaive ? null : ratio(series(c.tag, perCall), series(downNaive.tag, perCall)),
      p50: figure(series(c.tag, (x) => x.allP50)),
      success: figure(series(c.tag, success)),
    },
  }));
  const slowRows: Row[] = SLOW_CASES.map((c) => ({
    label: label(c),
    cells: {
      p50: figure(series(c.tag, (x) => x.p50)),
      p99: figure(series(c.tag, (x) => x.p99)),
      p99x: c === slowOff ? null : ratio(series(c.tag, (x) => x.p99), series(slowOff.tag, (x) => x.p99)),
      perCall: figure(series(c.tag, perCall)),
      extra: c === slowOff ? null : ratio(series(c.tag, perCall), series(slowOff.tag, perCall)),
      failed: failedCalls(c.tag),
    },
  }));

  const tables: Table[] = [
    {
      caption: `Upstream failing ${pct(FLAKY_RATE)} of requests with 503, ${calls} calls per case, ${CONNECTIONS} connections`,
      columns: [
        { key: 'success', label: 'success %', kind: 'ms' },
        { key: 'successx', label: 'success ÷ no retry', kind: 'ratio' },
        { key: 'perCall', label: 'upstream requests per call', kind: 'cpu' },
        { key: 'failed', label: 'failed calls (all rounds)', kind: 'count' },
      ],
      rows: flakyRows,
    },
    {
      caption: `Total outage (503 always), ${calls} calls per case, ${CONNECTIONS} connections`,
      columns: [
        { key: 'perCall', label: 'upstream requests per call', kind: 'cpu' },
        { key: 'x', label: 'requests ÷ naive-retry', kind: 'ratio' },
        { key: 'p50', label: 'p50 ms to the error', kind: 'ms' },
        { key: 'success', label: 'success %', kind: 'ms' },
      ],
      rows: downRows,
    },
    {
      caption: `Slow tail: ${pct(SLOW_SHARE)} of answers after ${SLOW_MS} ms, the rest after 2–5 ms; ${calls} calls per case, ${SLOW_CONNECTIONS} connections`,
      columns: [
        { key: 'p50', label: 'p50 ms', kind: 'ms' },
        { key: 'p99', label: 'p99 ms', kind: 'ms' },
        { key: 'p99x', label: 'p99 ÷ no hedge', kind: 'ratio' },
        { key: 'perCall', label: 'upstream requests per call', kind: 'cpu' },
        { key: 'extra', label: 'upstream load ÷ no hedge', kind: 'ratio' },
        { key: 'failed', label: 'failed calls (all rounds)', kind: 'count' },
      ],
      rows: slowRows,
    },
  ];

  const med = (rows: Row[], c: Case, key: string): Figure | undefined => {
    const cases = rows === flakyRows ? FLAKY_CASES : rows === downRows ? DOWN_CASES : SLOW_CASES;
    const cell = rows[cases.indexOf(c)]?.cells[key];
    return cell && typeof cell === 'object' ? cell : undefined;
  };
  const m = (f: Figure | undefined, digits = 2): string => (f ? f.median.toFixed(digits) : '–');
  const range = (f: Figure | undefined): string => (f ? `[${f.min.toFixed(2)}–${f.max.toFixed(2)}]` : '');
  const summary = [
    `${pct(FLAKY_RATE)} of requests fail with 503: with \`retry: {}\` ${m(med(flakyRows, flakyRetry, 'success'), 1)} % of client calls ` +
      `succeed against ${m(med(flakyRows, flakyOff, 'success'), 1)} % without (×${m(med(flakyRows, flakyRetry, 'successx'))} ` +
      `${range(med(flakyRows, flakyRetry, 'successx'))}), at ${m(med(flakyRows, flakyRetry, 'perCall'), 3)} upstream requests per call; ` +
      `the naive loop gets ${m(med(flakyRows, flakyNaive, 'success'), 1)} % at ${m(med(flakyRows, flakyNaive, 'perCall'), 3)}.`,
    `Total outage: Tributary's retries with the default budget send ${m(med(downRows, downBudget, 'perCall'), 3)} upstream requests ` +
      `per client call, ×${m(med(downRows, downBudget, 'x'))} ${range(med(downRows, downBudget, 'x'))} the naive loop's ` +
      `${m(med(downRows, downNaive, 'perCall'), 2)} (the budget's bound here: ${bound.toFixed(3)}); with a circuit breaker too, ` +
      `${m(med(downRows, downBreaker, 'perCall'), 3)} (×${m(med(downRows, downBreaker, 'x'), 3)}).`,
    `Slow tail: p99 ${m(med(slowRows, slowOff, 'p99'), 0)} ms with no hedge, ${m(med(slowRows, slowFixed, 'p99'), 1)} ms with a ` +
      `${HEDGE_AFTER_MS} ms hedge (×${m(med(slowRows, slowFixed, 'p99x'))}, ${m(med(slowRows, slowFixed, 'perCall'), 3)} upstream requests per call) ` +
      `and ${m(med(slowRows, slowP95, 'p99'), 1)} ms with a p95 hedge (×${m(med(slowRows, slowP95, 'p99x'))}, ` +
      `${m(med(slowRows, slowP95, 'perCall'), 3)} requests per call).`,
  ];
  const chart: Chart = {
    title: `Scenario 6: slow tail (${pct(SLOW_SHARE)} of answers after ${SLOW_MS} ms), client latency (log scale, lower is better)`,
    unit: 'ms',
    log: true,
    groups: (['p50', 'p99'] as const).map((key) => ({
      label: key,
      bars: SLOW_CASES.map((c, i) => ({ series: SLOW_SERIES[i] ?? c.tag, value: figure(series(c.tag, (x) => x[key])) })),
    })),
  };

  return {
    id: 6,
    title: 'Resilience',
    measures:
      `Tributary against misbehaving loopback upstreams, ${calls} client calls per case (GET /v1/<case>/:id, one required ` +
      `call, so the client sees 200 or 502), fresh processes every round (warmed by ${OK_WARMUP_CALLS} calls to a healthy endpoint unless \`BENCH_WARMUP_S=0\`), Tributary with \`TRIBUTARY_ACCESS_LOG=0\`. Each policy is configured as a user would, ` +
      `with the defaults (\`retry: {}\`: 3 attempts, backoff 50 ms with full jitter, budget 0.2 of the calls + 5/s over ` +
      `10 s; \`circuitBreaker: {}\`: opens at 50 % failures over at least 20 calls, for 5 s). The upstream counts the ` +
      `requests it receives per case. Baseline: \`naive-retry\` (bench/baselines/naive-retry.ts), Hono + undici with ` +
      `the retry loop people write by hand: 3 tries on a 5xx or network error, the same backoff, no budget. ` +
      `(1) An upstream failing ${pct(FLAKY_RATE)} of requests with 503 (seeded PRNG): success rate and upstream requests ` +
      `per call. (2) A total outage: upstream requests per client call. (3) A slow tail, ${pct(SLOW_SHARE)} of answers ` +
      `after ${SLOW_MS} ms: client p50/p99 with no hedge, a ${HEDGE_AFTER_MS} ms hedge and a p95 hedge, after ` +
      `${SLOW_WARMUP_CALLS} unmeasured calls each, and what each costs the upstream.`,
    status: 'ok',
    tables,
    summary,
    notes: [
      `The retry budget's floor is per window: 5/s × 10 s = ${BUDGET_FLOOR} retries on top of 0.2 per call, so over ${calls} ` +
        `calls inside one window an outage costs at most 1 + 0.2 + ${BUDGET_FLOOR} ÷ ${calls} = ${bound.toFixed(3)} requests per ` +
        `call; over a longer outage the floor's share shrinks towards 1.2 + 5 ÷ (calls per second). Against ${pct(FLAKY_RATE)} ` +
        `failures, three tries want about ${(FLAKY_RATE + FLAKY_RATE ** 2).toFixed(2)} retries per call and the budget allows ` +
        `${(BUDGET_RATIO + BUDGET_FLOOR / calls).toFixed(3)} here; Tributary spent ` +
        `${((med(flakyRows, flakyRetry, 'perCall')?.median ?? Number.NaN) - 1).toFixed(3)}.`,
      `The flaky and outage cases drive ${CONNECTIONS} connections in a closed loop, enough to keep the 2-core machine busy: ` +
        `"p50 ms to the error" includes queueing and only compares the rows with each other (the naive loop's is mostly ` +
        `its backoff sleeps). The slow-tail cases use ${SLOW_CONNECTIONS} connections so latency is the upstream's and the hedge's.`,
    ],
    chart,
    seconds: (performance.now() - t0) / 1000,
    extra: { samples: Object.fromEntries(samples), calls, connections: CONNECTIONS, slowConnections: SLOW_CONNECTIONS },
  };
}

function pct(share: number): string {
  return `${+(share * 100).toFixed(2)} %`;
}
