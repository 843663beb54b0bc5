/**
 * A real `redis-server` (the Debian package `redis-server`; `.ci/run` installs it) on a free
 * loopback port, with nothing saved to disk. Node only. When the binary is missing the tests that
 * need it fail with a message that says how to install it; they never skip.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port.ts';

export interface RedisServer {
  url: string;
  port: number;
  /** SIGKILL: the outage a gateway must survive. */
  kill(): Promise<void>;
}

export const REDIS_MISSING =
  'redis-server is not installed, and the Redis cache tests need a real one: run `apt-get install -y redis-server` (.ci/run does)';

export async function startRedis(): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) throw new Error(REDIS_MISSING);
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    // DEBUG SLEEP (from loopback only) lets a test make Redis slow without killing it.
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--enable-debug-command', 'local'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s: ${out}`)), 10_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
