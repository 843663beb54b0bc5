/**
 * The gateway's own work per request, without sockets: the app of checkout ROOT (default: this
 * one) in-process (bench/lib/in-process-app.ts), no telemetry SDK. WARM requests, then N measured
 * ones, 50 at a time. Under callgrind (bench/instructions.ts)
 * the counters are zeroed after the warm-up and dumped after the N requests.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { drive, inProcessGateway } from './in-process-app.ts';

const root = resolve(process.env.ROOT ?? join(import.meta.dirname, '../..'));
const warm = Number(process.env.WARM ?? 1000);
const measured = Number(process.env.N ?? 1000);
const underCallgrind = process.env.CALLGRIND === '1';
const app = (await inProcessGateway(root)).app();

const callgrind = (flag: string): void => {
  if (underCallgrind) execFileSync('callgrind_control', [flag, String(process.pid)], { stdio: 'ignore' });
};
await drive(app, warm);
callgrind('-z');
const cpu = process.cpuUsage();
await drive(app, measured);
const used = process.cpuUsage(cpu);
callgrind('-d');
if (!underCallgrind) console.log(`${((used.user + used.system) / 1000 / measured).toFixed(4)} CPU ms per request`);
