/**
 * `npm run bench:compare`: this checkout's Tributary against another checkout's (before and after a
 * change), with `tuned` beside both, under scenario 2's load (3 upstreams, 50 connections).
 * Rounds rotate the order of the three, and every ratio is taken within one round.
 *
 * @example
 * git worktree add /tmp/before <rev> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 * BENCH_BASE=/tmp/before TRIBUTARY_ACCESS_LOG=0 npm run bench:compare
 *
 * The cost of a setting, on one checkout: BENCH_BASE=. BENCH_OLD_ENV=TRIBUTARY_ACCESS_LOG=0
 * Tracing: BENCH_TRACING=1 exports both Tributaries' spans to a loopback OTLP sink (scenario 4's
 * settings); with BENCH_BASE=. BENCH_OLD_ENV=OTEL_TRACES_EXPORTER=none it measures tracing on ÷ off,
 * and adding BENCH_NEW_ENV=OTEL_TRACES_SAMPLER=parentbased_traceidratio,OTEL_TRACES_SAMPLER_ARG=0.1
 * what sampling a tenth of the requests costs.
 *
 * Settings (environment): BENCH_BASE (required: the other checkout, `.` for this one), BENCH_ROUNDS
 * (default 10), BENCH_SECONDS (per load run, default 4), BENCH_DELAYS (default "0,20"),
 * BENCH_CONNECTIONS (50), BENCH_OLD_ENV (`NAME=value,NAME=value` for the old side only),
 * BENCH_NEW_ENV (the same, for this checkout's side only),
 * BENCH_TRACING (1: spans exported), BENCH_WARMUP_REQUESTS (each side's warm-up, as in `npm run
 * bench`: 30000 2xx answers, at most 60 s; 0: 2 s), BENCH_PIN (1: the three sides on the last CPU,
 * the load generator, upstreams and sink on the others; Linux, `taskset`, two CPUs or more). The
 * environment but OTEL_* is passed to every contender, so TRIBUTARY_* settings apply to both Tributaries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from './lib/settings.ts';
import { BENCH_DIR, startContender, type Contender, type UpstreamUrls } from './lib/contenders.ts';
import { tracingEnv } from './scenarios/tracing.ts';
import { log, warmInTurns } from './lib/context.ts';
import { load, type LoadResult } from './lib/load.ts';
import { describeMachine } from './lib/machine.ts';
import { installCleanup, readyLine, spawnNode, stopAll } from './lib/processes.ts';
import { baseCheckout, positiveSetting } from './lib/env-setting.ts';
import { allowedCpus, pinningFromEnv, pinThisProcess } from './lib/pinning.ts';
import { median, percentile, rotated } from './lib/stats.ts';

interface Side {
  contender: Contender;
  runs: LoadResult[];
}

async function main(): Promise<void> {
  const baseRoot = baseCheckout('src/node.ts');
  if (!baseRoot) throw new Error('BENCH_BASE must name the checkout to compare against (a directory with src/node.ts)');
  const rounds = positiveSetting('BENCH_ROUNDS', 10);
  const seconds = positiveSetting('BENCH_SECONDS', 4);
  const connections = positiveSetting('BENCH_CONNECTIONS', 50);
  const delays = (process.env.BENCH_DELAYS ?? '0,20').split(',').map(Number);
  const traced = process.env.BENCH_TRACING === '1';
  const warmupRequests = readSettings(process.env, BENCH_DIR).warmupRequests;
  const oldSettings = settingsList('BENCH_OLD_ENV');
  const newSettings = settingsList('BENCH_NEW_ENV');
  const pinning = pinningFromEnv(process.env.BENCH_PIN, () => allowedCpus(process.pid));
  installCleanup();
  const machine = describeMachine();
  // Before any child starts: the upstreams and the sink inherit this process's CPUs.
  if (pinning) pinThisProcess(pinning);
  log(`compare: this checkout (new) against ${baseRoot} (old${Object.keys(oldSettings).length > 0 ? `, with ${process.env.BENCH_OLD_ENV}` : ''})${Object.keys(newSettings).length > 0 ? `, new with ${process.env.BENCH_NEW_ENV}` : ''}, ${rounds} rounds × ${seconds} s, ${connections} connections${traced ? ', spans exported' : ''}`);
  log(`${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, load average ${machine.loadAverage}`);
  if (pinning) log(`pinned: the three sides on CPU ${pinning.contenders}; load generator, upstreams${traced ? ', sink' : ''} on CPU ${pinning.others}`);

  const tmpDir = mkdtempSync(join(tmpdir(), 'tributary-compare-'));
  try {
    const upstream = spawnNode('upstreams', join(BENCH_DIR, 'upstream.ts'), {});
    const upstreams = JSON.parse(await readyLine(upstream)) as UpstreamUrls;
    const sinkUrl = traced ? await readyLine(spawnNode('otlp-sink', join(BENCH_DIR, 'otlp-sink.ts'), {})) : undefined;
    const tracing = traced ? tracingEnv(sinkUrl) : {};
    const newEnv = { ...tracing, ...newSettings };
    const oldEnv = { ...tracing, ...oldSettings };
    for (const delayMs of delays) {
      const common = { delayMs, tmpDir, limits: [], ...(pinning ? { cpus: pinning.contenders } : {}) };
      const sides: Side[] = (
        await Promise.all([
          startContender('tributary', upstreams, { ...common, label: 'new', env: newEnv }),
          startContender('tributary', upstreams, { ...common, label: 'old', root: baseRoot, env: oldEnv }),
          startContender('tuned', upstreams, common),
        ])
      ).map((contender) => ({ contender, runs: [] }));
      // Each side at its steady state before the rounds, warmed in turns (as `npm run bench`
      // scenarios 2, 4 and 7): warmed first and then left idle, a side would lose part of it.
      await warmInTurns(sides.map((side) => side.contender.aggUrl), connections, 2, sides.map(() => warmupRequests));
      for (let round = 0; round < rounds; round++) {
        // Rotate who goes first, so a machine that slows down mid-run does not favour one side.
        for (const side of rotated(sides, round + 1)) {
          side.runs.push(await load({ url: side.contender.aggUrl, connections, durationS: seconds, pid: side.contender.child.pid }));
        }
        log(`${delayMs} ms · round ${round + 1}/${rounds} · ${sides.map((s) => `${s.contender.name} ${Math.round(s.runs.at(-1)?.rps ?? 0)} req/s ${(s.runs.at(-1)?.cpuMsPerReq ?? 0).toFixed(3)} CPU ms/req`).join(' · ')}`);
      }
      await Promise.all(sides.map((s) => s.contender.child.stop()));
      report(delayMs, sides);
    }
    await upstream.stop();
  } finally {
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }
}

/** The variable `name`'s `A=1,B=2` as `{ A: '1', B: '2' }`; a part without `=` is refused. */
function settingsList(name: 'BENCH_OLD_ENV' | 'BENCH_NEW_ENV'): Record<string, string> {
  const env: Record<string, string> = {};
  for (const part of (process.env[name] ?? '').split(',').filter((p) => p.trim() !== '')) {
    const at = part.indexOf('=');
    if (at <= 0) throw new Error(`${name}: "${part}" is not NAME=value (several are separated by commas)`);
    env[part.slice(0, at).trim()] = part.slice(at + 1);
  }
  return env;
}

