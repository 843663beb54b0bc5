import type { Template } from '../template.ts';
import { compileConfig } from './compile.ts';
import { envNames, standInEnv } from './env-names.ts';
import { CALL_BUDGET_FRACTION, callWorstCase, criticalPath, type CallWorstCase, type CriticalPath } from './critical-path.ts';
import type { CompiledEndpoint, Env, Plan } from './types.ts';

/** One call of an endpoint's plan, as `tributary check` prints it. */
export interface CallSummary {
  name: string;
  upstream: string;
  method: string;
  /** The path template as written: `/users/{params.userId}`. */
  path: string;
  required: boolean;
  hasFallback: boolean;
  /** `query.ids` for a call made once per element. */
  each: string | undefined;
  dependsOn: string[];
  worst: CallWorstCase;
}

export interface EndpointSummary {
  id: string;
  calls: CallSummary[];
  criticalPath: CriticalPath;
}

export interface CheckResult {
  /** Problems that stop the gateway from starting (or, on Workers, from answering). */
  errors: string[];
  /** Things that will work, but not as the config seems to intend. */
  warnings: string[];
  /** What compiled (with stand-ins for unset variables): fit to serve only when `errors` is empty. */
  plan: Plan;
  /** One per endpoint that compiled, in declaration order. */
  endpoints: EndpointSummary[];
}

/**
 * Validates and compiles a config without serving it: every schema and plan problem at once,
 * each endpoint's calls with their worst-case times, and a warning for each endpoint whose
 * critical path at its worst outlasts what its deadline gives the calls.
 *
 * @example
 * const result = checkConfig(JSON.parse(text), process.env);
 * if (result.errors.length > 0) process.exitCode = 1;
 */
export function checkConfig(raw: unknown, env: Env): CheckResult {
  const { plan: compiled, issues } = compileConfig(raw, env);
  // An unset variable is an error above; the plan is still worth showing, so it is compiled
  // again with stand-ins for the missing values (an upstream without its base URL drops out).
  const missing = envNames(raw).filter((name) => env[name] === undefined);
  const plan = missing.length > 0 ? compileConfig(raw, { ...env, ...standInEnv(raw, missing) }).plan : compiled;
  const warnings: string[] = [];
  const endpoints = plan.endpoints.map((endpoint) => {
    const summary = summarize(endpoint);
    const path = summary.criticalPath;
    if (!path.fits) warnings.push(deadlineWarning(endpoint.id, path));
    return summary;
  });
  return { errors: issues, warnings, plan, endpoints };
}

function summarize(endpoint: CompiledEndpoint): EndpointSummary {
  const calls = endpoint.calls.map(
    (call): CallSummary => ({
      name: call.name,
      upstream: call.upstream.name,
      method: call.method,
      path: templateText(call.path),
      required: call.required,
      hasFallback: call.fallback !== undefined,
      each: call.each?.text,
      dependsOn: call.dependsOn,
      worst: callWorstCase(call),
    }),
  );
  return { id: endpoint.id, calls, criticalPath: criticalPath(endpoint) };
}

function deadlineWarning(id: string, path: CriticalPath): string {
  const chain = path.calls.length > 1 ? `the chain ${path.calls.join(' -> ')}` : `call "${path.calls[0]}"`;
  return (
    `endpoint ${id}: ${chain} can take up to ${path.worstMs} ms at worst, more than the ${round(path.budgetMs)} ms its calls get ` +
    `(${CALL_BUDGET_FRACTION * 100}% of the ${path.deadlineMs} ms deadline); at worst, calls late in it fail with deadline_exceeded. ` +
    'Raise "deadlineMs" or lower the timeouts or retries along it'
  );
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** A parsed template back to its text. */
function templateText(template: Template): string {
  return template.map((part) => (typeof part === 'string' ? part : `{${part.text}}`)).join('');
}
