import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../lib/error-codes';

/**
 * Apollo Server 5 (requestPipeline.ts, 5.5.1) refuses two persisted-query requests with a
 * GraphQLError that has an HTTP status of 400 but no `extensions.code`, so its error
 * formatting gives them INTERNAL_SERVER_ERROR, which tells a client the fault is ours. No
 * option or hook reaches them before that, so they are recognised here by their exact
 * messages and given our codes; test/operation-errors.test.ts fails when a new version
 * changes either message.
 */
const CODES_BY_MESSAGE: ReadonlyMap<string, ErrorCode> = new Map([
  ['provided sha does not match query', ErrorCode.PERSISTED_QUERY_HASH_MISMATCH],
  ['Unsupported persisted query version', ErrorCode.BAD_REQUEST],
]);

/** The error with its proper code when it is one of Apollo Server's codeless refusals above; otherwise as it is. */
export function codeApolloPipelineError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = CODES_BY_MESSAGE.get(formatted.message);
  if (!code || formatted.extensions?.code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code } };
}
