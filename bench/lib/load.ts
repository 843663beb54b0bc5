import autocannon, { type Result } from 'autocannon';
import { cpuMs, memoryMb, resetPeak, sampleRss, treeCpuMs } from './proc-stats.ts';
import { percentile } from './stats.ts';

export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  /** The server process: its CPU time and memory are read around the run. */
  pid?: number;
  /** Also track the server's peak RSS during the run (resets VmHWM first). */
  memory?: boolean;
  /** Count the CPU of the server's child processes too (TRIBUTARY_PROCESSES > 1). */
  tree?: boolean;
  /** Request headers (Accept, Accept-Encoding). */
  headers?: Record<string, string>;
}

export interface LoadResult {
  /** Responses received (any status). */
  responses: number;
  /** 2xx responses. */
  ok: number;
  /** Non-2xx responses plus connection errors and timeouts. */
  failed: number;
  seconds: number;
  /** 2xx responses per second. */
  rps: number;
  /** Latency of 2xx responses, ms, measured by the client. */
  p50: number;
  p99: number;
  /** Server CPU (user + system) per response, ms. */
  cpuMsPerReq?: number;
  /** Server peak RSS during the run, MB: max of VmHWM (after reset) and sampled VmRSS. */
  peakRssMb?: number;
}

/**
 * Drives `url` with autocannon for a fixed time. Latencies come from autocannon's per-response
 * event (sub-millisecond) rather than its histogram, which rounds to whole milliseconds.
 */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let ok = 0;
  let responses = 0;
  const { pid } = options;
  const peakReset = pid !== undefined && options.memory ? resetPeak(pid) : false;
  const sampler = pid !== undefined && options.memory ? sampleRss(pid) : undefined;
  const cpuOf = options.tree ? treeCpuMs : cpuMs;
  const cpuBefore = pid !== undefined ? cpuOf(pid) : 0;
  const started = performance.now();
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      { url: options.url, connections: options.connections, duration: options.durationS, timeout: 10, ...(options.headers ? { headers: options.headers } : {}) },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      responses++;
      if (status >= 200 && status < 300) {
        ok++;
        latencies.push(ms);
      }
    });
  });
  const seconds = (performance.now() - started) / 1000;
  const out: LoadResult = {
    responses,
    ok,
    failed: responses - ok + result.errors + result.timeouts,
    seconds,
    rps: ok / seconds,
    p50: Number.NaN,
    p99: Number.NaN,
  };
  latencies.sort((a, b) => a - b);
  out.p50 = percentile(latencies, 50);
  out.p99 = percentile(latencies, 99);
  if (pid !== undefined) {
    out.cpuMsPerReq = (cpuOf(pid) - cpuBefore) / Math.max(1, responses);
    if (sampler) {
      const sampled = sampler.stop();
      out.peakRssMb = peakReset ? Math.max(sampled, memoryMb(pid).hwm) : sampled;
    }
  }
  return out;
}
