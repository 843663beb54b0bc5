/**
 * Server-Timing: `total` and `fanout` for everyone; per-call durations and waits (which name
 * calls and upstreams) only for a caller holding the operator's debug token.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { compilePlan } from '../../src/services/plan/index.ts';
import { fakeFetcher, json, type Handler } from '../services/fake-fetcher.ts';
import { dashboardConfig, type DashboardOptions } from './dashboard-config.ts';
import { sleep } from './in-memory-tracing.ts';

const TOKEN = 'dbg-7f3a9c2e51';
/** Names a leaky header could contain: calls and upstreams of the dashboard. */
const NAMES = ['profile', 'orders', 'recs', 'users', 'catalog'];

interface Entry {
  name: string;
  dur: number | undefined;
  desc: string | undefined;
}

/** Parses `name;dur=1.2;desc="x", ...` (RFC-style Server-Timing). */
function parse(header: string | null): Entry[] {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [name, ...params] = part.trim().split(';');
    const get = (key: string): string | undefined =>
      params.map((p) => p.trim()).find((p) => p.startsWith(`${key}=`))?.slice(key.length + 1);
    const dur = get('dur');
    return { name: (name as string).trim(), dur: dur === undefined ? undefined : Number(dur), desc: get('desc')?.replace(/^"|"$/g, '') };
  });
}

function setup(options: { debugToken?: string; dashboard?: DashboardOptions; handler?: Handler } = {}) {
  const handler: Handler =
    options.handler ??
    (async (call) => {
      await sleep(call.target.startsWith('recs.test') ? 40 : 10);
      return json({ ok: true });
    });
  const fake = fakeFetcher(handler);
  const { app } = createApp({
    plan: compilePlan(dashboardConfig(options.dashboard)),
    fetcher: fake.fetcher,
    ...(options.debugToken === undefined ? {} : { debugToken: options.debugToken }),
  });
  return {
    timing: async (headers: Record<string, string> = {}, path = '/v1/dashboard/42') => {
      const res = await app.request(path, { headers });
      await res.arrayBuffer();
      return { status: res.status, raw: res.headers.get('server-timing'), entries: parse(res.headers.get('server-timing')) };
    },
  };
}

function expectOnlyTotalAndFanout(raw: string | null, entries: Entry[]): void {
  expect(entries.map((e) => e.name)).toEqual(['total', 'fanout']);
  for (const e of entries) expect(e.dur).toBeGreaterThanOrEqual(0);
  for (const name of NAMES) expect(raw?.toLowerCase()).not.toContain(name);
}

describe('Server-Timing for an untrusted caller', () => {
  it('has only total and fanout, with durations that cover the slowest call', async () => {
    const { timing } = setup({ debugToken: TOKEN });
    const { raw, entries } = await timing();
    expectOnlyTotalAndFanout(raw, entries);
    const total = entries.find((e) => e.name === 'total')?.dur ?? 0;
    const fanout = entries.find((e) => e.name === 'fanout')?.dur ?? 0;
    expect(fanout).toBeGreaterThanOrEqual(35); // recs took 40 ms
    expect(total).toBeGreaterThanOrEqual(fanout);
  });

  it('leaks no names when a call fails, nor when the request fails', async () => {
    const { timing } = setup({
      debugToken: TOKEN,
      handler: (call) => (call.target.startsWith('users.test') ? json({}, 500) : json({ ok: true })),
    });
    const failed = await timing();
    expect(failed.status).toBe(502);
    expectOnlyTotalAndFanout(failed.raw, failed.entries);
  });

  it('gives nothing extra for a wrong token of the same length, a prefix, or an empty header', async () => {
    const { timing } = setup({ debugToken: TOKEN });
    const wrong = `${TOKEN.slice(0, -1)}${TOKEN.endsWith('x') ? 'y' : 'x'}`;
    expect(wrong).toHaveLength(TOKEN.length);
    for (const sent of [wrong, TOKEN.slice(0, -1), `${TOKEN}x`, '', TOKEN.toUpperCase()]) {
      const { raw, entries } = await timing({ 'x-tributary-debug': sent });
      expectOnlyTotalAndFanout(raw, entries);
    }
  });

  it('gives nothing extra to anyone when no token is configured', async () => {
    const { timing } = setup();
    for (const sent of ['', 'undefined', 'true', TOKEN]) {
      const { raw, entries } = await timing({ 'x-tributary-debug': sent });
      expectOnlyTotalAndFanout(raw, entries);
    }
  });
});

describe('Server-Timing for a trusted caller', () => {
  it('adds call_<name> (with the upstream as desc) and wait_<name> for every call', async () => {
    const { timing } = setup({ debugToken: TOKEN });
    const { entries } = await timing({ 'x-tributary-debug': TOKEN });
    const names = entries.map((e) => e.name);
    expect(names.slice(0, 2)).toEqual(['total', 'fanout']);
    for (const call of ['profile', 'orders', 'recs']) {
      expect(names).toContain(`call_${call}`);
      expect(names).toContain(`wait_${call}`);
    }
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('call_profile')?.desc).toBe('users');
    expect(byName.get('call_recs')?.dur).toBeGreaterThanOrEqual(35);
    expect(byName.get('call_recs')?.dur).toBeGreaterThan(byName.get('call_profile')?.dur ?? Infinity);
    expect(byName.get('wait_recs')?.dur).toBeLessThan(10); // nothing made it wait
  });

  it('shows the wait of a call queued behind a per-request limit of 1', async () => {
    const { timing } = setup({
      debugToken: TOKEN,
      dashboard: { maxConcurrency: 1 },
      handler: async () => {
        await sleep(25);
        return json({ ok: true });
      },
    });
    const { entries } = await timing({ 'x-tributary-debug': TOKEN });
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('wait_profile')?.dur).toBeLessThan(10);
    expect(byName.get('wait_orders')?.dur).toBeGreaterThanOrEqual(20);
    expect(byName.get('wait_recs')?.dur).toBeGreaterThanOrEqual(40);
  });

  it('summarises an `each` call as one entry with its element count', async () => {
    const { timing } = setup({ debugToken: TOKEN, handler: () => json({ ok: true }) });
    const { entries } = await timing({ 'x-tributary-debug': TOKEN }, '/v1/items?ids=a,b,c');
    const items = entries.filter((e) => e.name === 'call_items');
    expect(items).toHaveLength(1);
    expect(items[0]?.desc).toBe('catalog x3');
  });
});
