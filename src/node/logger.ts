import { pino, type DestinationStream, type Logger } from 'pino';
import type { AccessLogEntry } from '../routes/access-log.ts';
import type { FaultFields } from '../routes/errors.ts';
import { errorFields, levelEnabled, type LogSettings } from '../services/logging.ts';

type Fields = Record<string, unknown>;

/** The Node process's one logger: JSON lines on stdout, `{"level":"info","time":"<ISO>",...,"msg":...}`. */
export interface NodeLogger {
  /** The access-log sink for `createApp`; undefined when `TRIBUTARY_ACCESS_LOG=0` or the level is above `info`. */
  access: ((entry: AccessLogEntry) => void) | undefined;
  /** The fault log for `createApp`: one `error` line per 500, with the request id and the error. */
  fault(message: string, error: unknown, fields?: FaultFields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

/**
 * A pino logger at the configured level, writing to stdout (or `destination`). No pid or host
 * name in the lines (the container's log collector knows where a line came from), unless `base`
 * adds them: several processes sharing a port (TRIBUTARY_PROCESSES) each say `pid`. Writes are
 * buffered and flushed when the process exits (pino does that itself).
 *
 * @example
 * const logger = createNodeLogger(logSettings(process.env));
 * const { app } = createApp({ plan, fetcher, accessLog: logger.access, log: logger.fault });
 * logger.info('tributary listening on http://127.0.0.1:8787');
 */
export function createNodeLogger(settings: LogSettings, destination?: DestinationStream, base?: Record<string, unknown>): NodeLogger {
  const options = {
    level: settings.level,
    // Only when several processes serve one port (`{ pid }`): which one wrote the line.
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const logger: Logger = destination ? pino(options, destination) : pino(options);
  return {
    // Left out rather than filtered by pino: a request then does not even build its entry.
    access: settings.accessLog && levelEnabled('info', settings.level) ? (entry) => logger.info(entry, 'request') : undefined,
    fault: (message, error, fields) => logger.error({ ...fields, error: errorFields(error) }, message),
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}
