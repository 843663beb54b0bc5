import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkConfig, ConfigError, type Env } from '../services/plan/index.ts';
import { standInEnv } from '../services/plan/env-names.ts';
import { formatSection, formatTotals, type CheckSection } from './check-format.ts';
import { checkWorker } from './check-worker.ts';
import { configBase, loadConfigFile } from './load-config.ts';

export const CHECK_USAGE = `Usage: tributary check [config ...] [--worker] [--secret NAME ...]

Validates and compiles configs without serving them: every problem at once, then each endpoint's
calls, their dependencies and the critical path's worst-case time against the deadline.

  config             a .json, .ts or .js config, relative to the current directory; \${NAME}
                     placeholders are filled from the environment, as at start-up
  --worker           also check the Worker: its bundled config (src/worker/config.ts) against the
                     variables wrangler.toml gives it ([vars]) and its secrets ([secrets] required,
                     --secret); with no config and a wrangler.toml here, this is the default
  --secret NAME      a variable that will be set when it runs (a secret), without its value;
                     repeat it, or separate names with commas
  --wrangler FILE    the wrangler config (default: wrangler.toml/.json/.jsonc here or above)
  --env NAME         a wrangler environment ([env.NAME])
  --worker-config FILE  the config module the Worker bundles (default: src/worker/config.ts)

Exit status: 0 when no errors were found (warnings allowed), 1 on errors, 2 on a usage error.`;

/** Where `tributary check` reads and writes; tests pass their own. */
export interface CheckIo {
  /** The environment a Node config's `${NAME}` placeholders come from. */
  env: Env;
  /** The directory relative paths are relative to: where the command was typed. */
  base: string;
  out(line: string): void;
}

/**
 * `tributary check`: checks each config named, and the Worker when asked (or when there is no
 * config to check and a wrangler config is here), prints a report, and returns the exit status.
 *
 * @example
 * process.exitCode = await runCheck(['examples/dashboard.config.json', '--secret', 'USERS_API_KEY']);
 */
export async function runCheck(args: string[], io: Partial<CheckIo> = {}): Promise<number> {
  const env = io.env ?? process.env;
  const base = io.base ?? configBase(env);
  const out = io.out ?? ((line: string) => console.log(line));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        worker: { type: 'boolean', default: false },
        secret: { type: 'string', multiple: true, default: [] },
        wrangler: { type: 'string' },
        env: { type: 'string' },
        'worker-config': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    out(`tributary check: ${(error as Error).message}`);
    out(CHECK_USAGE);
    return 2;
  }
  const { values, positionals: files } = parsed;
  if (values.help) {
    out(CHECK_USAGE);
    return 0;
  }
  const secrets = values.secret.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  const hasWrangler = ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'].some((name) => existsSync(join(base, name)));
  // Any Worker option asks for the Worker; so does a bare `check` beside a wrangler config.
  const workerOption = values.wrangler !== undefined || values.env !== undefined || values['worker-config'] !== undefined;
  const worker = values.worker || workerOption || (files.length === 0 && hasWrangler);
  if (files.length === 0 && !worker) {
    out('tributary check: name a config file to check, or --worker to check the Worker');
    out(CHECK_USAGE);
    return 2;
  }

  const sections: CheckSection[] = [];
  for (const file of files) sections.push(await checkFile(file, base, env, secrets));
  if (worker) {
    const check = await checkWorker({ base, wranglerConfig: values.wrangler, environment: values.env, workerConfig: values['worker-config'], secrets });
    sections.push({
      title: check.title,
      errors: [...check.errors, ...(check.result?.errors ?? [])],
      warnings: [...check.warnings, ...(check.result?.warnings ?? [])],
      notes: check.notes,
      endpoints: check.result?.endpoints ?? [],
    });
  }
  sections.forEach((section, i) => {
    if (i > 0) out('');
    for (const line of formatSection(section)) out(line);
  });
  out('');
  out(formatTotals(sections));
  return sections.some((s) => s.errors.length > 0) ? 1 : 0;
}

/** One config file, compiled with the environment plus stand-ins for the secrets named. */
async function checkFile(file: string, base: string, env: Env, secrets: string[]): Promise<CheckSection> {
  let raw: unknown;
  try {
    raw = await loadConfigFile(file, base);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { title: file, errors: error.issues, warnings: [], notes: [], endpoints: [] };
  }
  const unset = secrets.filter((name) => env[name] === undefined);
  const result = checkConfig(raw, { ...env, ...standInEnv(raw, unset) });
  const declared = raw as { upstreams?: object; endpoints?: unknown[] };
  const counts = {
    upstreams: typeof declared?.upstreams === 'object' && declared.upstreams !== null ? Object.keys(declared.upstreams).length : 0,
    endpoints: Array.isArray(declared?.endpoints) ? declared.endpoints.length : 0,
  };
  return { title: file, errors: result.errors, warnings: result.warnings, notes: [], endpoints: result.endpoints, counts };
}
