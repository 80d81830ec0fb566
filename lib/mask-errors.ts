import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from './error-codes';

/** Codes whose messages were written for the caller and may be shown as they are. */
const CALLER_FACING = new Set<string>(Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR));

/** Whether an error with this `extensions.code` was raised on purpose, with a message written for the caller. */
export function isCallerFacing(code: unknown): code is string {
  return typeof code === 'string' && CALLER_FACING.has(code);
}

/**
 * Apollo Server `formatError`: an error we raised on purpose (it carries one of our codes)
 * goes out as written; anything else (a driver error, a bug) becomes a bare
 * INTERNAL_SERVER_ERROR, because its message may hold SQL, a file path or a citizen's data.
 */
export function maskUnexpectedErrors(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (isCallerFacing(formatted.extensions?.code)) return formatted;
  return {
    message: 'internal error',
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}
