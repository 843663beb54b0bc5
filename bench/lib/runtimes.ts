/**
 * How Deno and Bun run a script of this repository: the binaries npm installed (devDependencies),
 * Deno with the permissions of `deno task start`, read from deno.json, so the bench and the tests
 * run what users run. Shared by bench/lib/contenders.ts and tests/runtimes/runtimes.ts.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export type OtherRuntime = 'deno' | 'bun';

/** `deno task start`'s flags: everything between `run` and the script. */
export function denoStartFlags(): string[] {
  const config = JSON.parse(readFileSync(join(ROOT, 'deno.json'), 'utf8')) as { tasks: { start: { command: string } } };
  const words = config.tasks.start.command.trim().split(/\s+/);
  return words.slice(words.indexOf('run') + 1, -1);
}

/**
 * The command and arguments that run `script` (relative to the repository, or absolute). `readable`:
 * files outside the repository Deno must also read (a config in a temporary directory), added
 * to `--allow-read` as a user would.
 *
 * @example
 * const { command, args } = runtimeCommand('deno', 'src/deno.ts', ['/tmp/bench/deno.json']);
 * spawn(command, args, { cwd: ROOT });
 */
export function runtimeCommand(runtime: OtherRuntime, script: string, readable: string[] = []): { command: string; args: string[] } {
  const command = join(ROOT, 'node_modules/.bin', runtime);
  if (runtime === 'bun') return { command, args: [script] };
  const flags = denoStartFlags().map((flag) => (flag.startsWith('--allow-read=') && readable.length > 0 ? [flag, ...readable].join(',') : flag));
  return { command, args: ['run', ...flags, script] };
}
