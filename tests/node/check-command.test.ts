/** `tributary check <config>`: in-process through runCheck, and as a person runs it (npm run, npx, the bin). */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/node/check-command.ts';
import { freePort } from '../support/free-port.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** runCheck with its output collected; `base` is the directory the command was "typed" in. */
async function check(args: string[], options: { base?: string; env?: Record<string, string> } = {}): Promise<{ status: number; output: string }> {
  const lines: string[] = [];
  const status = await runCheck(args, { base: options.base ?? ROOT, env: options.env ?? {}, out: (line) => lines.push(line) });
  return { status, output: lines.join('\n') };
}

async function writeConfig(name: string, config: unknown): Promise<string> {
  await writeFile(join(dir, name), JSON.stringify(config));
  return name;
}

/** A person's shell: none of the test runner's settings, npm's INIT_CWD included. */
function shellEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('TRIBUTARY_') && !k.startsWith('VITEST') && !['PORT', 'HOST', 'NODE_OPTIONS', 'INIT_CWD'].includes(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs a command; resolves with its exit status and output, whatever the status. */
async function command(file: string, args: string[], options: { cwd: string; env?: Record<string, string> }) {
  try {
    const { stdout, stderr } = await run(file, args, { cwd: options.cwd, env: options.env ?? shellEnv(), timeout: 30_000 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tributary check <config>', () => {
  it('exits 0 and prints each endpoint\'s calls, dependencies and critical path for a valid config', async () => {
    const { status, output } = await check(['examples/dashboard.config.json'], { env: { USERS_API_KEY: 'k' } });
    expect(status).toBe(0);
    expect(output).toContain('examples/dashboard.config.json: ok (4 upstreams, 1 endpoint)');
    expect(output).toContain('GET /v1/dashboard/:userId  deadline 1500 ms, calls get 1425 ms');
    expect(output).toMatch(/manager +users +GET \/users\/\{calls\.profile\.managerId\} +optional, after profile +up to 500 ms/);
    expect(output).toMatch(/items +catalog +GET \/items\/\{item\} +fallback, each \{query\.ids\} +up to 1000 ms per element/);
    expect(output).toContain('critical path: profile -> manager, up to 1000 ms of 1425 ms');
    expect(output.split('\n').at(-1)).toBe('no problems found');
  });

  it('exits 1 and prints every problem at once, schema and plan, with "did you mean"', async () => {
    const file = await writeConfig('bad.json', {
      upstreams: { users: { baseUrl: 'http://127.0.0.1:4001', timeoutMS: 500 } },
      endpoints: [{ path: '/x/:id', calls: { a: { upstream: 'user', path: '/a/{params.ID}' } } }],
    });
    const { status, output } = await check([file], { base: dir });
    expect(status).toBe(1);
    expect(output).toContain('bad.json: 3 errors (1 upstream, 1 endpoint)');
    expect(output).toContain('  error: upstream "users": Unrecognized key: "timeoutMS"; did you mean "timeoutMs"?');
    expect(output).toContain('  error: endpoint GET /x/:id, call "a", field "upstream": unknown upstream "user" (known: users); did you mean "users"?');
    expect(output).toContain('  error: endpoint GET /x/:id, call "a", field "path": {params.ID} names no declared params field (declared: id); did you mean "id"?');
    expect(output.split('\n').at(-1)).toBe('3 errors, 0 warnings');
  });

  it('exits 0 with a warning when the deadline cannot hold the critical path', async () => {
    const file = await writeConfig('tight.json', {
      upstreams: { u: { baseUrl: 'http://127.0.0.1:4001', timeoutMs: 600 } },
      endpoints: [{ path: '/x', deadlineMs: 1000, calls: { a: { upstream: 'u', path: '/a' }, b: { upstream: 'u', path: '/b/{calls.a.id}' } } }],
    });
    const { status, output } = await check([file], { base: dir });
    expect(status).toBe(0);
    expect(output).toContain('tight.json: ok, 1 warning');
    expect(output).toContain('warning: endpoint GET /x: the chain a -> b can take up to 1200 ms at worst, more than the 950 ms its calls get');
    expect(output).toContain('critical path: a -> b, up to 1200 ms of 950 ms  (does not fit)');
  });

  it('takes ${NAME} from the environment, and --secret NAME stands in for one set only at run time', async () => {
    const missing = await check(['examples/dashboard.config.json']);
    expect(missing.status).toBe(1);
    expect(missing.output).toContain('error: upstream "users", header "x-api-key": environment variable USERS_API_KEY is not set');
    expect((await check(['examples/dashboard.config.json', '--secret', 'USERS_API_KEY'])).status).toBe(0);
    expect((await check(['examples/dashboard.config.json', '--secret=OTHER,USERS_API_KEY'])).status).toBe(0);
  });

  it('resolves a config path against the directory it was typed in', async () => {
    await writeConfig('here.json', { upstreams: { u: { baseUrl: 'http://127.0.0.1:4001' } }, endpoints: [{ path: '/x', calls: { a: { upstream: 'u', path: '/a' } } }] });
    expect((await check(['here.json'], { base: dir })).status).toBe(0);
    const elsewhere = await check(['here.json'], { base: ROOT });
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.output).toContain(`cannot read ${join(ROOT, 'here.json')}: ENOENT`);
  });

  it('checks a TypeScript config that imports defineConfig from the package by name', async () => {
    const { status, output } = await check(['examples/dashboard.config.ts', '--secret', 'USERS_API_KEY']);
    expect(status).toBe(0);
    expect(output).toContain('examples/dashboard.config.ts: ok (4 upstreams, 1 endpoint)');
  });

  it('exits 2 with the usage when there is nothing to check or an option is unknown', async () => {
    const nothing = await check([], { base: dir });
    expect(nothing.status).toBe(2);
    expect(nothing.output).toContain('Usage: tributary check [config ...]');
    expect((await check(['x.json', '--secrets', 'A'], { base: dir })).status).toBe(2);
  });
});

describe('the check as a person runs it', () => {
  it('`npm run check -- <config>` from a sub-directory resolves the path there, and the TS config imports tributary', async () => {
    const result = await command('npm', ['run', 'check', '--', 'dashboard.config.ts', '--secret', 'USERS_API_KEY'], { cwd: join(ROOT, 'examples') });
    expect(result.stdout).toContain('dashboard.config.ts: ok (4 upstreams, 1 endpoint)');
    expect(result.status).toBe(0);
  }, 30_000);

  it('`npx tributary check` runs the package bin and exits 1 on errors', async () => {
    const result = await command('npx', ['tributary', 'check', 'examples/dashboard.config.json'], { cwd: ROOT });
    expect(result.stdout).toContain('environment variable USERS_API_KEY is not set');
    expect(result.status).toBe(1);
  }, 30_000);

  it('the bin refuses a Node older than 24 and says how to run it', async () => {
    // Node 20 as far as the bin can tell; the preload cannot change the binary itself.
    const preload = 'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"20.1.0"}})';
    const result = await command(process.execPath, ['--import', preload, join(ROOT, 'bin/tributary.js'), 'check', 'x.json'], { cwd: ROOT });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('tributary needs Node 24 or later; this is Node 20.1.0');
    expect(result.stderr).toContain('npx tributary check <config>, or npm run check -- <config>');
  });

  it('`npm start` resolves TRIBUTARY_CONFIG against the directory it was typed in', async () => {
    const port = await freePort();
    const { spawn } = await import('node:child_process');
    const child = spawn('npm', ['start'], {
      cwd: join(ROOT, 'examples'),
      env: shellEnv({ TRIBUTARY_CONFIG: 'dashboard.config.json', USERS_API_KEY: 'k', PORT: String(port) }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening" within 20 s:\n${output}`)), 20_000);
        const onData = (): void => {
          if (output.includes('tributary listening on')) (clearTimeout(timer), resolve());
        };
        child.stdout.on('data', onData);
        child.once('exit', () => (clearTimeout(timer), reject(new Error(`exited:\n${output}`))));
      });
      expect(output).toContain(`tributary listening on http://127.0.0.1:${port} (1 endpoints)`);
    } finally {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
      await exited;
    }
  }, 30_000);
});
