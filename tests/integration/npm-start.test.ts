/**
 * `npm start` under a process manager: the manager signals the npm process only (not its group),
 * so the signal must reach the server through npm. npm forwards SIGTERM to its direct child; the
 * start script execs Node, so that child is the server itself and no shell is left in between
 * to swallow it.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './gateway-server.ts';
import { repoRoot } from './node-process.ts';

const groups: number[] = [];
afterAll(() => {
  // Whatever is left of a failed run, orphaned server included: it stays in npm's process group.
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

describe('npm start', () => {
  it('SIGTERM sent to the npm process stops the server (no orphan keeps serving), and npm exits 0', async () => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v === undefined || k.startsWith('TRIBUTARY_') || k.startsWith('npm_') || k.startsWith('VITEST') || ['PORT', 'HOST', 'NODE_OPTIONS'].includes(k)) continue;
      env[k] = v;
    }
    const port = await freePort();
    // Its own process group, so the clean-up above can reach an orphan; the signal goes to npm alone.
    const npm = spawn('npm', ['start'], { cwd: repoRoot, env: { ...env, PORT: String(port) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    groups.push(npm.pid as number);
    let out = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    npm.stderr.resume();
    const exited = new Promise<number | string>((resolve) => npm.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));

    for (let i = 0; i < 300 && !out.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('listening on');
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    npm.kill('SIGTERM');
    const timer = setTimeout(() => npm.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    expect(code).toBe(0);
    // The server drained and exited with npm: nothing answers on its port any more.
    await expect(fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(out).toContain('SIGTERM: draining');
  }, 30_000);
});
