import { startContender, type Contender, type ContenderName, type StartOptions, type UpstreamUrls } from './contenders.ts';
import { load, type LoadResult } from './load.ts';
import { WARMUP_MAX_S, type Settings } from './settings.ts';
import { rotated } from './stats.ts';

/** What every scenario gets from the orchestrator. */
export interface Ctx {
  settings: Settings;
  upstreams: UpstreamUrls;
  upstreamPid: number;
  tmpDir: string;
  log: (message: string) => void;
}

const started = performance.now();

/** Progress on stderr-free stdout, with the time since the run began. */
export function log(message: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

/** Starts the named contenders side by side (in parallel) and returns them in the same order. */
export async function startContenders(
  ctx: Ctx,
  names: readonly ContenderName[],
  options: Omit<StartOptions, 'tmpDir' | 'limits' | 'entry'>,
  quiet = false,
): Promise<Contender[]> {
  const settled = await Promise.allSettled(
    names.map((name) => startContender(name, ctx.upstreams, { entry: ctx.settings.entry, ...options, tmpDir: ctx.tmpDir, limits: ctx.settings.limits })),
  );
  const list = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = settled.find((r) => r.status === 'rejected');
  if (failure) {
    // Do not leave the ones that did start running through the scenarios that follow.
    await stopContenders(list);
    throw failure.reason;
  }
  if (!quiet) ctx.log(`started ${list.map((c) => `${c.name} (pid ${c.child.pid})`).join(', ')}`);
  return list;
}

export async function stopContenders(list: readonly Contender[]): Promise<void> {
  await Promise.all(list.map((c) => c.child.stop()));
}

/**
 * Unmeasured load on one contender before the rounds that compare it: `warmupS`, then more until
 * it has answered `warmupRequests` × `processes` requests with a 2xx (each serving process warms
 * up its own JIT), in at most {@link WARMUP_MAX_S}, so that the rounds see its steady state and
 * not V8 still optimising it. Returns the requests it answered.
 */
export async function warmUp(ctx: Ctx, contender: Contender, connections: number, tag: string, processes = 1): Promise<number> {
  const s = ctx.settings;
  const started = performance.now();
  const served = await warmUntil(contender.aggUrl, connections, s.warmupS, s.warmupRequests * processes);
  if (served > 0) ctx.log(`${tag} · warm-up · ${contender.name}: ${served} requests in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return served;
}

/**
 * Load on `url` for `minS`, then in runs of up to 2 s until `requests` were answered with a 2xx
 * or {@link WARMUP_MAX_S} have passed (the last run is cut to fit); the 2xx answers counted.
 */
export async function warmUntil(url: string, connections: number, minS: number, requests: number): Promise<number> {
  const deadline = performance.now() + WARMUP_MAX_S * 1000;
  let served = 0;
  if (minS > 0) served += (await load({ url, connections, durationS: minS })).ok;
  for (let left = (deadline - performance.now()) / 1000; served < requests && left >= 0.5; left = (deadline - performance.now()) / 1000) {
    served += (await load({ url, connections, durationS: Math.min(2, Math.floor(left * 10) / 10) })).ok;
  }
  return served;
}

/**
 * Scenario 2's way of loading contenders, shared by the scenarios that compare throughput:
 * `rounds` rounds of `throughputDurationS` with the contenders in turn, in {@link rotated} order
 * (A B C, B C A, …), so a machine that slows down mid-run weighs on all of them. Each contender
 * is warmed up ({@link warmUp}) right before its first measured run, not all of them before the
 * first round: a process left idle for a minute or two spends up to 2.5 times its CPU per request
 * in its first seconds of load again, and warming them all first left the first one warmed idle
 * the longest (about 115 s for Tributary in scenario 2 at 20 ms, none for the last). `tree` counts the CPU of a contender's child processes too. Returns each
 * contender's runs, by name. `processes`: how many serving processes a contender has (its warm-up
 * is that many times longer).
 */
export async function loadInRounds(
  ctx: Ctx,
  contenders: readonly Contender[],
  { connections, tag, tree = false, processes }: { connections: number; tag: string; tree?: boolean; processes?: (c: Contender) => number },
): Promise<Map<string, LoadResult[]>> {
  const s = ctx.settings;
  const runs = new Map<string, LoadResult[]>(contenders.map((c) => [c.name, []]));
  for (let round = 1; round <= s.rounds; round++) {
    for (const c of rotated(contenders, round)) {
      if (round === 1) await warmUp(ctx, c, connections, tag, processes?.(c) ?? 1);
      const r = await load({ url: c.aggUrl, connections, durationS: s.throughputDurationS, pid: c.child.pid, tree });
      runs.get(c.name)?.push(r);
      ctx.log(
        `${tag} · round ${round}/${s.rounds} · ${c.name}: ${Math.round(r.rps)} req/s, ` +
          `${(r.cpuMsPerReq ?? 0).toFixed(3)} CPU ms/req${r.failed ? `, ${r.failed} failed` : ''}`,
      );
    }
  }
  return runs;
}
