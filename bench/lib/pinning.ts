/**
 * `BENCH_PIN=1`: the measured servers on a CPU of their own, everything else (the orchestrator
 * and its load generator, the upstreams, the OTLP sink) on the others, with Linux's `taskset`.
 * Unpinned, the contender shares both cores of a small machine with the load it is measured
 * under; pinned, its CPU per request is its own work, as on a server with cores to itself.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface Pinning {
  /** The CPU the contenders run on (the last one this process may use), as taskset lists it. */
  contenders: string;
  /** The CPUs everything else runs on. */
  others: string;
}

/**
 * What `BENCH_PIN` asks for: undefined when unset or `0`. `1` on a machine where it cannot be
 * done (not Linux, no `taskset`, fewer than two CPUs) stops the run with what is missing, rather
 * than measuring unpinned under a pinned label.
 *
 * @example
 * const pinning = pinningFromEnv(process.env.BENCH_PIN, () => allowedCpus(process.pid));
 */
export function pinningFromEnv(value: string | undefined, cpus: () => number[]): Pinning | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  if (value !== '1') throw new Error(`BENCH_PIN=${value}: must be 1 (pin) or 0 (do not)`);
  const allowed = cpus();
  if (allowed.length < 2) throw new Error(`BENCH_PIN=1 needs two CPUs or more; this process may use ${allowed.length} (${allowed.join(',')})`);
  const last = allowed[allowed.length - 1] as number;
  return { contenders: String(last), others: allowed.slice(0, -1).join(',') };
}

/**
 * The CPUs process `pid` may run on, from `taskset -pc` ("pid 42's current affinity list: 0-3,6").
 * Throws, naming the package, where `taskset` is missing or not Linux's.
 */
export function allowedCpus(pid: number): number[] {
  if (process.platform !== 'linux') throw new Error(`BENCH_PIN=1 needs Linux (taskset); this is ${process.platform}`);
  const result = spawnSync('taskset', ['-pc', String(pid)], { encoding: 'utf8' });
  if (result.error || result.status !== 0) {
    throw new Error(`BENCH_PIN=1 needs taskset (Debian: apt-get install util-linux): ${result.error?.message ?? result.stderr.trim()}`);
  }
  return parseCpuList(result.stdout.slice(result.stdout.lastIndexOf(':') + 1));
}

/**
 * A CPU list as the kernel and taskset write it: `0-3,6` is 0, 1, 2, 3, 6.
 *
 * @example
 * parseCpuList('0-2,5'); // [0, 1, 2, 5]
 */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) throw new Error(`not a CPU list: "${text.trim()}"`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** Moves this process and its threads to `pinning.others`; children started afterwards inherit it. */
export function pinThisProcess(pinning: Pinning): void {
  execFileSync('taskset', ['-apc', pinning.others, String(process.pid)], { stdio: 'ignore' });
}
