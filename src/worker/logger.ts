import type { AccessLogSink } from '../routes/access-log.ts';
import type { FaultLog } from '../routes/errors.ts';
import { errorFields, jsonLine, levelEnabled, logSettings, type LogSettings } from '../services/logging.ts';
import type { Env } from '../services/plan/index.ts';
import { defaultLog, type Log } from './plan-cache.ts';

/** Prints one line; Workers Logs parses a JSON line into fields. */
export type Write = (line: string) => void;

export interface WorkerLogging {
  /** For `createApp({ accessLog })`; undefined when off (`TRIBUTARY_ACCESS_LOG=0`, or a level above info). */
  access: AccessLogSink | undefined;
  /** For `createApp({ log })`: one JSON line per internal fault. */
  fault: FaultLog;
}

/**
 * The Worker's logs from its variables (`TRIBUTARY_LOG_LEVEL`, `TRIBUTARY_ACCESS_LOG`): the
 * same JSON lines as pino prints on Node, access lines through `write`, faults through
 * `console.error`, or through `log` when the caller gave one (a test). A variable that is not
 * usable is reported and the defaults are used: a Worker cannot refuse to start, and a typo must
 * not fail requests.
 *
 * @example
 * const logging = workerLogging(stringVars(env), (line) => console.log(line));
 * createApp({ plan, engineFor, accessLog: logging.access, log: logging.fault });
 */
export function workerLogging(vars: Env, write: Write, log?: Log): WorkerLogging {
  let settings: LogSettings;
  try {
    settings = logSettings(vars);
  } catch (error) {
    (log ?? defaultLog)(`tributary: ${(error as Error).message}; using the defaults`);
    settings = { level: 'info', accessLog: true };
  }
  const { level } = settings;
  return {
    access:
      settings.accessLog && levelEnabled('info', level) ? (entry) => write(jsonLine('info', 'request', entry)) : undefined,
    fault: log
      ? (message, error) => log(message, error)
      : (message, error, fields) => {
          if (levelEnabled('error', level)) console.error(jsonLine('error', message, { ...fields, error: errorFields(error) }));
        },
  };
}
