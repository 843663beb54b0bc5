/**
 * Scenario 10: what checking upstream answers against a call's `schema` costs. In-process (the app
 * over an in-memory fetcher), so the figure is the gateway's CPU, not the network: the same
 * endpoint with and without a schema, each request a 50-element answer, alternated every round.
 */
import { createApp } from '../../src/app.ts';
import type { ResponseSchemaConfig, TributaryConfigInput } from '../../src/services/config-schema.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { compileResponseSchema } from '../../src/services/response-schema.ts';
import type { Fetcher } from '../../src/services/upstream/index.ts';
import type { Ctx } from '../lib/context.ts';
import type { Kind, ScenarioResult, Table } from '../lib/result.ts';
import { figure, ratio } from '../lib/stats.ts';

const ELEMENTS = 50;
const ORDER: ResponseSchemaConfig = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      id: { type: 'string', required: true, pattern: '^o-[0-9]+$' },
      total: { type: 'number', required: true, minimum: 0 },
      status: { type: 'string', enum: ['open', 'paid', 'shipped'] },
      lines: { type: 'array', items: { type: 'object', properties: { sku: { type: 'string', required: true }, qty: { type: 'integer', minimum: 1 } } } },
    },
  },
};
const BODY = JSON.stringify(
  Array.from({ length: ELEMENTS }, (_, i) => ({
    id: `o-${i}`,
    total: i * 3.5,
    status: 'paid',
    lines: [
      { sku: `s-${i}`, qty: 1 },
      { sku: `t-${i}`, qty: 2 },
    ],
    note: 'not in the schema',
  })),
);

const fetcher: Fetcher = async () => new Response(BODY, { headers: { 'content-type': 'application/json' } });

function app(schema: ResponseSchemaConfig | undefined) {
  const config: TributaryConfigInput = {
    upstreams: { orders: { baseUrl: 'http://orders.bench' } },
    endpoints: [{ path: '/v1/orders', calls: { orders: { upstream: 'orders', path: '/orders', ...(schema ? { schema } : {}) } } }],
  };
  return createApp({ plan: compilePlan(config), fetcher, log: () => {} }).app;
}

/** Requests per second through `hono.request` for `ms` of wall time, one at a time. */
async function rate(hono: ReturnType<typeof app>, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let n = 0;
  const started = performance.now();
  while (performance.now() < until) {
    const response = await hono.request('/v1/orders');
    if (response.status !== 200) throw new Error(`the bench endpoint answered ${response.status}`);
    await response.arrayBuffer();
    n++;
  }
  return n / ((performance.now() - started) / 1000);
}

/** A baseline row and a measured row: the figure, and the measured one's per-round ratio to the baseline. */
function pairTable(caption: string, value: { label: string; kind: Kind }, vs: string, [[baseLabel, base], [label, measured]]: [[string, number[]], [string, number[]]]): Table {
  return {
    caption,
    columns: [
      { key: 'v', ...value },
      { key: 'x', label: vs, kind: 'ratio' },
    ],
    rows: [
      { label: baseLabel, cells: { v: figure(base), x: null } },
      { label, cells: { v: figure(measured), x: ratio(measured, base) } },
    ],
  };
}

/** Microseconds per call of `fn`, over `n` calls. */
function perCall(fn: () => unknown, n: number): number {
  const started = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - started) * 1000) / n;
}

export async function schema(ctx: Ctx): Promise<ScenarioResult> {
  const t0 = performance.now();
  const { settings: s } = ctx;
  const ms = s.lightDurationS * 1000;
  const without = app(undefined);
  const withSchema = app(ORDER);
  const check = compileResponseSchema(ORDER, 'bench', []);
  if (!check) throw new Error('the bench schema did not compile');
  const parsed = JSON.parse(BODY) as unknown;
  if (check(parsed) !== undefined) throw new Error(`the bench body does not match its schema: ${check(parsed)}`);
  // Warm both paths so that neither pays for the JIT in the first measured round.
  if (s.warmupS > 0) for (const hono of [without, withSchema]) await rate(hono, s.warmupS * 500);
  const rps = { without: [] as number[], with: [] as number[] };
  const micro = { parse: [] as number[], check: [] as number[] };
  for (let round = 1; round <= s.rounds; round++) {
    // Alternate which goes first, so a drift in the machine's speed does not favour one.
    const order = round % 2 === 1 ? (['without', 'with'] as const) : (['with', 'without'] as const);
    for (const which of order) rps[which].push(await rate(which === 'with' ? withSchema : without, ms));
    micro.parse.push(perCall(() => JSON.parse(BODY), 2000));
    micro.check.push(perCall(() => check(parsed), 2000));
    ctx.log(`10 schema · round ${round}/${s.rounds}: ${rps.without.at(-1)?.toFixed(0)} req/s without, ${rps.with.at(-1)?.toFixed(0)} with; check ${micro.check.at(-1)?.toFixed(1)} µs, JSON.parse ${micro.parse.at(-1)?.toFixed(1)} µs`);
  }
  const throughput = ratio(rps.with, rps.without);
  const checkVsParse = ratio(micro.check, micro.parse);
  return {
    id: 10,
    title: 'Cost of checking answers against a call schema',
    measures:
      `One endpoint with one call whose upstream answers ${BODY.length} bytes (${ELEMENTS} orders, each with two lines), ` +
      'served in-process over an in-memory fetcher, with and without a `schema` on the call (strings with a pattern, an enum, ' +
      'numbers with minimums, a nested array). Also the schema check alone against JSON.parse of the same body.',
    status: 'ok',
    tables: [
      pairTable('Requests per second, one at a time, in-process', { label: 'req/s', kind: 'rps' }, 'vs without', [
        ['without schema (baseline)', rps.without],
        ['**with schema**', rps.with],
      ]),
      pairTable('One answer, microseconds', { label: 'µs', kind: 'ms' }, 'vs JSON.parse', [
        ['JSON.parse of the body', micro.parse],
        ['**schema check**', micro.check],
      ]),
    ],
    summary: [
      `With the schema, the endpoint serves ${throughput.median.toFixed(2)}x the requests per second it serves without (median of ${s.rounds} rounds).`,
      `Checking one answer takes ${checkVsParse.median.toFixed(2)}x the time of parsing it.`,
    ],
    notes: ['In-process on purpose: with real sockets the check would be a smaller share still.'],
    seconds: (performance.now() - t0) / 1000,
  };
}
