/**
 * `npm run bench:instructions`: machine instructions per request of the gateway's own work
 * (bench/lib/in-process-load.ts: the app in-process, no sockets), counted by valgrind's callgrind.
 * Counts do not depend on what else the machine is doing, but they do on what the JIT and the
 * garbage collector decide in each process: the same checkout counted twice has differed by up to
 * 20 %. So each checkout is counted BENCH_RUNS times (default 3) and the median is compared; a
 * difference smaller than the spread of the runs is not one. With BENCH_BASE, the other checkout
 * is counted in the same run, side by side. Needs valgrind (Debian: apt-get install valgrind);
 * slow: the start-up alone takes a minute or two under callgrind.
 *
 * @example
 * BENCH_BASE=/tmp/before npm run bench:instructions
 *
 * Settings: BENCH_BASE (optional), BENCH_RUNS (counts per checkout, default 3), BENCH_WARM
 * (requests before counting, default 1000), BENCH_REQUESTS (counted, default 1000).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { baseCheckout, positiveSetting } from './lib/env-setting.ts';
import { figure, type Figure } from './lib/stats.ts';

const run = promisify(execFile);
const HERE = resolve(import.meta.dirname, '..');

async function count(root: string, warm: number, requests: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-callgrind-'));
  try {
    await run(
      'valgrind',
      ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'cg.%p')}`, process.execPath, join(HERE, 'bench/lib/in-process-load.ts')],
      { env: { ...process.env, ROOT: root, WARM: String(warm), N: String(requests), CALLGRIND: '1' }, maxBuffer: 64 << 20 },
    );
    // `callgrind_control -d` after the counted requests writes the `.1` dump; counters were zeroed before them.
    const dump = readdirSync(dir).find((f) => f.endsWith('.1'));
    if (!dump) throw new Error(`${root}: callgrind wrote no dump after the counted requests`);
    const summary = /^summary: (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'));
    if (!summary) throw new Error(`${root}: no summary line in the callgrind dump`);
    return Number(summary[1]) / requests;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  try {
    await run('valgrind', ['--version']);
  } catch {
    throw new Error('valgrind is not installed (Debian: apt-get install valgrind)');
  }
  const warm = positiveSetting('BENCH_WARM', 1000);
  const requests = positiveSetting('BENCH_REQUESTS', 1000);
  const base = baseCheckout('src/app.ts');
  console.log(`counting ${requests} requests after ${warm} unmeasured ones, under callgrind${base ? `: this checkout and ${base}` : ''} …`);
  const runs = positiveSetting('BENCH_RUNS', 3);
  // The two checkouts side by side (one per core), each counted `runs` times in a row.
  const countRuns = async (root: string): Promise<number[]> => {
    const counts: number[] = [];
    for (let i = 0; i < runs; i++) counts.push(await count(root, warm, requests));
    return counts;
  };
  const [mine, theirs] = await Promise.all([countRuns(HERE), base ? countRuns(base) : undefined]);
  const fmt = (n: number): string => Math.round(n).toLocaleString('en');
  const show = (f: Figure): string => `${fmt(f.median)} instructions per request (median of ${f.samples.length}; ${fmt(f.min)}–${fmt(f.max)})`;
  const ours = figure(mine);
  console.log(`this checkout: ${show(ours)}`);
  if (theirs !== undefined) {
    const other = figure(theirs);
    console.log(`${base}: ${show(other)}`);
    console.log(`this ÷ base: ×${(ours.median / other.median).toFixed(3)} (medians; the runs' own spread is above)`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
