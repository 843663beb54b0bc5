import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoGateway, type DemoGateway } from '../browser/demo-gateway.ts';
import { repoRoot } from '../integration/node-process.ts';

const run = promisify(execFile);
const TSC = join(repoRoot, 'node_modules/typescript/bin/tsc');

/** A frontend's code against the generated client; `name` is the field it reads from the profile. */
const snippet = (name: string) => `import { createClient } from './api.ts';

const client = createClient('http://127.0.0.1:1');

export async function greeting(userId: string): Promise<string> {
  const res = await client.get('/v1/dashboard/{userId}', { params: { userId } });
  if (res.status !== 200) return 'unavailable';
  const orders = res.body.data.orders ?? [];
  return \`\${res.body.data.profile.${name}}: \${orders.length} orders, complete: \${res.body.meta.complete}\`;
}

export async function prices(ids: string[]): Promise<number[]> {
  const res = await client.get('/v1/items', { query: { ids } });
  return res.status === 200 ? res.body.data.items.map((item) => item?.price ?? 0) : [];
}
`;

/** Type-checks `file` (beside the generated client) with the project's TypeScript, strict. */
async function typecheck(dir: string, file: string): Promise<{ ok: boolean; output: string }> {
  const config = {
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', allowImportingTsExtensions: true, lib: ['es2022', 'dom'], types: [] },
    files: [file],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  try {
    const { stdout } = await run(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { cwd: dir, timeout: 60_000 });
    return { ok: true, output: stdout };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
  }
}

interface GeneratedModule {
  createClient(baseUrl: string): { get(path: string, options?: object): Promise<{ status: number; body: unknown }> };
}

describe('npm run client', () => {
  let dir: string;
  let demo: DemoGateway | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-client-'));
    // The demo config, as `npm start` without TRIBUTARY_CONFIG runs it.
    const env = { ...process.env };
    delete env.TRIBUTARY_CONFIG;
    await run('npm', ['run', 'client', '--', '--out', join(dir, 'api.ts')], { cwd: repoRoot, env, timeout: 60_000 });
    demo = await startDemoGateway();
  }, 120_000);

  afterAll(async () => {
    await demo?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('writes types for every demo endpoint and a typed fetch wrapper', () => {
    const text = readFileSync(join(dir, 'api.ts'), 'utf8');
    for (const path of ['/v1/dashboard/{userId}', '/v1/items', '/v1/users/{userId}/with-manager']) expect(text).toContain(`"${path}": {`);
    expect(text).toContain('export function createClient(');
  });

  it('type-checks a frontend snippet that reads declared fields', async () => {
    writeFileSync(join(dir, 'good.ts'), snippet('name'));
    const result = await typecheck(dir, 'good.ts');
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 90_000);

  it('refuses to compile a snippet that reads a field the profile does not have', async () => {
    writeFileSync(join(dir, 'bad.ts'), snippet('nmae'));
    const result = await typecheck(dir, 'bad.ts');
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/bad\.ts.*Property 'nmae' does not exist/);
  }, 90_000);

  it('calls the running demo and gets typed answers', async () => {
    // Its types were checked above; here it runs, seen through the little this test uses.
    const { createClient } = (await import(join(dir, 'api.ts'))) as GeneratedModule;
    const client = createClient((demo as DemoGateway).url);
    const dashboard = await client.get('/v1/dashboard/{userId}', { params: { userId: '12' } });
    expect(dashboard.status).toBe(200);
    expect(dashboard.body).toMatchObject({ data: { profile: { id: '12', name: 'User 12' }, recs: [] }, meta: { complete: false } });
    const items = await client.get('/v1/items', { query: { ids: ['b', 'a'] } });
    expect(items.status).toBe(200);
    expect(items.body).toMatchObject({ data: { items: [{ id: 'b' }, { id: 'a' }] } });
    const invalid = await client.get('/v1/dashboard/{userId}', { params: { userId: 'x' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ error: { code: 'invalid_request' } });
  }, 30_000);

  it('--from reads the running gateway\'s /openapi.json and writes the same client', async () => {
    await run('npm', ['run', 'client', '--', '--out', join(dir, 'from.ts'), '--from', `${(demo as DemoGateway).url}/openapi.json`], { cwd: repoRoot, timeout: 60_000 });
    expect(readFileSync(join(dir, 'from.ts'), 'utf8')).toBe(readFileSync(join(dir, 'api.ts'), 'utf8'));
  }, 90_000);
});
