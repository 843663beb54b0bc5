/**
 * Your Worker's config: the one module the Worker bundles (src/worker.ts imports it). Workers
 * have no file system, so the config is part of the bundle: replace this file's contents with
 * your own and rebuild (`npm run build:worker`) or redeploy (`npm run deploy`):
 *
 *   import { defineConfig } from 'tributary';
 *   export default defineConfig({ upstreams: { ... }, endpoints: [ ... ] });
 *
 * or a JSON config: `import config from '../../tributary.json' with { type: 'json' }; export default config;`
 *
 * Base URLs and secret headers are `${NAME}` placeholders, filled from the Worker's variables
 * and secrets (`[vars]` in wrangler.toml, `wrangler secret put NAME`, `--var NAME:value` in
 * dev) when the plan is compiled. `npm run check` (or `npx tributary check --worker`) checks
 * this module against the names wrangler.toml provides before you deploy.
 *
 * Until then it is the built-in demo (src/worker/demo-config.ts), whose upstreams are named by
 * USERS_URL, ORDERS_URL, RECS_URL and CATALOG_URL; `npm run dev:worker` starts the demo
 * upstreams and sets them. The tests use the demo module itself, so they do not depend on what
 * this file holds.
 */
export { default } from './demo-config.ts';
