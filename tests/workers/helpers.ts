/**
 * Helpers for the workerd tests: a Worker built from a test config, called the way the
 * runtime calls it (`fetch(request, env, ctx)`), against the Node test upstream on loopback.
 */
import type { ExecutionContext } from 'hono';
import { createWorker, type WorkerEnv, type WorkerHandler } from '../../src/worker/handler.ts';
import type { TributaryConfigInput } from '../../src/services/config-schema.ts';

export { eventually, upstreamScope, type AggregateBody } from '../contract/harness.ts';

/** An execution context whose waitUntil promises can be awaited. */
export function executionContext(): ExecutionContext & { settled(): Promise<void> } {
  const pending: Promise<unknown>[] = [];
  return {
    waitUntil: (promise) => void pending.push(promise),
    passThroughOnException: () => {},
    props: {},
    settled: async () => void (await Promise.allSettled(pending)),
  };
}

export interface TestWorker {
  worker: WorkerHandler;
  /** What the Worker logged: config problems, cap warnings, faults. */
  logs: string[];
  /** Its access-log lines (JSON), kept here instead of printed. */
  accessLines: string[];
  /** One request through the Worker's fetch; the body parsed as JSON. */
  request<B = any>(path: string, env: WorkerEnv, init?: RequestInit): Promise<{ status: number; headers: Headers; body: B }>;
}

export function testWorker(config: TributaryConfigInput): TestWorker {
  const logs: string[] = [];
  const accessLines: string[] = [];
  const worker = createWorker(config, (message) => void logs.push(message), (line) => void accessLines.push(line));
  return {
    worker,
    logs,
    accessLines,
    async request(path, env, init) {
      const response = await worker.fetch(new Request(`http://gateway.test${path}`, init), env, executionContext());
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
      }
      return { status: response.status, headers: response.headers, body: body as never };
    },
  };
}
