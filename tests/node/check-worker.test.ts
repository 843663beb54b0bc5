/**
 * `tributary check --worker`: the Worker's bundled config against what wrangler's config gives it
 * ([vars], [secrets] required, --secret), and the subrequest cap against [limits] subrequests.
 * Each test writes a small project (wrangler.toml and src/worker/config.ts) to a folder of its own.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/node/check-command.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let count = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-check-worker-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const config = {
  upstreams: {
    users: { baseUrl: '${USERS_URL}', headers: { authorization: 'Bearer ${USERS_TOKEN}' } },
    catalog: { baseUrl: 'https://catalog.example.com', timeoutMs: 500 },
  },
  endpoints: [
    { path: '/v1/users/:id', calls: { user: { upstream: 'users', path: '/users/{params.id}' } } },
    { path: '/v1/lists/:id', calls: { list: { upstream: 'catalog', path: '/lists/{params.id}' }, items: { upstream: 'catalog', path: '/items/{item}', each: '{calls.list.ids}', maxItems: 40 } } },
  ],
};

/** A project folder with this wrangler.toml and a Worker config module; returns its path. */
async function project(wranglerToml: string, workerConfig: unknown = config): Promise<string> {
  const root = join(dir, `p${++count}`);
  await mkdir(join(root, 'src/worker'), { recursive: true });
  await writeFile(join(root, 'wrangler.toml'), `name = "t"\nmain = "src/worker.ts"\ncompatibility_date = "2026-10-01"\n${wranglerToml}`);
  await writeFile(join(root, 'src/worker/config.ts'), `export default ${JSON.stringify(workerConfig, null, 2)};\n`);
  return root;
}

async function check(args: string[], base: string): Promise<{ status: number; output: string }> {
  const lines: string[] = [];
  // process.env must not count: the deployed Worker does not see it.
  const status = await runCheck(args, { base, env: { USERS_URL: 'http://from-the-shell', USERS_TOKEN: 't' }, out: (line) => lines.push(line) });
  return { status, output: lines.join('\n') };
}

