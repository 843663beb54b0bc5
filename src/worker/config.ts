/**
 * The config bundled with the Worker. Workers have no file system, so the config is part of
 * the bundle: edit this module (or make it re-export a JSON file:
 * `import config from '../../tributary.json' with { type: 'json' }`) and redeploy.
 *
 * Base URLs and secret headers are `${NAME}` placeholders, filled from the Worker's variables
 * and secrets (`[vars]` in wrangler.toml, `wrangler secret put NAME`, `--var NAME:value` in
 * dev) when the plan is compiled.
 *
 * This is the built-in demo (src/services/demo-config.ts, the same endpoints as the Node demo), with its
 * upstreams named by USERS_URL, ORDERS_URL, RECS_URL and CATALOG_URL; `npm run dev:worker`
 * starts the demo upstreams and sets them.
 */
import { demoConfig } from '../services/demo-config.ts';

export default demoConfig({
  users: '${USERS_URL}',
  orders: '${ORDERS_URL}',
  recs: '${RECS_URL}',
  catalog: '${CATALOG_URL}',
});
