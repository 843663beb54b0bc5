/**
 * `npm run dev:worker`: the Worker in local workerd (`wrangler dev`) with the demo upstreams
 * running beside it, in Node, on loopback ports chosen by the OS. Their URLs reach the Worker
 * as variables (`--var USERS_URL:http://127.0.0.1:<port>` ...), which the bundled config
 * (src/worker/config.ts) substitutes. Ctrl-C stops both.
 *
 *   PORT   the Worker's port, default 8787        HOST   default 127.0.0.1
 *   Extra arguments go to `wrangler dev`, e.g. `npm run dev:worker -- --var TRIBUTARY_MAX_SUBREQUESTS:1000`.
 *
 * Nothing here talks to Cloudflare: local mode, no telemetry, no request.cf lookup.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoUpstreams } from '../src/node/demo.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const host = process.env.HOST ?? '127.0.0.1';
const port = process.env.PORT ?? '8787';

const demo = await startDemoUpstreams();
const vars = { USERS_URL: demo.urls.users, ORDERS_URL: demo.urls.orders, RECS_URL: demo.urls.recs, CATALOG_URL: demo.urls.catalog };
console.log(`demo upstreams: ${Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ')}`);

const args = [
  join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
  'dev',
  '--local',
  '--ip', host,
  '--port', port,
  ...Object.entries(vars).flatMap(([name, url]) => ['--var', `${name}:${url}`]),
  ...process.argv.slice(2),
];
const wrangler = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', ...process.env },
});
console.log('try:');
console.log(`  curl -i http://${host}:${port}/v1/dashboard/42`);
console.log(`  curl -i 'http://${host}:${port}/v1/items?ids=1,2,3'`);
console.log(`  curl -i http://${host}:${port}/v1/users/42/with-manager`);

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  // wrangler tears workerd down on SIGINT/SIGTERM; the upstreams close once it has exited.
  if (wrangler.exitCode === null) wrangler.kill(signal);
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

wrangler.once('error', async (error) => {
  console.error(`cannot start wrangler: ${error.message}`);
  await demo.close();
  process.exit(1);
});
wrangler.once('exit', async (code, signal) => {
  await demo.close();
  process.exit(code ?? (signal ? 0 : 1));
});
