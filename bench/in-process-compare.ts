/**
 * `npm run bench:inprocess`: the gateway's own CPU per request, this checkout against another
 * (before and after a change), in-process (bench/lib/in-process-app.ts: scenario 2's endpoint over
 * a transport that answers from memory; no sockets, no access log). Both apps live in one process
 * and take turns in short rounds, so what the machine does meanwhile falls on both alike; each
 * ratio is taken within a round, and the median and IQR over the rounds are printed. On a noisy
 * machine a round's CPU varies by ×2 or more: many short rounds narrow the median where a few long
 * ones would not.
 *
 * @example
 * git worktree add /tmp/before <rev> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 * BENCH_BASE=/tmp/before npm run bench:inprocess
 *
 * With BENCH_SOCKETS=1 each app is served by @hono/node-server on 127.0.0.1 and driven over 50
 * keep-alive connections from this same process: the server's request and response handling
 * counts too (and the client's, alike for both).
 *
 * With BENCH_BASE=tuned the other side is bench/baselines/tuned.ts's handler in-process (the same
 * three calls by hand, over the same upstream answers): what the gateway's own work costs against
 * a handler without it.
 *
 * Settings (environment): BENCH_BASE (required: the other checkout, or `tuned`), BENCH_ROUNDS (default 80),
 * N (requests per app per round, 400), WARM (3000), BENCH_SOCKETS (1: over loopback sockets).
 */
import { resolve } from 'node:path';
import { baseCheckout, positiveSetting } from './lib/env-setting.ts';
import { drive, inProcessGateway, overSockets, tunedLikeApp } from './lib/in-process-app.ts';
import { median, percentile, rotated } from './lib/stats.ts';

// `tuned`: against bench/baselines/tuned.ts's handler, doing the same three calls by hand.
const againstTuned = process.env.BENCH_BASE === 'tuned';
const base = againstTuned ? 'tuned-like handler' : baseCheckout('src/app.ts');
if (!base) throw new Error('BENCH_BASE must name the other checkout (a directory with src/app.ts), or be "tuned"');
const rounds = positiveSetting('BENCH_ROUNDS', 80);
const measured = positiveSetting('N', 400);
const warm = positiveSetting('WARM', 3000);

const roots = { new: resolve(import.meta.dirname, '..'), old: base };
const sockets = process.env.BENCH_SOCKETS === '1';
const inProcess = { new: (await inProcessGateway(roots.new)).app(), old: againstTuned ? tunedLikeApp() : (await inProcessGateway(roots.old)).app() };
const apps = sockets ? { new: await overSockets(inProcess.new), old: await overSockets(inProcess.old) } : inProcess;
const names = ['new', 'old'] as const;
for (const name of names) await drive(apps[name], warm);
const perRequest = { new: [] as number[], old: [] as number[] };
for (let round = 0; round < rounds; round++) {
  // Rotated: each goes first in every other round.
  for (const name of rotated(names, round + 1)) {
    const cpu = process.cpuUsage();
    await drive(apps[name], measured);
    const used = process.cpuUsage(cpu);
    perRequest[name].push((used.user + used.system) / measured);
  }
}
const ratios = perRequest.new.map((v, i) => v / (perRequest.old[i] as number)).sort((a, b) => a - b);
console.log(`In-process${sockets ? ', over loopback sockets' : ''}, ${rounds} rounds × ${measured} requests per app; CPU µs per request, median:`);
console.log(`  new (${roots.new}) ${median(perRequest.new).toFixed(0)}, old (${roots.old}) ${median(perRequest.old).toFixed(0)}`);
console.log(`new ÷ old ×${median(ratios).toFixed(2)} (IQR ${percentile(ratios, 25).toFixed(2)}–${percentile(ratios, 75).toFixed(2)})`);
// The fastest rounds are the ones the machine disturbed least: their ratio is a second, steadier reading.
const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
const p10 = { new: percentile(sorted(perRequest.new), 10), old: percentile(sorted(perRequest.old), 10) };
console.log(`fastest tenth: new ${p10.new.toFixed(0)}, old ${p10.old.toFixed(0)} µs per request, ×${(p10.new / p10.old).toFixed(2)}`);
for (const app of Object.values(apps)) await (app as { close?: () => Promise<void> }).close?.();
