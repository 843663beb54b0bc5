/**
 * Child processes of the soak and overload scripts: the gateway (`node src/node.ts`, as in
 * production) and the faulty upstream, each in its own process so that their CPU, memory and
 * file descriptors are their own. Every child is killed on any way out of the script.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { cpuMs, memoryMb, sampleRss } from '../../bench/lib/proc-stats.ts';
import { freePort } from '../../bench/lib/processes.ts';

// The bench's helpers, shared: one way to read a process's CPU, memory and a free port.
export { cpuMs, freePort, sampleRss };

/** Resident set size of a process, MB (Linux /proc). */
export const rssMb = (pid: number): number => memoryMb(pid).rss;

const root = fileURLToPath(new URL('../../', import.meta.url));
const running = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface Child {
  pid: number;
  proc: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  stdoutLines(): readonly string[];
  stderr(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<number | string>;
}

/**
 * Starts `file` (relative to the repository) with this Node, the environment given added to ours
 * minus TRIBUTARY_*, OTEL_* and PORT. Stdout lines are kept (the last `keep`), stderr whole.
 */
export function startChild(file: string, env: Record<string, string>, keep = 2000): Child {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('TRIBUTARY_') && !k.startsWith('OTEL_') && k !== 'PORT' && k !== 'NODE_OPTIONS') base[k] = v;
  }
  const proc = spawn(process.execPath, [fileURLToPath(new URL(file, `file://${root}`))], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${file}`);
  running.add(proc);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      if (lines.length > keep) lines.shift();
    }
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  return {
    pid: proc.pid,
    proc,
    exited,
    stdoutLines: () => lines,
    stderr: () => err,
    stop: async (graceMs = 5000) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Waits until a stdout line matches, or throws with what the process printed (bounded). */
export async function lineMatching(child: Child, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const line = child.stdoutLines().find((l) => pattern.test(l));
    if (line !== undefined) return line;
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no line matching ${pattern} within ${timeoutMs} ms\nstdout:\n${child.stdoutLines().slice(-20).join('\n')}\nstderr:\n${child.stderr()}`);
}

/** The faulty upstream (scripts/lib/faulty-upstream.ts) in its own process, and its URL. */
export async function startUpstreamProcess(): Promise<{ child: Child; url: string }> {
  const child = startChild('scripts/lib/faulty-upstream.ts', {});
  const line = await lineMatching(child, /^\{"url":/);
  return { child, url: (JSON.parse(line) as { url: string }).url };
}

/** Open file descriptors of a process (Linux /proc; sockets included). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}


/** Load average over the last minute (Linux /proc/loadavg). */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** SIGINT/SIGTERM end the script with 130/143, which runs the 'exit' hook that kills the children. */
export function exitOnSignals(): void {
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

