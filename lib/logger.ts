import { ConfigError } from './env';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';

export type { Logger };

export type LogLevel = Level | 'silent';

/**
 * Anything shaped like a resident ID number (GB 11643: 17 digits and a check digit),
 * not inside a longer run of digits or letters (a hash, a credit code).
 */
const ID_NUMBER_PATTERN = /(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])/g;

/** `330106197503120015` → `330106********0015`: the division and the last four stay, for support, and the birth date goes. */
export function maskIdNumbers(text: string): string {
  return text.replace(ID_NUMBER_PATTERN, '$1********$2');
}

/** A deep copy of a log field with every ID number masked; errors become `{ type, message, code }` (no stack: it may hold a citizen's data in its frames' arguments). */
function masked(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskIdNumbers(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return { type: value.name, message: maskIdNumbers(value.message), ...(code ? { code } : {}) };
  }
  if (Array.isArray(value)) return value.map((item) => masked(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, masked(item, depth + 1)]));
}

export interface LoggerOptions {
  /** PROOFLESS_LOG_LEVEL: trace, debug, info (default), warn, error, fatal or silent. */
  level?: LogLevel;
  /** Where lines go; default standard output. */
  destination?: DestinationStream;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** The log level PROOFLESS_LOG_LEVEL names; default info. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const level = env.PROOFLESS_LOG_LEVEL || 'info';
  if (!LEVELS.includes(level)) throw new ConfigError(`PROOFLESS_LOG_LEVEL must be one of ${LEVELS.join(', ')}, got "${level}"`);
  return level as LogLevel;
}

/**
 * One JSON line per event (pino), named by process (`gateway`, `household`...). ID numbers
 * are masked wherever they appear, in the message and in every field, so a log shipped
 * to an operations team never holds a whole one: who saw whose data is for the audit
 * log, which auditors read.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  return pino(
    {
      name,
      level: options.level ?? logLevelFromEnv(),
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors are already made safe by `masked` (formatters.log runs first); pino's own serializer would add the stack back as "".
      serializers: { err: (error: unknown) => error },
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => masked(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? maskIdNumbers(arg) : arg)) as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
