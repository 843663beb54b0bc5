import type { Env } from './plan/types.ts';

/** Levels in increasing severity; `silent` prints nothing. Access lines are `info`. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogSettings {
  /** Lowest level printed. */
  level: LogLevel;
  /** One JSON line per request (printed at `info`). */
  accessLog: boolean;
}

const OFF = new Set(['0', 'false', 'off', 'no']);
const ON = new Set(['', '1', 'true', 'on', 'yes']);

/**
 * Reads `TRIBUTARY_LOG_LEVEL` (default `info`) and `TRIBUTARY_ACCESS_LOG` (`0` turns the access
 * log off). Throws an Error naming the variable and the values it takes when one is not usable,
 * so a typo is refused at start-up instead of silently logging at another level.
 *
 * @example
 * logSettings({ TRIBUTARY_LOG_LEVEL: 'warn' }); // { level: 'warn', accessLog: true }
 * logSettings({ TRIBUTARY_ACCESS_LOG: '0' });   // { level: 'info', accessLog: false }
 */
export function logSettings(env: Env): LogSettings {
  const rawLevel = (env.TRIBUTARY_LOG_LEVEL ?? '').trim().toLowerCase();
  const level = rawLevel === '' ? 'info' : rawLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`TRIBUTARY_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.TRIBUTARY_LOG_LEVEL}"`);
  }
  const rawAccess = (env.TRIBUTARY_ACCESS_LOG ?? '').trim().toLowerCase();
  if (!OFF.has(rawAccess) && !ON.has(rawAccess)) {
    throw new Error(`TRIBUTARY_ACCESS_LOG must be 0 (off) or 1 (on, the default), got "${env.TRIBUTARY_ACCESS_LOG}"`);
  }
  return { level: level as LogLevel, accessLog: !OFF.has(rawAccess) };
}

/** Whether a line at `level` is printed under `threshold`. */
export function levelEnabled(level: Exclude<LogLevel, 'silent'>, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
}

/**
 * An error as a log field: its type, message and stack (escaped into the one JSON line, so a
 * fault never spreads a multi-line stack through a stream of JSON lines). Only these three: an
 * error's other properties (a request, its headers) are never printed.
 *
 * @example
 * errorFields(new TypeError('x')); // { type: 'TypeError', message: 'x', stack: 'TypeError: x\n    at ...' }
 */
export function errorFields(error: unknown): { type: string; message: string; stack?: string } {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  return { type: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
}

/**
 * One log line as JSON, in the shape pino prints on Node (`level` as a name, ISO `time`, the
 * fields, `msg` last), for runtimes that print with `console.log`.
 *
 * @example
 * jsonLine('info', 'request', { status: 200 }); // '{"level":"info","time":"2025-01-01T00:00:00.000Z","status":200,"msg":"request"}'
 */
export function jsonLine(level: Exclude<LogLevel, 'silent'>, msg: string, fields: object): string {
  return JSON.stringify({ level, time: isoTime(Date.now()), ...fields, msg });
}

let formattedSecond = Number.NaN;
let secondPrefix = '';

/**
 * `new Date(ms).toISOString()`, with the part up to the second formatted once per second: a
 * Date and its formatting cost more than a microsecond, once per log line otherwise. Every
 * runtime's log lines take their time from it.
 *
 * @example
 * isoTime(Date.UTC(2026, 11, 1, 19, 0, 0, 7)); // '2026-12-01T19:00:00.007Z'
 */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  const milli = ms - second * 1000;
  // Outside years 1970–9999, or a fraction of a millisecond: as the Date writes it.
  if (!(second >= 0 && second < 253402300800) || !Number.isInteger(milli)) return new Date(ms).toISOString();
  if (second !== formattedSecond) {
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
    formattedSecond = second;
  }
  return `${secondPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
