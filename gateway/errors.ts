import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../lib/error-codes';
import { maskIdNumbers } from '../lib/logger';
import { isCallerFacing, maskUnexpectedErrors } from '../lib/mask-errors';
import { codeApolloPipelineError } from './apollo-pipeline-errors';

/**
 * Gateway `formatError`. An error that came from a department (the gateway marks it with
 * `extensions.serviceName`) keeps its message only when the department raised it on
 * purpose with one of our codes; otherwise callers learn which department failed and
 * nothing of how. Either way the department is named in `extensions.department`.
 */
export function maskGatewayErrors(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const { serviceName, ...extensions } = formatted.extensions ?? {};
  if (typeof serviceName !== 'string') return maskUnexpectedErrors(codeApolloPipelineError(formatted));
  const code = extensions.code;
  const isOnPurpose = isCallerFacing(code);
  return {
    // A department's own message is for the caller, but no ID number passes through it (a department may quote what it was sent).
    message: isOnPurpose ? maskIdNumbers(formatted.message) : `the ${serviceName} department could not answer`,
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code: isOnPurpose ? code : ErrorCode.DEPARTMENT_UNAVAILABLE, department: serviceName },
  };
}
