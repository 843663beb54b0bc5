/**
 * Runs in Node before the workerd projects: the demo upstreams (users, orders, recs, catalog),
 * so the bundled demo config can be exercised end to end through the Worker's own `fetch`.
 * The generic test upstream (`upstreamUrl`) comes from tests/contract/global-setup.ts.
 */
import type { TestProject } from 'vitest/node';
import { startDemoUpstreams } from '../../src/node/demo.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const demo = await startDemoUpstreams();
  project.provide('demoUpstreams', demo.urls);
  return () => demo.close();
}
