import { readMaxInFlight } from '../routes/admission.ts';
import { logSettings, type LogSettings } from '../services/logging.ts';
import type { Env } from '../services/plan/index.ts';

/** How a graceful shutdown is timed, from the first signal. */
export interface ShutdownTiming {
  /** How long in-flight requests may finish after SIGTERM/SIGINT. */
  graceMs: number;
  /** Keep accepting (with /readyz 503) at least this long after the signal. */
  delayMs: number;
}

/** What every server entry (Node, Deno, Bun) reads from its environment, checked once at start. */
export interface EntrySettings {
  port: number;
  host: string;
  shutdown: ShutdownTiming;
  log: LogSettings;
  /** Unset: derived from the plan (`defaultMaxInFlight`). */
  maxInFlight: number | undefined;
}

/**
 * The settings every entry shares, or the first problem in words (no stack): PORT (default
 * 8787), HOST (127.0.0.1), TRIBUTARY_GRACE_MS (10000), TRIBUTARY_SHUTDOWN_DELAY_MS (0), the log
 * variables and TRIBUTARY_MAX_IN_FLIGHT.
 *
 * @example
 * const settings = readEntrySettings({ PORT: '0' });
 * if (typeof settings === 'string') exitWith(settings);
 */
export function readEntrySettings(env: Env): EntrySettings | string {
  const port = env.PORT === undefined ? 8787 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return `PORT must be a port number, got "${env.PORT}"`;
  const graceMs = wholeNumber(env, 'TRIBUTARY_GRACE_MS', 10_000);
  if (typeof graceMs === 'string') return graceMs;
  const delayMs = wholeNumber(env, 'TRIBUTARY_SHUTDOWN_DELAY_MS', 0);
  if (typeof delayMs === 'string') return delayMs;
  try {
    return { port, host: env.HOST ?? '127.0.0.1', shutdown: { graceMs, delayMs }, log: logSettings(env), maxInFlight: readMaxInFlight(env) };
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * A variable holding a whole number of `unit` (at least `min`), its default when unset or empty,
 * or the problem in words naming the variable.
 *
 * @example
 * wholeNumber({ TRIBUTARY_GRACE_MS: '5s' }, 'TRIBUTARY_GRACE_MS', 10_000); // 'TRIBUTARY_GRACE_MS must be a whole number of milliseconds, got "5s"'
 */
export function wholeNumber(env: Env, name: string, fallback: number, unit = 'milliseconds', min = 0): number | string {
  const text = env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (Number.isSafeInteger(value) && value >= min) return value;
  return `${name} must be a whole number of ${unit}${min > 0 ? ` above ${min - 1}` : ''}, got "${text}"`;
}
