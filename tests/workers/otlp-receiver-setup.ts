/**
 * globalSetup of the `workerd` project (Node): the OTLP/HTTP receiver the tracing tests export
 * to, and a loopback URL where nothing listens (an unreachable collector).
 */
import type { TestProject } from 'vitest/node';
import { closedPortUrl, startOtlpReceiver } from './otlp-receiver.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const receiver = await startOtlpReceiver();
  project.provide('otlpReceiverUrl', receiver.url);
  project.provide('closedUrl', await closedPortUrl());
  return () => receiver.close();
}
