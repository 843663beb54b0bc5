/**
 * The demo Worker for the workerd tests: the Worker entry's handler (createWorker, what
 * src/worker.ts exports) around the demo config's own module, with the main Worker's bindings
 * (wrangler.toml [vars] plus the test project's USERS_URL, ...). Shaped like `exports` from
 * `cloudflare:workers`, so a test calls `demoExports.default.fetch(url)`. Not src/worker/config.ts:
 * that slot is the user's, and putting one's own config there must not break these tests.
 */
import { env } from 'cloudflare:workers';
import demoConfig from '../../src/worker/demo-config.ts';
import { createWorker } from '../../src/worker/handler.ts';
import { executionContext } from './helpers.ts';

const worker = createWorker(demoConfig);

export const demoExports = {
  default: {
    fetch: (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => worker.fetch(new Request(input, init), env, executionContext()),
  },
};
