/**
 * Deno and Bun as the tests run them (bench/lib/runtimes.ts: the binaries npm installed, Deno with
 * the permissions of `deno task start`). Node-side helpers: vitest runs in Node.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runtimeCommand, type OtherRuntime } from '../../bench/lib/runtimes.ts';
import { startProcess, type NodeProcess } from '../integration/node-process.ts';

export type RuntimeName = OtherRuntime;

export interface Runtime {
  name: RuntimeName;
  /** `Deno`, `Bun`: as the entries name themselves. */
  label: string;
  bin: string;
  /** The arguments that run `script` (a path relative to the repository). */
  args(script: string): string[];
}

export const RUNTIMES: Record<RuntimeName, Runtime> = {
  deno: { name: 'deno', label: 'Deno', bin: runtimeCommand('deno', '').command, args: (script) => runtimeCommand('deno', script).args },
  bun: { name: 'bun', label: 'Bun', bin: runtimeCommand('bun', '').command, args: (script) => runtimeCommand('bun', script).args },
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
