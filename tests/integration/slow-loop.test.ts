/**
 * TRIBUTARY_SLOW_LOOP_MS in a real Node process: a handler that blocks the event loop (the
 * in-process upstream of blocking-config.ts) is reported in one warn line naming the route.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './gateway-server.ts';
import { logLines } from './log-lines.ts';
import { exitWithin, startNode, type NodeProcess } from './node-process.ts';

const CONFIG = fileURLToPath(new URL('./blocking-config.ts', import.meta.url));
const running: NodeProcess[] = [];
afterAll(() => {
  for (const p of running) p.kill();
});

async function run(env: Record<string, string>, requests: number): Promise<Record<string, unknown>[]> {
  const port = await freePort();
  const proc = startNode({ TRIBUTARY_CONFIG: CONFIG, PORT: String(port), TRIBUTARY_ACCESS_LOG: '0', ...env });
  running.push(proc);
  await proc.printed('listening on', 20_000);
  // At once: the blocks follow each other within a second.
  const statuses = await Promise.all(
    Array.from({ length: requests }, () => fetch(`http://127.0.0.1:${port}/v1/blocking`, { signal: AbortSignal.timeout(20_000) }).then((r) => r.status)),
  );
  expect(statuses).toEqual(Array(requests).fill(200));
  proc.child.kill('SIGTERM');
  expect(await exitWithin(proc, 15_000)).toBe(0);
  return logLines(proc.stdout()).filter((line) => typeof line.msg === 'string' && line.msg.startsWith('event loop blocked'));
}

describe('TRIBUTARY_SLOW_LOOP_MS', () => {
  it('a handler that blocks the loop for 300 ms is logged once, with the delay and the route being served', async () => {
    const lines = await run({ BLOCK_MS: '300' }, 1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'warn',
      thresholdMs: 100,
      routes: ['GET /v1/blocking'],
      delayMs: expect.any(Number),
    });
    expect(lines[0]?.delayMs as number).toBeGreaterThan(100);
    expect(lines[0]?.msg).toMatch(/^event loop blocked for \d+ ms \(over TRIBUTARY_SLOW_LOOP_MS=100\) while serving GET \/v1\/blocking$/);
  });

  it('blocks shorter than the threshold are not logged', async () => {
    expect(await run({ BLOCK_MS: '300', TRIBUTARY_SLOW_LOOP_MS: '5000' }, 2)).toEqual([]);
  });

  it('0 turns the watch off', async () => {
    expect(await run({ BLOCK_MS: '300', TRIBUTARY_SLOW_LOOP_MS: '0' }, 1)).toEqual([]);
  });
});
