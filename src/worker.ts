/**
 * The Workers entry: the bundled config (src/worker/config.ts), the platform fetch, one app per
 * isolate and one engine per request. Worker variables and secrets:
 *
 *   ${NAME} in the config    base URLs and secret headers, e.g. USERS_URL (`wrangler secret put NAME`)
 *   TRIBUTARY_MAX_SUBREQUESTS  upstream requests one client request may make: 50 (Free plan, the
 *                              default); on Paid 10,000, or what wrangler.toml [limits] subrequests
 *                              sets (keep the two equal); a request that could need more gets a 422
 *   TRIBUTARY_DEBUG_TOKEN      callers sending it in `x-tributary-debug` get per-call Server-Timing
 *   TRIBUTARY_LOG_LEVEL        debug, info (default), warn, error or silent
 *   TRIBUTARY_ACCESS_LOG=0     no access log (one JSON line per request with console.log otherwise)
 */
import config from './worker/config.ts';
import { createWorker } from './worker/handler.ts';

export default createWorker(config);
