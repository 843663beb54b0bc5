/**
 * `npm run bench:inflight`: the heap one request holds while its upstream calls are in flight,
 * Tributary against a tuned-like app (bench/baselines/tuned.ts's route: Hono, Promise.all, a
 * timeout signal per call), both in-process over upstreams held from memory. What every request
 * in flight holds is what 1000 connections multiply (scenario 5's peak RSS).
 *
 * Two cases, scenario 2's endpoint (3 calls): 60 requests, every call sent (each upstream's
 * bulkhead, 64 by default, has room); 1000 requests, most calls queued in the bulkheads, as under
 * scenario 5's load. Each case: N requests started, the heap measured after a full GC once the
 * upstreams have them all, then answered; three waves after two to warm up, median printed.
 *
 * @example
 * npm run bench:inflight
 * BENCH_BASE=/tmp/before npm run bench:inflight   # a second checkout too
 */
import { resolve } from 'node:path';
import { baseCheckout } from './lib/env-setting.ts';
import { inProcessGateway, tunedLikeApp } from './lib/in-process-app.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:inflight does)');

/** Upstream calls wait here until the wave is measured; then every call answers at once. */
let waiting: (() => void)[] = [];
let open = false;
const hold = (): Promise<void> => (open ? Promise.resolve() : new Promise((resolve) => waiting.push(resolve)));

interface App {
  fetch(request: Request): Response | Promise<Response>;
}

/** Bytes the heap holds per request with `count` requests in flight and `held` calls waiting upstream. */
async function wave(app: App, count: number, held: number): Promise<number> {
  const requests = Array.from({ length: count }, () => new Request('http://127.0.0.1:8787/v1/agg/1'));
  gc!();
  const before = process.memoryUsage().heapUsed;
  const answers = requests.map((request) => app.fetch(request));
  for (let i = 0; i < 500 && waiting.length < held; i++) await new Promise((r) => setTimeout(r, 10));
  if (waiting.length < held) throw new Error(`only ${waiting.length} of ${held} calls reached the upstreams`);
  gc!();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  open = true;
  const release = waiting;
  waiting = [];
  for (const answer of release) answer();
  for (const answer of answers) {
    const res = await answer;
    if (res.status !== 200) throw new Error(`answered ${res.status}: ${await res.text()}`);
    await res.text();
  }
  open = false;
  return bytes;
}

async function measure(app: App, count: number, held: number): Promise<number> {
  for (let i = 0; i < 2; i++) await wave(app, count, held);
  const bytes = [await wave(app, count, held), await wave(app, count, held), await wave(app, count, held)].sort((a, b) => a - b);
  return bytes[1] as number;
}

const base = baseCheckout('src/app.ts');
const contenders: [string, App][] = [
  [`tributary (${resolve(import.meta.dirname, '..')})`, (await inProcessGateway(resolve(import.meta.dirname, '..'), { hold, maxInFlight: 10_000 })).app()],
  ...(base ? [[`tributary (${base})`, (await inProcessGateway(base, { hold, maxInFlight: 10_000 })).app()] as [string, App]] : []),
  ['tuned-like', tunedLikeApp({ hold })],
];
// 60 requests: every call sent. 1000: each upstream's bulkhead (64) holds 64 calls, the rest queue.
const cases = [
  { count: 60, tributaryHeld: 180, label: '60 in flight, every call sent' },
  { count: 1000, tributaryHeld: 192, label: '1000 in flight, calls queued in the bulkheads' },
];
console.log('KB held per request in flight (heap after a full GC), median of 3 waves:');
for (const { count, tributaryHeld, label } of cases) {
  const row = [];
  for (const [name, app] of contenders) {
    const held = name === 'tuned-like' ? 3 * count : tributaryHeld;
    row.push(`${name} ${(await measure(app, count, held) / 1024).toFixed(1)}`);
  }
  console.log(`  ${label}: ${row.join(', ')}`);
}
