/**
 * Child processes of the bench: every one is tracked, so any way out of the orchestrator
 * (normal end, error, SIGINT, SIGTERM) kills them all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set<ChildProcess>();

export interface NodeChild {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** The last lines the process wrote, for error messages. */
  log(): string;
  /** The first stdout line, once written. */
  firstLine: Promise<string>;
  stop(): Promise<void>;
}

/** Starts `file` with this Node (24, type stripping) in its own process; on `cpus` only, when given (bench/lib/pinning.ts). */
export function spawnNode(name: string, file: string, env: Record<string, string>, args: string[] = [], cpus?: string): NodeChild {
  return spawnCommand(name, process.execPath, ['--no-warnings', ...args, file], env, cpus);
}

/**
 * Starts any command (Deno, Bun) in its own process, tracked like {@link spawnNode}'s. With
 * `cpus`, under `taskset -c`, which runs the command in its own place (same pid) on those CPUs.
 */
export function spawnCommand(name: string, command: string, args: string[], env: Record<string, string>, cpus?: string): NodeChild {
  const proc = spawn(cpus === undefined ? command : 'taskset', cpus === undefined ? args : ['-c', cpus, command, ...args], {
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A missing binary is an 'error' event, not a throw: without a listener it would end the run.
  proc.once('error', () => {});
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${command} ${args.join(' ')}`);
  running.add(proc);
  const lines: string[] = [];
  let resolveFirst: (line: string) => void = () => {};
  let rejectFirst: (error: Error) => void = () => {};
  const firstLine = new Promise<string>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  firstLine.catch(() => {});
  const keep = (chunk: Buffer, stream: 'out' | 'err'): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      if (stream === 'out') resolveFirst(line.trim());
      lines.push(line);
      if (lines.length > 30) lines.shift();
    }
  };
  proc.stdout?.on('data', (c: Buffer) => keep(c, 'out'));
  proc.stderr?.on('data', (c: Buffer) => keep(c, 'err'));
  proc.once('exit', (code, signal) => {
    running.delete(proc);
    rejectFirst(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${lines.join('\n')}`));
  });
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const result = await Promise.race([exited.then(() => 'exited'), sleep(2000, 'timeout')]);
    if (result === 'timeout') {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  return { name, pid: proc.pid, proc, log: () => lines.join('\n'), firstLine, stop };
}

/** The orchestrator's environment without OTEL_* settings, so only the tracing scenario sets them. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('OTEL_')) env[k] = v;
  return env;
}

/** Waits for the first stdout line (a URL or JSON the child prints when listening). */
export async function readyLine(child: NodeChild, timeoutMs = 15_000): Promise<string> {
  const timer = sleep(timeoutMs, 'timeout').then(() => {
    throw new Error(`${child.name} did not start within ${timeoutMs} ms:\n${child.log()}`);
  });
  return Promise.race([child.firstLine, timer]);
}

/** Polls `url` until it answers 200 and `check` accepts the body. */
export async function waitForHttp(child: NodeChild, url: string, check: (body: unknown) => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${child.name} exited before it was ready:\n${child.log()}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      if (res.status === 200 && check(JSON.parse(text))) return;
      last = `${res.status} ${text.slice(0, 300)}`;
    } catch (error) {
      last = String(error);
    }
    await sleep(100);
  }
  throw new Error(`${child.name} not ready at ${url} within ${timeoutMs} ms (last: ${last}):\n${child.log()}`);
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((proc) => {
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    return Promise.race([exited, sleep(2000)]);
  }));
}

/** Kills the children on any way out; SIGINT/SIGTERM end the run with 130/143. */
export function installCleanup(): void {
  process.once('exit', () => {
    for (const proc of running) proc.kill('SIGKILL');
  });
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping ${running.size} child processes`);
      void stopAll().finally(() => process.exit(code));
    });
  }
}
