/**
 * Runs the Node entry (`src/node.ts`) as a child process, the way `npm start` does, and
 * collects its output. Used by the start-up tests only: everything else runs in-process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const entry = fileURLToPath(new URL('../../src/node.ts', import.meta.url));

export interface NodeProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string>;
  /** Resolves when stdout has printed `text`; rejects if the process exits first or after `ms`. */
  printed(text: string | RegExp, ms?: number): Promise<void>;
  kill(): void;
}

/**
 * Starts `node src/node.ts` with the given environment added to a clean one (no inherited
 * TRIBUTARY_* or PORT). The Node binary is the one running the tests: Node 24 via npx. `file`
 * runs another entry (the built dist/js/node.js).
 */
export function startNode(env: Record<string, string>, file: string = entry): NodeProcess {
  return startProcess(process.execPath, [entry], env);
}

/**
 * Starts any command in the repository's root with `env` added to the same clean environment
 * (the Deno and Bun entries' tests use it too).
 */
export function startProcess(command: string, args: string[], env: Record<string, string>): NodeProcess {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('TRIBUTARY_') && k !== 'PORT' && k !== 'HOST' && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS') {
      base[k] = v;
    }
  }
  const child = spawn(command, args, { cwd: repoRoot, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const printed = (text: string | RegExp, ms = 10_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const found = (): boolean => (typeof text === 'string' ? out.includes(text) : text.test(out));
      if (found()) return resolve();
      const timer = setTimeout(() => finish(new Error(`no "${String(text)}" within ${ms} ms; stdout: ${out}; stderr: ${err}`)), ms);
      const onData = (): void => {
        if (found()) finish();
      };
      const onExit = (): void => finish(new Error(`exited before printing "${String(text)}"; stdout: ${out}; stderr: ${err}`));
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      child.stdout?.on('data', onData);
      child.once('exit', onExit);
    });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    printed,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Waits for the exit, killing the process if it takes longer than `ms`. */
export async function exitWithin(proc: NodeProcess, ms: number): Promise<number | string> {
  const timer = setTimeout(() => proc.kill(), ms);
  try {
    return await proc.exited;
  } finally {
    clearTimeout(timer);
  }
}
