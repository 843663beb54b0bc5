/**
 * Deno and Bun as the tests run them: the binaries npm installed (devDependencies), Deno with the
 * permissions of `deno task start` (read from deno.json, so the tests check what users run).
 * Node-side helpers: the processes are started from vitest, which runs in Node.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, startProcess, type NodeProcess } from '../integration/node-process.ts';

export type RuntimeName = 'deno' | 'bun';

export interface Runtime {
  name: RuntimeName;
  /** `Deno`, `Bun`: as the entries name themselves. */
  label: string;
  bin: string;
  /** The arguments that run `script` (a path relative to the repository). */
  args(script: string): string[];
}

/** `deno task start`'s flags: everything between `run` and the script. */
export function denoStartFlags(): string[] {
  const config = JSON.parse(readFileSync(join(repoRoot, 'deno.json'), 'utf8')) as { tasks: { start: { command: string } } };
  const words = config.tasks.start.command.trim().split(/\s+/);
  return words.slice(words.indexOf('run') + 1, -1);
}

export const RUNTIMES: Record<RuntimeName, Runtime> = {
  deno: { name: 'deno', label: 'Deno', bin: join(repoRoot, 'node_modules/.bin/deno'), args: (script) => ['run', ...denoStartFlags(), script] },
  bun: { name: 'bun', label: 'Bun', bin: join(repoRoot, 'node_modules/.bin/bun'), args: (script) => [script] },
};

/**
 * Throws, with what to do, when the runtime cannot run here: its binary is missing (npm ci not
 * run, or its postinstall not allowed) or does not start. A suite that needs it then fails
 * instead of skipping.
 *
 * @example
 * assertRuntime(RUNTIMES.deno);
 */
export function assertRuntime(runtime: Runtime): void {
  const fix = `run \`npm ci\` (${runtime.name} is a devDependency; its postinstall, allowed in package.json "allowScripts", fetches the binary)`;
  if (!existsSync(runtime.bin)) throw new Error(`${runtime.label} is not installed: ${runtime.bin} is missing; ${fix}`);
  const probe = spawnSync(runtime.bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.error || probe.status !== 0) {
    const why = probe.error?.message ?? `exit ${probe.status}: ${(probe.stderr || probe.stdout).trim().slice(0, 500)}`;
    throw new Error(`${runtime.label} cannot start (${runtime.bin} --version: ${why}); ${fix}`);
  }
}

/** Runs `script` under the runtime, with `env` added to a clean environment. */
export function startUnder(runtime: Runtime, script: string, env: Record<string, string>): NodeProcess {
  assertRuntime(runtime);
  return startProcess(runtime.bin, runtime.args(script), env);
}
