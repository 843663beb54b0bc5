import type { AccessLogSink } from '../routes/access-log.ts';
import type { FaultLog } from '../routes/errors.ts';
import { errorFields, jsonLine, levelEnabled, type LogSettings } from '../services/logging.ts';

type Fields = Record<string, unknown>;

/** A server entry's one logger (pino on Node; JSON lines through `console` on Deno and Bun). */
export interface EntryLogger {
  /** The access-log sink for `createApp`; undefined when `TRIBUTARY_ACCESS_LOG=0` or the level is above `info`. */
  access: AccessLogSink | undefined;
  /** The fault log for `createApp`: one `error` line per 500, with the request id and the error. */
  fault: FaultLog;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

/**
 * JSON lines on stdout in the shape pino prints on Node (`{"level":"info","time":"<ISO>",...,"msg":...}`),
 * for runtimes without pino's worker-free fast path: Deno and Bun print with `console.log`.
 *
 * @example
 * const logger = createLineLogger(logSettings(env));
 * logger.info('tributary listening on http://127.0.0.1:8787');
 */
export function createLineLogger(settings: LogSettings, write: (line: string) => void = (line) => console.log(line)): EntryLogger {
  const { level } = settings;
  const at =
    (name: 'info' | 'warn' | 'error') =>
    (message: string, fields?: object): void => {
      if (levelEnabled(name, level)) write(jsonLine(name, message, fields ?? {}));
    };
  const info = at('info');
  const error = at('error');
  return {
    access: settings.accessLog && levelEnabled('info', level) ? (entry) => info('request', entry) : undefined,
    fault: (message, fault, fields) => error(message, { ...fields, error: errorFields(fault) }),
    info,
    warn: at('warn'),
    error,
  };
}
