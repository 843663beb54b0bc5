// The parts of `cloudflare:test` (@cloudflare/vitest-plugin) these tests use; there are no workers-types here.
declare module 'cloudflare:test' {
  import type { ExecutionContext } from 'hono';
  /** An ExecutionContext whose `waitUntil` promises the test can wait for. */
  export function createExecutionContext(): ExecutionContext;
  /** Resolves when every promise given to the context's `waitUntil` has settled. */
  export function waitOnExecutionContext(ctx: ExecutionContext): Promise<void>;
}
