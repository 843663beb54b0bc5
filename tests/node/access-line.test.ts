/**
 * The access log writes its lines itself, not through pino's generic path: they must be the
 * lines pino writes for the same entry (log collectors parse them), but the time.
 */
import { describe, expect, it } from 'vitest';
import { createNodeLogger } from '../../src/node/logger.ts';
import type { AccessLogEntry } from '../../src/routes/access-log.ts';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

const withoutTime = (line: string | undefined): string => (line ?? '').replace(/,"time":"[^"]*"/, '');

const entries: AccessLogEntry[] = [
  { requestId: 'req-1', method: 'GET', route: '/v1/dashboard/:userId', status: 200, durationMs: 12.3, complete: true },
  {
    requestId: '7b0c6a1e-1c7e-4d5a-9d55-5b8a4f0f2b0e',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    method: 'POST',
    route: '/v1/orders',
    status: 502,
    durationMs: 0,
    complete: false,
    failed: [
      { call: 'profile', code: 'timeout' },
      { call: 'items', code: 'http_status', items: 3 },
    ],
  },
  // Values no route produces today, so the escaping is pino's whatever comes.
  { requestId: 'r"\\x', method: 'PURGE', route: '/v1/ü/\u0001/"quoted"/\ud83d\ude00', status: 499, durationMs: 1e21 },
];

describe('access lines', () => {
  it('are the lines pino writes for the same entry, byte for byte but the time', () => {
    const { lines, destination } = capture();
    const logger = createNodeLogger({ level: 'info', accessLog: true }, destination);
    for (const entry of entries) {
      logger.access?.(entry);
      logger.info('request', entry as unknown as Record<string, unknown>);
    }
    expect(lines).toHaveLength(entries.length * 2);
    for (let i = 0; i < lines.length; i += 2) {
      expect(withoutTime(lines[i])).toBe(withoutTime(lines[i + 1]));
      expect(JSON.parse(lines[i] ?? '')).toMatchObject({ level: 'info', msg: 'request', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    }
  });

  it('carry the bindings pino adds (a pid where several processes share the port)', () => {
    const { lines, destination } = capture();
    const logger = createNodeLogger({ level: 'info', accessLog: true }, destination, { pid: 4242 });
    logger.access?.(entries[0] as AccessLogEntry);
    logger.info('request', entries[0] as unknown as Record<string, unknown>);
    expect(withoutTime(lines[0])).toBe(withoutTime(lines[1]));
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ pid: 4242, requestId: 'req-1' });
  });
});

describe('the time of a line', () => {
  it('is the time of pino\'s own lines and of the access lines', () => {
    const { lines, destination } = capture();
    const logger = createNodeLogger({ level: 'info', accessLog: true }, destination);
    const before = Date.now();
    logger.access?.(entries[0] as AccessLogEntry);
    logger.info('ready');
    const after = Date.now();
    for (const line of lines) {
      const time = Date.parse(JSON.parse(line).time);
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(after);
    }
  });
});
