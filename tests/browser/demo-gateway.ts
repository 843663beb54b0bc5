/**
 * The built-in demo, started the way `npm start` starts it (src/node.ts, no config file), on a
 * free loopback port: its /docs page, /openapi.json and endpoints are the real ones.
 */
import { startNode, exitWithin, type NodeProcess } from '../integration/node-process.ts';
import { freePort } from '../support/free-port.ts';

export interface DemoGateway {
  url: string;
  proc: NodeProcess;
  stop(): Promise<void>;
}

export async function startDemoGateway(): Promise<DemoGateway> {
  const port = await freePort();
  const proc = startNode({ PORT: String(port), OTEL_SDK_DISABLED: 'true', TRIBUTARY_LOG_LEVEL: 'warn' });
  try {
    await waitUntilUp(`http://127.0.0.1:${port}/healthz`, proc, 30_000);
  } catch (error) {
    proc.kill();
    throw error;
  }
  const stop = async (): Promise<void> => {
    proc.child.kill('SIGTERM');
    await exitWithin(proc, 5000);
  };
  return { url: `http://127.0.0.1:${port}`, proc, stop };
}

async function waitUntilUp(url: string, proc: NodeProcess, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (proc.child.exitCode !== null) throw new Error(`the demo exited: ${proc.stderr()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the demo did not answer ${url} within ${ms} ms; stderr: ${proc.stderr()}`);
}
