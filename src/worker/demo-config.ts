/**
 * The built-in demo as a Worker config: the endpoints of src/services/demo-config.ts (the same
 * as the Node demo), with the upstreams named by the Worker variables USERS_URL, ORDERS_URL,
 * RECS_URL and CATALOG_URL. It is what src/worker/config.ts bundles until you put your own
 * config there, and what the Worker tests (tests/workers/) run, whatever that slot holds.
 */
import { demoConfig } from '../services/demo-config.ts';

export default demoConfig({
  users: '${USERS_URL}',
  orders: '${ORDERS_URL}',
  recs: '${RECS_URL}',
  catalog: '${CATALOG_URL}',
});