describe('tributary check --worker', () => {
  it('refuses a ${NAME} that neither [vars] nor a secret provides: the Worker would answer 500 to everything', async () => {
    const root = await project('[vars]\nUSERS_URL = "https://users.example.com"\n');
    const { status, output } = await check(['--worker'], root);
    expect(status).toBe(1);
    expect(output).toContain('Worker (wrangler.toml, src/worker/config.ts): 2 errors');
    expect(output).toContain(
      'error: the config uses ${USERS_TOKEN}, which nothing provides: the deployed Worker would answer 500 to every request, /healthz included. ' +
        'Add it to [vars] in wrangler.toml, or set it as a secret (npx wrangler secret put NAME) and list it in [secrets] required (or pass --secret NAME)',
    );
    expect(output).toContain('error: upstream "users", header "authorization": environment variable USERS_TOKEN is not set');
  });

  it('passes when [vars] and [secrets] required provide every name, and prints the plan', async () => {
    const root = await project('[vars]\nUSERS_URL = "https://users.example.com"\n\n[secrets]\nrequired = ["USERS_TOKEN"]\n');
    const { status, output } = await check([], root);
    expect(status).toBe(0);
    expect(output).toContain('variables: USERS_URL from [vars]; secrets: USERS_TOKEN ([secrets] required)');
    expect(output).toContain('GET /v1/lists/:id  deadline 2000 ms, calls get 1900 ms');
    expect(output).toContain('no problems found');
  });

  it('takes a secret\'s name from --secret, even for a base URL', async () => {
    const root = await project('');
    const { status, output } = await check(['--worker', '--secret', 'USERS_URL,USERS_TOKEN'], root);
    expect(output).toContain('secrets: USERS_URL, USERS_TOKEN (none in [secrets] required, --secret)');
    expect(status).toBe(0);
  });

  it('suggests the provided name closest to a missing one', async () => {
    const root = await project('[vars]\nUSERS_URL = "https://users.example.com"\nUSER_TOKEN = "t"\n');
    const { output } = await check(['--worker'], root);
    expect(output).toContain('; USERS_TOKEN: did you mean USER_TOKEN?');
  });

  it('refuses an endpoint whose every request needs more subrequests than the cap', async () => {
    const root = await project('[vars]\nUSERS_URL = "https://u.example.com"\nUSERS_TOKEN = "t"\nTRIBUTARY_MAX_SUBREQUESTS = "40"\n');
    const { status, output } = await check(['--worker'], root);
    expect(status).toBe(1);
    expect(output).toContain(
      'error: endpoint GET /v1/lists/:id: every request needs up to 41 subrequests, more than the cap of 40, and would be refused (422); lower "maxItems" of items',
    );
  });

  it('refuses a TRIBUTARY_MAX_SUBREQUESTS that is not a positive integer', async () => {
    const root = await project('[vars]\nUSERS_URL = "https://u.example.com"\nUSERS_TOKEN = "t"\nTRIBUTARY_MAX_SUBREQUESTS = "lots"\n');
    const { status, output } = await check(['--worker'], root);
    expect(status).toBe(1);
    expect(output).toContain('error: TRIBUTARY_MAX_SUBREQUESTS must be a positive integer, got "lots"');
  });

  it.each([
    ['more than', '"20000"', 10_000, /TRIBUTARY_MAX_SUBREQUESTS=20000 is more than \[limits\] subrequests = 10000: requests that need more than 10000 pass/],
    ['less than', '"1000"', 10_000, /TRIBUTARY_MAX_SUBREQUESTS=1000 is less than \[limits\] subrequests = 10000: Tributary refuses \(422\) requests the platform would allow/],
  ])('warns when TRIBUTARY_MAX_SUBREQUESTS is %s [limits] subrequests, which the Worker cannot read', async (_, cap, limit, warning) => {
    const root = await project(`[vars]\nUSERS_URL = "https://u.example.com"\nUSERS_TOKEN = "t"\nTRIBUTARY_MAX_SUBREQUESTS = ${cap}\n\n[limits]\nsubrequests = ${limit}\n`);
    const { status, output } = await check(['--worker'], root);
    expect(status).toBe(0);
    expect(output).toMatch(warning);
    expect(output).toContain('the Worker cannot read [limits] subrequests, so set TRIBUTARY_MAX_SUBREQUESTS to match it');
  });

  it('accepts a cap one below [limits] subrequests when traces are exported (the export is a subrequest)', async () => {
    const vars = 'USERS_URL = "https://u.example.com"\nUSERS_TOKEN = "t"\nOTEL_EXPORTER_OTLP_ENDPOINT = "https://otlp.example.com"\n';
    const inStep = await check(['--worker'], await project(`[vars]\n${vars}TRIBUTARY_MAX_SUBREQUESTS = "9999"\n\n[limits]\nsubrequests = 10000\n`));
    expect(inStep.output).not.toContain('warning:');
    const equal = await check(['--worker'], await project(`[vars]\n${vars}TRIBUTARY_MAX_SUBREQUESTS = "10000"\n\n[limits]\nsubrequests = 10000\n`));
    expect(equal.output).toContain('leaves none for its trace export; set 9999');
  });

  it('says where the cap comes from when [limits] is not set', async () => {
    const root = await project('[vars]\nUSERS_URL = "https://u.example.com"\nUSERS_TOKEN = "t"\n');
    const { output } = await check(['--worker'], root);
    expect(output).toContain('subrequest cap: 50 per request (default 50); [limits] subrequests not set: the platform allows 50 on the Free plan, 10,000 on Paid');
  });

  it('reads a named wrangler environment\'s vars', async () => {
    const root = await project('[env.production.vars]\nUSERS_URL = "https://u.example.com"\nUSERS_TOKEN = "t"\n');
    expect((await check(['--worker'], root)).status).toBe(1);
    expect((await check(['--worker', '--env', 'production'], root)).status).toBe(0);
  });

  it('says so when there is no wrangler config or no Worker config module', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    const none = await check(['--worker', '--wrangler', 'nope.toml'], empty);
    expect(none.status).toBe(1);
    expect(none.output).toContain(`no wrangler config found (looked for ${join(empty, 'nope.toml')}); name one with --wrangler <file>`);
    const root = await project('');
    const noModule = await check(['--worker', '--worker-config', 'src/mine.ts'], root);
    expect(noModule.output).toContain(`no Worker config at ${join(root, 'src/mine.ts')}; name the module the Worker bundles with --worker-config <file>`);
  });

  it('passes this repository\'s Worker (the demo config) once its four upstream URLs are named as secrets', async () => {
    const { status, output } = await check(['--worker', '--secret', 'USERS_URL,ORDERS_URL,RECS_URL,CATALOG_URL'], ROOT);
    expect(output).toContain('Worker (wrangler.toml, src/worker/config.ts): ok');
    expect(status).toBe(0);
  });
});
