import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { checkConfig, ConfigError, type CheckResult, type Env } from '../services/plan/index.ts';
import { envNames, standInEnv } from '../services/plan/env-names.ts';
import { didYouMean } from '../services/plan/did-you-mean.ts';
import { DEFAULT_MAX_SUBREQUESTS, fixedSubrequests } from '../services/subrequests.ts';
import { loadConfigFile } from './load-config.ts';

/** The Worker's cap variable (src/worker/plan-cache.ts reads it; an entry side may not import the other). */
const MAX_SUBREQUESTS_VAR = 'TRIBUTARY_MAX_SUBREQUESTS';
/** What Cloudflare allows per request without `[limits] subrequests`, by plan. */
const PLATFORM_DEFAULTS = { free: 50, paid: 10_000 } as const;
const WRANGLER_FILES = ['wrangler.toml', 'wrangler.json', 'wrangler.jsonc'];

export interface WorkerCheckOptions {
  /** Where to start looking for the wrangler config, and what relative paths are relative to. */
  base: string;
  /** The wrangler config; default: wrangler.toml/.json/.jsonc in `base` or a folder above it. */
  wranglerConfig?: string | undefined;
  /** A named wrangler environment (`[env.production]`). */
  environment?: string | undefined;
  /** The bundled config module; default: src/worker/config.ts beside the wrangler config. */
  workerConfig?: string | undefined;
  /** Secrets that will be set (`wrangler secret put`), beyond `[secrets] required`. */
  secrets: string[];
}

/** What `tributary check --worker` found: the compile result, plus the Worker's own problems. */
export interface WorkerCheck {
  /** `wrangler.toml, src/worker/config.ts`, relative to `base`. */
  title: string;
  result: CheckResult | undefined;
  errors: string[];
  warnings: string[];
  /** Facts worth printing: where the variables come from, the cap. */
  notes: string[];
}

/**
 * Checks the Worker as it would be deployed: its bundled config compiled with only what the
 * Worker will see — `[vars]` from the wrangler config (with their values), and the secrets
 * (`[secrets] required` there, plus `secrets`; their values are not needed) — so a `${NAME}`
 * that nothing provides is an error here instead of a 500 on every request after deploy. Also
 * checks TRIBUTARY_MAX_SUBREQUESTS against `[limits] subrequests`: the Worker cannot read the
 * latter at run time, so the two must be kept in step by hand.
 *
 * @example
 * const check = await checkWorker({ base: process.cwd(), secrets: ['USERS_TOKEN'] });
 * if (check.errors.length + (check.result?.errors.length ?? 0) > 0) process.exitCode = 1;
 */
