import { GraphQLError } from 'graphql';

/**
 * Every `extensions.code` Proofless puts on an error, in one place. Front-end teams
 * branch on these strings, so they are a contract: add codes, never rename one.
 */
export enum ErrorCode {
  /** An argument is malformed (an ID number, a credit code, a list over its bound). */
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  /** The HTTP request is not a GraphQL request: unreadable JSON, wrong method or content type. */
  BAD_REQUEST = 'BAD_REQUEST',
  /** The request body is larger than the configured limit; the message names the limit. */
  REQUEST_TOO_LARGE = 'REQUEST_TOO_LARGE',
  /** No such path on this server. */
  NOT_FOUND = 'NOT_FOUND',
  /** The document could not be parsed. Raised by Apollo Server itself. */
  GRAPHQL_PARSE_FAILED = 'GRAPHQL_PARSE_FAILED',
  /** The document does not validate against the schema. Raised by Apollo Server itself. */
  GRAPHQL_VALIDATION_FAILED = 'GRAPHQL_VALIDATION_FAILED',
  /** The request names an operation the document does not have. Raised by Apollo Server itself. */
  OPERATION_RESOLUTION_FAILURE = 'OPERATION_RESOLUTION_FAILURE',
  /** Automatic persisted queries are off: send the whole document. Raised by Apollo Server itself. */
  PERSISTED_QUERY_NOT_SUPPORTED = 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** A department answered with an error or not at all; `extensions.department` names it. */
  DEPARTMENT_UNAVAILABLE = 'DEPARTMENT_UNAVAILABLE',
  /** Anything unexpected. The details stay in the process log, never in the response. */
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/** A GraphQL error for malformed input, answered with HTTP 400 when raised before execution. */
export function badUserInput(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } },
  });
}
