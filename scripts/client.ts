/**
 * `npm run client -- --out <file>`: writes a typed client for frontends, one TypeScript file:
 * the types openapi-typescript generates from the gateway's OpenAPI document, and a tiny fetch
 * wrapper typed by them (`createClient(baseUrl).get('/v1/users/{userId}', { params: { userId } })`).
 *
 * The document comes from the config `npm start` would run: `TRIBUTARY_CONFIG`, or the built-in
 * demo without it. `--from <url>` reads it from a running gateway's `/openapi.json` instead.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import openapiTS, { astToString } from 'tributary-typegen';
import { loadConfigFile } from '../src/node/load-config.ts';
import { demoConfig } from '../src/services/demo-config.ts';
import { openApiDocument } from '../src/services/openapi/index.ts';
import { compilePlan, ConfigError } from '../src/services/plan/index.ts';
import { CLIENT_WRAPPER } from './lib/client-wrapper.ts';

const HEADER = `/**
 * A typed client for a Tributary gateway, written by \`npm run client\`: do not edit; generate it again
 * when the gateway's config changes. Types by openapi-typescript from its /openapi.json.
 */
`;

/** The OpenAPI document of the config the gateway runs with (or the one at `from`). */
async function documentOf(from: string | undefined): Promise<Record<string, unknown>> {
  if (from) {
    const response = await fetch(from);
    if (!response.ok) throw new Error(`${from} answered ${response.status}`);
    return (await response.json()) as Record<string, unknown>;
  }
  const env = process.env;
  // The demo's upstream addresses do not appear in the document; any will do.
  const demo = { users: 'http://127.0.0.1:4001', orders: 'http://127.0.0.1:4002', recs: 'http://127.0.0.1:4003', catalog: 'http://127.0.0.1:4004' };
  const config = env.TRIBUTARY_CONFIG ? await loadConfigFile(env.TRIBUTARY_CONFIG) : demoConfig(demo);
  return openApiDocument(compilePlan(config, env));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, from: { type: 'string' } } });
  if (!values.out) throw new Error('usage: npm run client -- --out <file.ts> [--from http://gateway/openapi.json]');
  const doc = await documentOf(values.from);
  const types = astToString(await openapiTS(doc as never));
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, HEADER + types + CLIENT_WRAPPER);
  console.log(`wrote ${out}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
