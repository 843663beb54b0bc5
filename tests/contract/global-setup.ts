/**
 * Runs in Node, whatever runtime the contract tests run in: starts the loopback test
 * upstream and hands its URL to the tests (`inject('upstreamUrl')`).
 */
import type { TestProject } from 'vitest/node';
import { startUpstream } from '../support/upstream-server.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const upstream = await startUpstream();
  project.provide('upstreamUrl', upstream.url);
  return () => upstream.close();
}