export async function checkWorker(options: WorkerCheckOptions): Promise<WorkerCheck> {
  const errors: string[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  const wranglerPath = options.wranglerConfig ? resolve(options.base, options.wranglerConfig) : findUp(options.base, WRANGLER_FILES);
  if (!wranglerPath || !existsSync(wranglerPath)) {
    const looked = options.wranglerConfig ? resolve(options.base, options.wranglerConfig) : `${WRANGLER_FILES.join(', ')} in ${options.base} or above`;
    return { title: 'Worker', result: undefined, errors: [`no wrangler config found (looked for ${looked}); name one with --wrangler <file>`], warnings, notes };
  }
  const configPath = resolve(options.workerConfig ? options.base : dirname(wranglerPath), options.workerConfig ?? 'src/worker/config.ts');
  const title = `Worker (${[wranglerPath, configPath].map((p) => relative(options.base, p) || p).join(', ')}${options.environment ? `, env ${options.environment}` : ''})`;
  const fail = (message: string): WorkerCheck => ({ title, result: undefined, errors: [...errors, message], warnings, notes });

  let wrangler: WranglerSettings;
  try {
    wrangler = await readWrangler(wranglerPath, options.environment);
  } catch (error) {
    return fail(`cannot read ${wranglerPath}: ${firstLine(error)}`);
  }
  if (!existsSync(configPath)) return fail(`no Worker config at ${configPath}; name the module the Worker bundles with --worker-config <file>`);
  let raw: unknown;
  try {
    raw = await loadConfigFile(configPath, options.base);
  } catch (error) {
    return fail(error instanceof ConfigError ? error.issues.join('; ') : `cannot load ${configPath}: ${firstLine(error)}`);
  }

  const secrets = [...new Set([...wrangler.requiredSecrets, ...options.secrets])];
  const needed = envNames(raw);
  const provided = new Set([...Object.keys(wrangler.vars), ...secrets]);
  const missing = needed.filter((name) => !provided.has(name));
  // Secrets' values are unknown here: stand-ins that compile where each is used.
  const env: Env = { ...standInEnv(raw, secrets.filter((s) => !(s in wrangler.vars))), ...wrangler.vars };
  const result = checkConfig(raw, env);
  notes.push(
    `variables: ${describeNames(Object.keys(wrangler.vars))} from [vars]; secrets: ${describeNames(secrets)}` +
      ` (${wrangler.requiredSecrets.length > 0 ? '[secrets] required' : 'none in [secrets] required'}${options.secrets.length > 0 ? ', --secret' : ''})`,
  );
  if (missing.length > 0) {
    const guesses = missing.map((name) => [name, didYouMean(name, provided)] as const).filter(([, near]) => near);
    errors.push(
      `the config uses ${missing.map((n) => `\${${n}}`).join(', ')}, which nothing provides: the deployed Worker would answer 500 to every request, ` +
        `/healthz included. Add ${missing.length > 1 ? 'them' : 'it'} to [vars] in ${relative(options.base, wranglerPath) || wranglerPath}, ` +
        `or set ${missing.length > 1 ? 'them as secrets' : 'it as a secret'} (npx wrangler secret put NAME) and list ${missing.length > 1 ? 'them' : 'it'} ` +
        `in [secrets] required (or pass --secret NAME)` +
        guesses.map(([name, near]) => `; ${name}: did you mean ${near}?`).join(''),
    );
  }
  checkSubrequests(wrangler, result, errors, warnings, notes);
  return { title, result, errors, warnings, notes };
}

interface WranglerSettings {
  vars: Env;
  requiredSecrets: string[];
  limitSubrequests: number | undefined;
}

/**
 * The wrangler config as wrangler itself reads it (TOML or JSON, environments, validation).
 * wrangler is a development dependency: only this check loads it, and only when asked to.
 */
async function readWrangler(path: string, environment: string | undefined): Promise<WranglerSettings> {
  let wrangler: typeof import('wrangler');
  try {
    wrangler = await import('wrangler');
  } catch {
    throw new Error('wrangler is not installed (npm install --save-dev wrangler); checking the Worker needs it to read its config');
  }
  const config = wrangler.unstable_readConfig({ config: path, env: environment }, { hideWarnings: true });
  const vars: Env = {};
  // JSON-valued vars are bindings, not strings: the Worker never substitutes them (src/worker/plan-cache.ts).
  for (const [name, value] of Object.entries(config.vars ?? {})) {
    if (typeof value === 'string') vars[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') vars[name] = String(value);
  }
  return { vars, requiredSecrets: config.secrets?.required ?? [], limitSubrequests: config.limits?.subrequests };
}

/**
 * TRIBUTARY_MAX_SUBREQUESTS against what the platform allows: `[limits] subrequests` when set,
 * else the plan's default; and each endpoint's fixed count against the cap.
 */
function checkSubrequests(wrangler: WranglerSettings, result: CheckResult, errors: string[], warnings: string[], notes: string[]): void {
  const text = wrangler.vars[MAX_SUBREQUESTS_VAR];
  const cap = text === undefined || text.trim() === '' ? DEFAULT_MAX_SUBREQUESTS : Number(text);
  if (!(Number.isSafeInteger(cap) && cap > 0)) {
    errors.push(`${MAX_SUBREQUESTS_VAR} must be a positive integer, got "${text}": the Worker would answer 500 to every request`);
    return;
  }
  const limit = wrangler.limitSubrequests;
  const tracing = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'].some((name) => wrangler.vars[name]);
  const reserve = tracing ? 1 : 0;
  const source = text === undefined ? `default ${DEFAULT_MAX_SUBREQUESTS}` : `${MAX_SUBREQUESTS_VAR}=${cap}`;
  notes.push(
    `subrequest cap: ${cap} per request (${source}); ` +
      (limit === undefined
        ? `[limits] subrequests not set: the platform allows ${PLATFORM_DEFAULTS.free} on the Free plan, ${PLATFORM_DEFAULTS.paid.toLocaleString('en-US')} on Paid`
        : `[limits] subrequests = ${limit}`),
  );
  // The Worker cannot read [limits] at run time: the two settings are kept in step by hand.
  const keepInStep = `the Worker cannot read [limits] subrequests, so set ${MAX_SUBREQUESTS_VAR} to match it`;
  if (limit !== undefined && cap > limit) {
    warnings.push(
      `${MAX_SUBREQUESTS_VAR}=${cap} is more than [limits] subrequests = ${limit}: requests that need more than ${limit} pass Tributary's ` +
        `check and then have their last calls failed half-way by the platform; ${keepInStep}${tracing ? ` (${limit - 1}, one left for the trace export)` : ''}`,
    );
  } else if (limit !== undefined && cap < limit - reserve) {
    warnings.push(
      `${MAX_SUBREQUESTS_VAR}=${cap} is less than [limits] subrequests = ${limit}: Tributary refuses (422) requests the platform would allow; ` +
        `${keepInStep}${tracing ? ` (${limit - 1}, one left for the trace export)` : ''}`,
    );
  } else if (limit !== undefined && tracing && cap === limit) {
    warnings.push(`${MAX_SUBREQUESTS_VAR}=${cap} equals [limits] subrequests with tracing on: a request that uses every subrequest leaves none for its trace export; set ${limit - 1}`);
  } else if (limit === undefined && cap > PLATFORM_DEFAULTS.paid) {
    warnings.push(
      `${MAX_SUBREQUESTS_VAR}=${cap} is more than the Paid plan's default of ${PLATFORM_DEFAULTS.paid.toLocaleString('en-US')}; ` +
        `raise the platform's limit too, with [limits] subrequests = ${cap} (up to 10,000,000)`,
    );
  }
  for (const endpoint of result.plan.endpoints) {
    const fixed = fixedSubrequests(endpoint);
    if (fixed.total <= cap) continue;
    const fromResults = fixed.calls.filter((c) => c.rule === 'each-result').map((c) => c.call);
    errors.push(
      `endpoint ${endpoint.id}: every request needs up to ${fixed.total} subrequests, more than the cap of ${cap}, and would be refused (422)` +
        (fromResults.length > 0 ? `; lower "maxItems" of ${fromResults.join(', ')}` : '') +
        `; or raise ${MAX_SUBREQUESTS_VAR} (and [limits] subrequests with it)`,
    );
  }
}

function findUp(from: string, names: string[]): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    for (const name of names) if (existsSync(join(dir, name))) return join(dir, name);
    if (dirname(dir) === dir) return undefined;
  }
}

const describeNames = (names: string[]): string => (names.length > 0 ? names.join(', ') : 'none');
const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
