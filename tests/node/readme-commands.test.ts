/**
 * The README's example commands, run as written: the example upstreams on their fixed ports,
 * the gateway on the example config, the check, and the curl request. The ports (4001–4004 and
 * 8787) must be free; a test says which one is not.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

/** Exactly as they appear in README.md, "Configuring your own endpoints". */
export const README_COMMANDS = {
  upstreams: 'npm run example-upstreams',
  gateway: 'TRIBUTARY_CONFIG=examples/dashboard.config.json USERS_API_KEY=secret npm start',
  request: "curl -i 'http://127.0.0.1:8787/v1/dashboard/42?ids=1,2'",
  check: 'npm run check -- examples/dashboard.config.json --secret USERS_API_KEY',
} as const;
const PORTS = [4001, 4002, 4003, 4004, 8787];

/** The environment a person's shell would have: none of the test runner's settings. */
function shellEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('TRIBUTARY_') || k.startsWith('VITEST') || ['PORT', 'HOST', 'NODE_OPTIONS', 'INIT_CWD', 'USERS_API_KEY'].includes(k)) continue;
    env[k] = v;
  }
  return env;
}

interface Shell {
  child: ChildProcess;
  output(): string;
  /** Resolves when the output shows `text`; rejects when the command exits first or after 30 s. */
  printed(text: string): Promise<void>;
}

const started: ChildProcess[] = [];

/** Runs a command line in `sh`, in its own process group so that npm and its children stop together. */
function shell(command: string): Shell {
  const child = spawn('sh', ['-c', command], { cwd: ROOT, env: shellEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const printed = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`"${command}" did not print "${text}" within 30 s:\n${out}`)), 30_000);
      const check = (): void => {
        if (out.includes(text)) done();
      };
      const exited = (): void => done(new Error(`"${command}" exited before printing "${text}":\n${out}`));
      const done = (error?: Error): void => {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        child.off('exit', exited);
        if (error) reject(error);
        else resolve();
      };
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('exit', exited);
      check();
    });
  return { child, output: () => out, printed };
}

/** Stops a command's whole process group (npm, sh and node), SIGKILL if SIGTERM is not enough. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals): void => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // The group is gone already.
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
  signal('SIGKILL'); // Anything in the group that outlived its shell.
}

afterAll(async () => {
  await Promise.all(started.map(stop));
});

/** Whether something already listens on 127.0.0.1:`port`. */
function inUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server: Server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

describe('README: the example config and its upstreams', () => {
  it('shows the commands this test runs, as written here', () => {
    const readme = readFileSync(new URL('README.md', `file://${ROOT}`), 'utf8');
    const missing = Object.values(README_COMMANDS).filter((command) => !readme.includes(command));
    expect(missing, 'README.md should show these commands as written').toEqual([]);
  });

  it('`npm run check` passes the example config', async () => {
    const { stdout } = await run('sh', ['-c', README_COMMANDS.check], { cwd: ROOT, env: shellEnv() });
    expect(stdout).toContain('examples/dashboard.config.json: ok (4 upstreams, 1 endpoint)');
    expect(stdout).toContain('critical path: profile -> manager');
  }, 30_000);

  it('the example upstreams and the gateway answer the README request with the dashboard', async () => {
    const busy = [];
    for (const port of PORTS) if (await inUse(port)) busy.push(port);
    expect(busy, `these ports must be free for the README's commands: ${busy.join(', ')}`).toEqual([]);

    const upstreams = shell(README_COMMANDS.upstreams);
    const gateway = shell(README_COMMANDS.gateway);
    let stdout: string;
    try {
      await upstreams.printed('example upstreams are running');
      await gateway.printed('tributary listening on http://127.0.0.1:8787');
      ({ stdout } = await run('sh', ['-c', README_COMMANDS.request], { cwd: ROOT, env: shellEnv() }));
    } finally {
      await Promise.all([stop(gateway.child), stop(upstreams.child)]);
    }
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK/);
    const body = JSON.parse(stdout.slice(stdout.indexOf('\r\n\r\n') + 4)) as { data: Record<string, unknown>; errors: { call: string; code: string }[] };
    expect(body.data.profile).toEqual({ id: '42', name: 'User 42', managerId: '21' });
    expect(body.data.manager).toMatchObject({ id: '21' });
    expect(body.data.items).toEqual([expect.objectContaining({ id: '1' }), expect.objectContaining({ id: '2' })]);
    // The example recs upstream is slower than the config's 300 ms timeout: its fallback stands in.
    expect(body.data.recs).toEqual([]);
    expect(body.errors).toEqual([expect.objectContaining({ call: 'recs', code: 'timeout' })]);
  }, 60_000);
});

describe('npm run example-upstreams', () => {
  it('names the port that is taken and exits 1', async () => {
    // This test holds 4001. A process stopped by the test before may take a moment to let go of it.
    const holder = createServer();
    for (let tries = 0; !holder.listening && tries < 50; tries++) {
      await new Promise<void>((resolve) => {
        holder.once('error', () => setTimeout(resolve, 100));
        holder.listen(4001, '127.0.0.1', () => resolve());
      });
    }
    expect(holder.listening, 'port 4001 must be free for this test').toBe(true);
    try {
      const script = new URL('scripts/example-upstreams.ts', `file://${ROOT}`).pathname;
      // The timeout stops the script should it start after all.
      const result = await run(process.execPath, [script], { cwd: ROOT, env: shellEnv(), timeout: 10_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('port 4001 (users) is already in use on 127.0.0.1');
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }
  });
});
