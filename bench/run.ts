/**
 * `npm run bench`: starts the loopback upstreams, then runs each scenario with Tributary and the
 * hand-written baselines in their own processes, and writes bench/results/latest.{json,md,svg}.
 * Settings: see bench/lib/settings.ts (BENCH_QUICK=1 for a smoke run).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, type UpstreamUrls } from './lib/contenders.ts';
import { log, type Ctx } from './lib/context.ts';
import { describeMachine } from './lib/machine.ts';
import { installCleanup, readyLine, spawnNode, stopAll } from './lib/processes.ts';
import { formatSeconds, renderMarkdown, type RunInfo } from './lib/report-md.ts';
import { renderSvg } from './lib/report-svg.ts';
import type { ScenarioResult } from './lib/result.ts';
import { readSettings, SCENARIO_IDS } from './lib/settings.ts';
import { concurrency } from './scenarios/concurrency.ts';
import { coalescing } from './scenarios/coalescing.ts';
import { fanout } from './scenarios/fanout.ts';
import { memory } from './scenarios/memory.ts';
import { overhead } from './scenarios/overhead.ts';
import { processes } from './scenarios/processes.ts';
import { resilience } from './scenarios/resilience.ts';
import { runtimes } from './scenarios/runtimes.ts';
import { schema } from './scenarios/schema.ts';
import { shaping } from './scenarios/shaping.ts';
import { throughput } from './scenarios/throughput.ts';
import { tracing } from './scenarios/tracing.ts';

const SCENARIOS: Record<number, (ctx: Ctx) => Promise<ScenarioResult>> = {
  1: overhead,
  2: throughput,
  3: fanout,
  4: tracing,
  5: memory,
  6: resilience,
  7: processes,
  8: concurrency,
  9: runtimes,
  10: schema,
  11: shaping,
  12: coalescing,
};
// Twelve scenarios: about 20 minutes on 2 cores (about 10 of them warming scenarios 2, 4 and 7 up
// to steady state, in turns); a run far beyond that was disturbed.
const BUDGET_S = 1500;

async function main(): Promise<void> {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) throw new Error(`Node ${process.version}: the bench needs Node >= 24 (run it with npm run bench)`);
  installCleanup();
  const settings = readSettings(process.env, BENCH_DIR);
  const machine = describeMachine();
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  log(`bench ${settings.quick ? '(quick)' : '(full)'}: ${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}, load average ${machine.loadAverage}`);
  log(`scenarios ${[...settings.scenarios].join(', ')}; ${settings.rounds} rounds`);
  if (settings.entry === 'dist') {
    // Tributary runs as in production: compiled once (npm run build), no type stripping at start.
    execFileSync(join(BENCH_DIR, '..', 'node_modules', '.bin', 'tsc'), ['-p', join(BENCH_DIR, '..', 'tsconfig.build.json')], { stdio: 'inherit' });
    log('built dist/js (npm run build): Tributary runs dist/js/node.js; BENCH_ENTRY=src runs the source');
  }

  const tmpDir = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
  const results: ScenarioResult[] = [];
  try {
    const upstream = spawnNode('upstreams', join(BENCH_DIR, 'upstream.ts'), {
      LIMITED_CAPACITY: String(settings.limitedCapacity),
      LIMITED_MS: String(settings.limitedMs),
    });
    const upstreams = JSON.parse(await readyLine(upstream)) as UpstreamUrls;
    log(`upstreams ready (pid ${upstream.pid}): ${Object.entries(upstreams).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const ctx: Ctx = { settings, upstreams, upstreamPid: upstream.pid, tmpDir, log };
    for (const id of SCENARIO_IDS) {
      const scenario = SCENARIOS[id];
      if (!settings.scenarios.has(id) || !scenario) continue;
      log(`scenario ${id} …`);
      const started = performance.now();
      try {
        const result = await scenario(ctx);
        log(`scenario ${id} done in ${result.seconds.toFixed(1)} s${result.status === 'ok' ? '' : `: ${result.status}`}`);
        results.push(result);
      } catch (error) {
        // One broken scenario should not cost the others' figures; the run still exits non-zero.
        const message = error instanceof Error ? error.message : String(error);
        console.error(`scenario ${id} failed: ${message}`);
        process.exitCode = 1;
        results.push(failedScenario(id, message, (performance.now() - started) / 1000));
      }
    }
    await upstream.stop();
  } finally {
    await stopAll();
    rmSync(tmpDir, { recursive: true, force: true });
  }

  const seconds = (performance.now() - t0) / 1000;
  const run: RunInfo = { startedAt, seconds, machine, settings };
  mkdirSync(settings.outDir, { recursive: true });
  writeFileSync(
    join(settings.outDir, 'latest.json'),
    `${JSON.stringify({ ...run, settings: { ...settings, scenarios: [...settings.scenarios] }, scenarios: results }, null, 2)}\n`,
  );
  writeFileSync(join(settings.outDir, 'latest.md'), renderMarkdown(run, results));
  const charts = results.flatMap((r) => (r.chart ? [r.chart] : []));
  if (charts.length > 0) {
    const subtitle = `${machine.cores} cores, ${machine.cpuModel}, Node ${machine.node}; bars: median over ${settings.rounds} rounds, whiskers: min–max`;
    writeFileSync(join(settings.outDir, 'latest.svg'), renderSvg(charts, subtitle));
  }
  log(`wrote ${join(settings.outDir, 'latest.{json,md' + (charts.length ? ',svg' : '') + '}')} in ${formatSeconds(seconds)}`);
  if (!settings.quick && settings.scenarios.size === SCENARIO_IDS.length && seconds > BUDGET_S) {
    console.warn(`warning: the run took ${formatSeconds(seconds)}, over its ${BUDGET_S / 60}-minute budget`);
  }
}

function failedScenario(id: number, message: string, seconds: number): ScenarioResult {
  const titles: Record<number, string> = {
    1: 'Overhead at light load',
    2: 'Throughput and CPU per request',
    3: 'Fan-out width',
    4: 'Tracing cost',
    5: 'Memory',
    6: 'Resilience',
    7: 'Every core: one process and two',
    8: "Concurrency limits: the articles' experiments",
    9: 'Runtimes',
    10: 'Call schema cost',
    11: 'Response shaping, streaming and compression',
    12: 'Coalescing and caching',
  };
  const first = message.split('\n')[0] ?? message;
  return { id, title: titles[id] ?? `Scenario ${id}`, measures: '', status: `failed: ${first}`, tables: [], summary: [], notes: [], seconds, extra: { error: message } };
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  await stopAll();
  process.exitCode = 1;
}
