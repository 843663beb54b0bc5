/**
 * Load shedding in the real Node process (`node src/node.ts`): TRIBUTARY_MAX_IN_FLIGHT read at
 * start-up, a burst beyond it refused at once while the admitted requests still wait for their
 * upstream, the health probes always answered, capacity back once the admitted ones finish.
 * The upstream is a gate the test opens: ordering, not wall-clock time, proves "at once".
 */
import { createServer, type ServerResponse } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort } from './gateway-server.ts';
import { exitWithin, startNode, type NodeProcess } from './node-process.ts';

/** An upstream that holds every request until `open()`; once open, it answers at once. */
function gateUpstream() {
  const held: ServerResponse[] = [];
  let isOpen = false;
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  };
  const server = createServer((req, res) => {
    req.resume();
    if (isOpen) return answer(res);
    held.push(res);
    res.once('close', () => {
      const at = held.indexOf(res);
      if (at >= 0) held.splice(at, 1);
    });
  });
  return {
    server,
    held: () => held.length,
    open(): void {
      isOpen = true;
      for (const res of held.splice(0)) answer(res);
    },
    close(): void {
      isOpen = true;
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

let dir: string;
let gate: ReturnType<typeof gateUpstream>;
let configFile: string;
const running: NodeProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-shedding-'));
  gate = gateUpstream();
  await new Promise<void>((resolve) => gate.server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(gate.server.address() as AddressInfo).port}`;
  configFile = join(dir, 'config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      upstreams: { gate: { baseUrl: url, timeoutMs: 10_000 } },
      endpoints: [{ path: '/v1/slow/:id', deadlineMs: 10_000, calls: { slow: { upstream: 'gate', path: '/slow/{params.id}', required: true } } }],
    }),
  );
});
afterAll(async () => {
  for (const p of running) p.kill();
  gate?.close();
  await rm(dir, { recursive: true, force: true });
});

async function gateway(env: Record<string, string>): Promise<{ proc: NodeProcess; base: string }> {
  const port = await freePort();
  const proc = startNode({ TRIBUTARY_CONFIG: configFile, PORT: String(port), TRIBUTARY_ACCESS_LOG: '0', ...env });
  running.push(proc);
  await proc.printed('requests in flight');
  return { proc, base: `http://127.0.0.1:${port}` };
}

describe('load shedding in the Node process', () => {
  it('with TRIBUTARY_MAX_IN_FLIGHT=4, a burst of 7: 3 refused at once with 503 and Retry-After while 4 wait, then 4 x 200; capacity returns', async () => {
    const { proc, base } = await gateway({ TRIBUTARY_MAX_IN_FLIGHT: '4' });
    expect(proc.stdout()).toContain('at most 4 endpoint requests in flight');
    const admitted = [1, 2, 3, 4].map((i) => fetch(`${base}/v1/slow/${i}`));
    await eventually(() => gate.held() === 4);

    const refused = await Promise.all([5, 6, 7].map((i) => fetch(`${base}/v1/slow/${i}`)));
    // Answered while the 4 admitted requests still wait at the upstream, which saw nothing more.
    expect(gate.held()).toBe(4);
    for (const res of refused) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('overloaded');
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);

    gate.open();
    expect((await Promise.all(admitted)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const again = await Promise.all([8, 9, 10, 11].map((i) => fetch(`${base}/v1/slow/${i}`)));
    expect(again.map((r) => r.status)).toEqual([200, 200, 200, 200]);

    proc.child.kill('SIGTERM');
    expect(await exitWithin(proc, 10_000)).toBe(0);
    expect(proc.stderr()).toBe('');
  });

  it('without TRIBUTARY_MAX_IN_FLIGHT the limit is derived from the bulkheads (one upstream of 64: 128)', async () => {
    const { proc } = await gateway({});
    expect(proc.stdout()).toContain('at most 128 endpoint requests in flight');
    proc.child.kill('SIGTERM');
    expect(await exitWithin(proc, 10_000)).toBe(0);
  });

  it('TRIBUTARY_MAX_IN_FLIGHT=0 is refused at start-up: exit 1, the variable named, no stack trace', async () => {
    const proc = startNode({ TRIBUTARY_CONFIG: configFile, PORT: String(await freePort()), TRIBUTARY_MAX_IN_FLIGHT: '0' });
    running.push(proc);
    expect(await exitWithin(proc, 10_000)).toBe(1);
    expect(proc.stderr()).toContain('TRIBUTARY_MAX_IN_FLIGHT must be a whole number of requests >= 1, got "0"');
    expect(proc.stderr()).not.toMatch(/^\s+at\s/m);
  });
});