/** Prints, per pair, the median of the per-round ratios with their interquartile range. */
function report(delayMs: number, [fresh, old, tuned]: Side[]): void {
  const pairs: [string, Side, Side][] = [
    ['new ÷ old', fresh as Side, old as Side],
    ['new ÷ tuned', fresh as Side, tuned as Side],
    ['old ÷ tuned', old as Side, tuned as Side],
  ];
  const metrics: [string, (r: LoadResult) => number][] = [
    ['CPU per request', (r) => r.cpuMsPerReq ?? Number.NaN],
    ['requests/s', (r) => r.rps],
    ['p50', (r) => r.p50],
    ['p99', (r) => r.p99],
  ];
  console.log(`\nUpstreams at ${delayMs} ms\n| | ${metrics.map(([m]) => m).join(' | ')} |\n|---|${metrics.map(() => '--:').join('|')}|`);
  for (const [label, a, b] of pairs) {
    const cells = metrics.map(([, pick]) => summary(a.runs.map((r, i) => pick(r) / pick(b.runs[i] as LoadResult))));
    console.log(`| ${label} | ${cells.join(' | ')} |`);
  }
  const cpu = (s: Side): string => median(s.runs.map((r) => r.cpuMsPerReq ?? Number.NaN)).toFixed(3);
  console.log(`CPU ms per request (median): new ${cpu(fresh as Side)}, old ${cpu(old as Side)}, tuned ${cpu(tuned as Side)}\n`);
}

function summary(ratios: number[]): string {
  const sorted = ratios.filter(Number.isFinite).sort((a, b) => a - b);
  return `×${median(sorted).toFixed(2)} (IQR ${percentile(sorted, 25).toFixed(2)}–${percentile(sorted, 75).toFixed(2)})`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
