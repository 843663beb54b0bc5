import type { TributaryConfigInput } from '../../src/services/config-schema.ts';
import { expect } from 'vitest';
import { compilePlan, ConfigError, type CompiledEndpoint, type CompiledUpstream, type Plan } from '../../src/services/plan/index.ts';

/** Compiles a config for a test; a refusal fails the test with the compiler's message. */
export function planOf(config: TributaryConfigInput, env: Record<string, string> = {}): Plan {
  return compilePlan(config, env);
}

/** The endpoint at `index` of a plan (the first by default). */
export function endpointOf(plan: Plan, index = 0): CompiledEndpoint {
  const endpoint = plan.endpoints[index];
  if (!endpoint) throw new Error(`the plan has no endpoint #${index}`);
  return endpoint;
}

/** One compiled upstream, `http://users.test`, with the given settings. */
export function upstreamOf(settings: Partial<Record<string, unknown>> = {}): CompiledUpstream {
  const plan = compilePlan({
    upstreams: { users: { baseUrl: 'http://users.test', ...settings } },
    endpoints: [{ path: '/x', calls: { a: { upstream: 'users', path: '/a' } } }],
  });
  return plan.upstreams.get('users') as CompiledUpstream;
}

/** The compiler's issues for a config; fails the test if it compiled. */
export function refusal(raw: unknown): string[] {
  try {
    compilePlan(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues;
  }
  throw new Error('expected the config to be refused');
}
