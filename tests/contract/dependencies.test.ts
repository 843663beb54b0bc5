import { describe, expect, it } from 'vitest';
import { call, gateway, upstreamScope } from './harness.ts';

function dependentGateway(base: string, first: Record<string, unknown>) {
  return gateway({
    upstreams: { u: { baseUrl: base, timeoutMs: 1000 } },
    endpoints: [
      {
        path: '/v1/users/:id/with-manager',
        deadlineMs: 2000,
        input: { params: { id: { type: 'string', pattern: '^[a-z0-9]+$' } } },
        calls: {
          user: { upstream: 'u', ...first } as never,
          // Uses a field of the user call's answer: the upstream echoes its query.
          manager: { upstream: 'u', path: '/json/{calls.user.query.manager}' },
          other: { upstream: 'u', path: '/delay/100/other' },
        },
      },
    ],
  });
}

describe('dependent calls', () => {
  it('a dependent call waits for its dependency and uses its field; independent calls do not wait', async () => {
    const up = upstreamScope('dependent');
    const gw = dependentGateway(up.base, { path: '/delay/100/{params.id}', query: { manager: 'boss{params.id}' } });
    const res = await call(gw, '/v1/users/alice/with-manager');
    expect(res.status).toBe(200);
    expect(res.body.errors).toEqual([]);
    expect(res.body.data.user.id).toBe('alice');
    expect(res.body.data.manager.id).toBe('bossalice');
    expect(Object.keys(res.body.data)).toEqual(['user', 'manager', 'other']);

    const log = (await up.stats()).log;
    const user = log.find((e) => e.path.includes('/delay/100/alice'));
    const manager = log.find((e) => e.path.includes('/json/bossalice'));
    const other = log.find((e) => e.path.includes('/delay/100/other'));
    expect(user?.endedAt).toBeDefined();
    // The manager call reached the upstream only after the user call had answered...
    expect(manager?.startedAt).toBeGreaterThanOrEqual(user?.endedAt ?? Number.POSITIVE_INFINITY);
    // ...while the independent call overlapped with the user call.
    expect(other?.startedAt).toBeLessThan(user?.endedAt ?? 0);
    // Two 100 ms steps in a row, not three.
    expect(res.ms).toBeLessThan(600);
  });

  it('a dependent call is skipped (`cancelled`, 0 attempts) when its dependency fails, and never reaches the upstream', async () => {
    const up = upstreamScope('dependent-skip');
    const gw = dependentGateway(up.base, { path: '/status/500', query: { manager: 'boss' } });
    const res = await call(gw, '/v1/users/bob/with-manager');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-aggregate-complete')).toBe('false');
    expect(res.body.data.user).toBeNull();
    expect(res.body.data.manager).toBeNull();
    expect(res.body.data.other.id).toBe('other');
    const user = res.body.errors.find((e) => e.call === 'user');
    const manager = res.body.errors.find((e) => e.call === 'manager');
    expect(user).toMatchObject({ code: 'http_status', status: 500 });
    expect(manager).toMatchObject({ code: 'cancelled', attempts: 0 });
    expect(manager?.message).toContain('user');
    const stats = await up.stats();
    expect(stats.byRoute.json ?? 0).toBe(0);
  });

  it('a dependent call whose field is missing fails that call only, without touching the upstream', async () => {
    const up = upstreamScope('dependent-missing');
    // No `manager` in the query: {calls.user.query.manager} resolves to nothing.
    const gw = dependentGateway(up.base, { path: '/json/{params.id}' });
    const res = await call(gw, '/v1/users/carol/with-manager');
    expect(res.status).toBe(200);
    expect(res.body.data.user.id).toBe('carol');
    expect(res.body.data.manager).toBeNull();
    const manager = res.body.errors.find((e) => e.call === 'manager');
    expect(manager?.code).toBe('invalid_response');
    expect((await up.stats()).byPath).not.toHaveProperty('/json/undefined');
    expect((await up.stats()).requests).toBe(2);
  });
});
