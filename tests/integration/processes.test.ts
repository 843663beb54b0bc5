/**
 * TRIBUTARY_PROCESSES: several Node processes serving one port (node:cluster). Every process
 * answers, the upstream still sees at most its `maxConcurrency` from the whole host, a process
 * that dies is replaced, and SIGTERM to the primary drains them all.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProcesses } from '../../src/node/cluster.ts';
import { startUpstream, type Upstream } from '../support/upstream-server.ts';
import { freePort } from './gateway-server.ts';
import { logLines } from './log-lines.ts';
import { exitWithin, startNode, type NodeProcess } from './node-process.ts';

let dir: string;
let upstream: Upstream;
const running: NodeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-processes-'));
  upstream = await startUpstream();
});
afterAll(async () => {
  for (const p of running) p.kill();
  await upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Two processes in front of one upstream whose bulkhead is `maxConcurrency`; each call takes `ms`. */
async function startTwo(scope: string, maxConcurrency: number, ms: number) {
  const file = join(dir, `${scope}.json`);
  await writeFile(
    file,
    JSON.stringify({
      upstreams: { u: { baseUrl: `${upstream.url}/s/${scope}`, timeoutMs: 8000, maxConcurrency, maxQueue: 1000 } },
      endpoints: [{ path: '/v1/slow/:id', deadlineMs: 9000, calls: { slow: { upstream: 'u', path: `/delay/${ms}/{params.id}`, required: true } } }],
    }),
  );
  const port = await freePort();
  const gateway = startNode({ TRIBUTARY_CONFIG: file, PORT: String(port), TRIBUTARY_PROCESSES: '2', TRIBUTARY_MAX_IN_FLIGHT: '1000' });
  running.push(gateway);
  await gateway.printed(/listening on[^\n]*\n[\s\S]*listening on/, 40_000);
  return { gateway, base: `http://127.0.0.1:${port}` };
}

/** The pids that wrote access-log lines. */
function servingPids(gateway: NodeProcess): Set<number> {
  return new Set(logLines(gateway.stdout()).filter((l) => l.msg === 'request').map((l) => l.pid as number));
}

describe('TRIBUTARY_PROCESSES', () => {
  it('reads a number, "auto" as one per core, and refuses anything else by name', () => {
    expect(readProcesses({})).toBe(1);
    expect(readProcesses({ TRIBUTARY_PROCESSES: '3' })).toBe(3);
    expect(readProcesses({ TRIBUTARY_PROCESSES: 'auto' }, 8)).toBe(8);
    expect(() => readProcesses({ TRIBUTARY_PROCESSES: 'two' })).toThrow(/TRIBUTARY_PROCESSES must be a whole number from 1 to 256, or "auto".*"two"/);
    expect(() => readProcesses({ TRIBUTARY_PROCESSES: '0' })).toThrow(/TRIBUTARY_PROCESSES/);
  });

  it('a bad value stops the start with one line, before any process is forked', async () => {
    const gateway = startNode({ TRIBUTARY_PROCESSES: 'lots', PORT: String(await freePort()) });
    running.push(gateway);
    expect(await exitWithin(gateway, 20_000)).toBe(1);
    expect(gateway.stderr()).toMatch(/TRIBUTARY_PROCESSES must be a whole number/);
  });

  it('two processes both serve the port, and the upstream sees at most its maxConcurrency from the host', async () => {
    const scope = 'share';
    const { gateway, base } = await startTwo(scope, 4, 100);
    // New connections each: the primary hands them to the processes in turn.
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) => fetch(`${base}/v1/slow/${i}`, { headers: { connection: 'close' } }).then((r) => r.status)),
    );
    expect(answers.every((s) => s === 200)).toBe(true);
    const stats = (await (await fetch(`${upstream.url}/s/${scope}/__stats`)).json()) as { peakInFlight: number; requests: number };
    expect(stats.requests).toBe(24);
    // Each process holds 4 / 2 = 2 slots: the host as a whole never exceeds the configured 4.
    expect(stats.peakInFlight).toBeLessThanOrEqual(4);
    expect(servingPids(gateway).size).toBe(2);
  }, 60_000);

  it('a process that dies is replaced, and the port keeps answering', async () => {
    const { gateway, base } = await startTwo('replace', 8, 1);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const pid = logLines(gateway.stdout()).find((l) => String(l.msg).startsWith('tributary listening'))?.pid as number;
    process.kill(pid, 'SIGKILL');
    await gateway.printed(new RegExp(`process ${pid} exited \\(signal SIGKILL\\); starting another`), 20_000);
    // The replacement announces itself; meanwhile the other process answers.
    await gateway.printed(/(listening on[\s\S]*){3}/, 40_000);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`${base}/v1/slow/${i}`, { headers: { connection: 'close' } })));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
  }, 90_000);

  it('SIGTERM to the primary drains every process: in-flight requests finish, then all exit 0', async () => {
    const { gateway, base } = await startTwo('drain', 8, 600);
    const inFlight = Promise.all(Array.from({ length: 4 }, (_, i) => fetch(`${base}/v1/slow/${i}`, { headers: { connection: 'close' } })));
    // Let the requests reach the upstream before the signal.
    for (let i = 0; i < 100; i++) {
      const stats = (await (await fetch(`${upstream.url}/s/drain/__stats`)).json()) as { inFlight: number };
      if (stats.inFlight === 4) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    gateway.child.kill('SIGTERM');
    expect((await inFlight).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await exitWithin(gateway, 30_000)).toBe(0);
    const lines = logLines(gateway.stdout());
    expect(lines.some((l) => l.msg === 'SIGTERM: stopping 2 processes')).toBe(true);
    expect(lines.filter((l) => String(l.msg).startsWith('SIGTERM: draining')).length).toBe(2);
  }, 90_000);
});
