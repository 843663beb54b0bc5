/**
 * Log lines' time (`isoTime`): every runtime's lines carry it, so it must be exactly what
 * `Date#toISOString` writes, though it formats each second only once.
 */
import { describe, expect, it } from 'vitest';
import { isoTime, jsonLine } from '../../src/services/logging.ts';

describe('isoTime', () => {
  it('writes what Date#toISOString writes, within a second, across seconds and outside the cached range', () => {
    const times = [
      0, 7, 99, 100, 999, 1000, 1001,
      Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1, 0, 0, 0, 0), Date.UTC(2027, 0, 1, 0, 0, 0, 10),
      // Back in time again (a clock step): the second is formatted anew.
      Date.UTC(2026, 11, 31, 23, 59, 59, 5),
      -1, -1500, Date.UTC(10000, 0, 1), 1.5, 1700000000000.25,
    ];
    for (const ms of times) expect(isoTime(ms), String(ms)).toBe(new Date(ms).toISOString());
  });
});

describe('jsonLine', () => {
  it('carries the time of the moment it was written', () => {
    const before = Date.now();
    const line = JSON.parse(jsonLine('info', 'request', { status: 200 }));
    const after = Date.now();
    expect(line).toMatchObject({ level: 'info', msg: 'request', status: 200 });
    expect(Date.parse(line.time)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(line.time)).toBeLessThanOrEqual(after);
  });
});
