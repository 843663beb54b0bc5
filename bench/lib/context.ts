import { startContender, type Contender, type ContenderName, type StartOptions, type UpstreamUrls } from './contenders.ts';
import { load, type LoadResult } from './load.ts';
import { WARMUP_MAX_S, WARMUP_TURN_S, type Settings } from './settings.ts';
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
 * Unmeasured load before the rounds that compare contenders, so that the rounds see each one's
 * steady state and not V8 still optimising it (each serving process warms up its own JIT): see
 * {@link warmInTurns}. Logs what each answered; returns it, in the contenders' order.
 */
export async function warmUp(ctx: Ctx, contenders: readonly Contender[], connections: number, tag: string, processes: (c: Contender) => number = () => 1): Promise<number[]> {
  const s = ctx.settings;
  const started = performance.now();
  const served = await warmInTurns(
    contenders.map((c) => c.aggUrl),
    connections,
    s.warmupS,
    contenders.map((c) => s.warmupRequests * processes(c)),
  );
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  if (served.some((n) => n > 0)) ctx.log(`${tag} · warm-up in turns, ${seconds} s · ${contenders.map((c, i) => `${c.name}: ${served[i]} requests`).join(', ')}`);
  return served;
}

/**
 * Warm-up as unmeasured rounds: the `urls` take turns of {@link WARMUP_TURN_S} of load, in
 * {@link rotated} order, until each has had at least `minS` of load and answered its `requests`
 * with a 2xx, or has had {@link WARMUP_MAX_S} of load. One that is done keeps its turns until
 * all are, so that none sits idle longer than a round: a process left idle for a minute or two
 * spends up to 2.5 times its CPU per request in its first seconds of load again. (Warmed one
 * after another, the first warmed sat idle the longest before the measured rounds: about 115 s
 * for Tributary in scenario 2 at 20 ms.) Returns the 2xx answers each served.
 */
export async function warmInTurns(urls: readonly string[], connections: number, minS: number, requests: readonly number[]): Promise<number[]> {
  const served = urls.map(() => 0);
  const loadedS = urls.map(() => 0);
  const done = (i: number): boolean => loadedS[i]! >= WARMUP_MAX_S || (loadedS[i]! >= minS && served[i]! >= requests[i]!);
  const order = urls.map((_, i) => i);
  for (let turn = 1; !order.every(done); turn++) {
    for (const i of rotated(order, turn)) {
      served[i]! += (await load({ url: urls[i]!, connections, durationS: WARMUP_TURN_S })).ok;
      loadedS[i]! += WARMUP_TURN_S;
    }
  }
  return served;
}

/**
 * Scenario 2's way of loading contenders, shared by the scenarios that compare throughput: each
 * warmed up ({@link warmUp}), then `rounds` rounds of `throughputDurationS` with the contenders in
 * turn, in {@link rotated} order (A B C, B C A, …), so a machine that slows down mid-run weighs
 * on all of them. `tree` counts the CPU of a contender's child processes too. Returns each
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
  await warmUp(ctx, contenders, connections, tag, processes);
  for (let round = 1; round <= s.rounds; round++) {
    for (const c of rotated(contenders, round)) {
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
