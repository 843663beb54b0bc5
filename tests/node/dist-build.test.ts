/**
 * `npm run build` compiles src/ to JavaScript for a production start without type stripping
 * (`npm run start:dist`). The built entry must serve what the source serves: the demo answers,
 * and SIGTERM drains it as usual.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { exitWithin, repoRoot, startNode } from '../integration/node-process.ts';
import { freePort } from '../integration/gateway-server.ts';

const run = promisify(execFile);
// Inside the repository, so the built files resolve node_modules as dist/js does.
const outDir = join(repoRoot, 'dist', `js-test-${process.pid}`);

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('compiles an entry that serves the demo and drains on SIGTERM, like the source', async () => {
    const tsc = join(repoRoot, 'node_modules', '.bin', 'tsc');
    await run(tsc, ['-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir], { cwd: repoRoot });
    const port = await freePort();
    const gateway = startNode({ PORT: String(port) }, join(outDir, 'node.js'));
    try {
      await gateway.printed('tributary listening on', 30_000);
      const res = await fetch(`http://127.0.0.1:${port}/v1/dashboard/42`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: { profile: { id: string } } };
      expect(body.data.profile.id).toBe('42');
      gateway.child.kill('SIGTERM');
      expect(await exitWithin(gateway, 20_000)).toBe(0);
    } finally {
      gateway.kill();
    }
  }, 90_000);
});
