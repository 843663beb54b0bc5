/**
 * The globalSetup of the contract-deno and contract-bun projects (after tests/contract/global-setup.ts,
 * which starts the loopback upstream): starts the contract host under the runtime and hands its
 * URL to the tests (`inject('gatewayHost')`). A runtime that cannot start fails the run, saying why.
 */
import type { TestProject } from 'vitest/node';
import { exitWithin } from '../integration/node-process.ts';
import { RUNTIMES, startUnder, type RuntimeName } from './runtimes.ts';

export function hostSetup(name: RuntimeName): (project: TestProject) => Promise<() => Promise<void>> {
  return async (project) => {
    const runtime = RUNTIMES[name];
    const host = startUnder(runtime, 'tests/runtimes/contract-host.ts', {});
    try {
      await host.printed(/contract host listening on \d+/, 30_000);
    } catch (error) {
      host.kill();
      throw new Error(`${runtime.label} did not start the contract host: ${(error as Error).message}`);
    }
    const url = `http://127.0.0.1:${/contract host listening on (\d+)/.exec(host.stdout())?.[1]}`;
    project.provide('gatewayHost', url);
    return async () => {
      const stats = (await (await fetch(`${url}/__host/stats`)).json()) as { gateways: number; requests: number };
      host.child.kill('SIGTERM');
      await exitWithin(host, 5000);
      // A harness that quietly built its gateways in Node would pass without testing the runtime.
      if (stats.requests === 0) throw new Error(`no contract test reached the ${runtime.label} gateway host: the suite ran in Node, not in ${runtime.label}`);
    };
  };
}
