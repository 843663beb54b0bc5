import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Inside workerd: the Worker built from wrangler.toml (so its compatibility date and flags), with
 * the demo upstreams' URLs as its variables. The upstreams run in Node (globalSetup) on loopback.
 */
const workerd = cloudflareTest(({ inject }) => {
  const demo = inject('demoUpstreams');
  return {
    wrangler: { configPath: './wrangler.toml' },
    miniflare: {
      bindings: { USERS_URL: demo.users, ORDERS_URL: demo.orders, RECS_URL: demo.recs, CATALOG_URL: demo.catalog },
    },
  };
});
const workerdSetup = ['tests/contract/global-setup.ts', 'tests/workers/global-setup.ts'];
/** Fails the run if a workerd project is somehow not running inside workerd. */
const inWorkerd = ['tests/workers/in-workerd.ts'];

export default defineConfig({
  test: {
    testTimeout: 15_000,
    hookTimeout: 15_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'tests/contract/**', 'tests/workers/**'],
        },
      },
      {
        // The response contract, runtime-agnostic: the same files run in workerd elsewhere.
        extends: true,
        test: {
          name: 'contract-node',
          include: ['tests/contract/**/*.test.ts'],
          globalSetup: ['tests/contract/global-setup.ts'],
        },
      },
      {
        // The same response-contract files, against gateways running under Deno and under Bun
        // (their own server and fetch), driven over HTTP from here: tests/runtimes/contract-host.ts.
        extends: true,
        test: { name: 'contract-deno', include: ['tests/contract/**/*.test.ts'], globalSetup: ['tests/contract/global-setup.ts', 'tests/runtimes/deno-host-setup.ts'] },
      },
      {
        extends: true,
        test: { name: 'contract-bun', include: ['tests/contract/**/*.test.ts'], globalSetup: ['tests/contract/global-setup.ts', 'tests/runtimes/bun-host-setup.ts'] },
      },
      {
        // The Worker entry itself, in workerd: fetch handler, subrequest cap, env overrides, and
        // trace export (to an OTLP/HTTP receiver that only this project starts).
        extends: true,
        plugins: [workerd],
        test: { name: 'workerd', include: ['tests/workers/**/*.test.ts'], globalSetup: [...workerdSetup, 'tests/workers/otlp-receiver-setup.ts'], setupFiles: inWorkerd },
      },
      {
        // The same response-contract files as contract-node, run inside workerd.
        extends: true,
        plugins: [workerd],
        test: { name: 'contract-workerd', include: ['tests/contract/**/*.test.ts'], globalSetup: workerdSetup, setupFiles: inWorkerd },
      },
    ],
  },
});
