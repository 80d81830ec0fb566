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
  /** The document's operation to run cannot be chosen: several operations and no `operationName`, or an `operationName` the document does not have. HTTP 400. */
  OPERATION_RESOLUTION_FAILURE = 'OPERATION_RESOLUTION_FAILURE',
  /** The operation is of a kind the gateway does not run (a subscription: it answers queries and mutations). HTTP 400. */
  OPERATION_NOT_SUPPORTED = 'OPERATION_NOT_SUPPORTED',
  /** Automatic persisted queries are off: send the whole document. Raised by Apollo Server itself. */
  PERSISTED_QUERY_NOT_SUPPORTED = 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** No bearer token where one is needed, or a token that is malformed, badly signed, expired or not for this gateway. HTTP 401. */
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  /** The caller is known but may not do this: missing or malformed purpose, a service item not granted, a field outside the item's catalog entry, a missing scope, a role that may not read this, an unregistered operation. HTTP 403. */
  FORBIDDEN = 'FORBIDDEN',
  /** The operation is over a configured limit (depth, aliases, root fields, fields, query length); `extensions.limit` names it. HTTP 400. */
  OPERATION_LIMIT_EXCEEDED = 'OPERATION_LIMIT_EXCEEDED',
  /** Too many requests, or too many distinct citizens, in the current window; `extensions.limit` names it. HTTP 429 with Retry-After. */
  RATE_LIMITED = 'RATE_LIMITED',
  /** A hash-only request for an operation the trusted-operations manifest does not hold. Raised by Apollo Server itself. */
  PERSISTED_QUERY_NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND',
  /** A request sent a document and a persisted-query hash that is not the document's SHA-256 (Apollo Router's code for the same). HTTP 400. */
  PERSISTED_QUERY_HASH_MISMATCH = 'PERSISTED_QUERY_HASH_MISMATCH',
  /** A department could not be reached, answered with an HTTP error or an unreadable body, or its circuit is open; `extensions.department` names it. Its facts are null, the others' are there. */
  DEPARTMENT_UNAVAILABLE = 'DEPARTMENT_UNAVAILABLE',
  /** A department did not answer within its configured timeout; `extensions.department` names it. Its facts are null, the others' are there. */
  DEPARTMENT_TIMEOUT = 'DEPARTMENT_TIMEOUT',
  /** A department's answer came without its signed receipt, or with one that does not verify (wrong key, wrong department, another request's or another answer's digest); `extensions.department` names it. Its facts are withheld, as for any department failure; the others' are there. */
  DEPARTMENT_RECEIPT_INVALID = 'DEPARTMENT_RECEIPT_INVALID',
  /** At a department: its own access log cannot be written, so it releases nothing: HTTP 503. The gateway reports DEPARTMENT_UNAVAILABLE for it. */
  DEPARTMENT_LOG_UNAVAILABLE = 'DEPARTMENT_LOG_UNAVAILABLE',
  /** `departmentTraffic`: the auditors' department found the department's access log but cannot read it (no read access granted, its database unreachable, not a log); `extensions.department` names it. */
  DEPARTMENT_LOG_UNREADABLE = 'DEPARTMENT_LOG_UNREADABLE',
  /** The audit log cannot be written, so nothing is released: HTTP 503. Retry later. */
  AUDIT_UNAVAILABLE = 'AUDIT_UNAVAILABLE',
  /** `auditChains` has no finished verification to answer yet: the audit department started a moment ago and its first is running. Ask again shortly. */
  AUDIT_VERIFICATION_PENDING = 'AUDIT_VERIFICATION_PENDING',
  /** At a department: the request carries no `Signature` / `Signature-Input` labelled `proofless`, or no `Content-Digest`. HTTP 401. Only the gateway may call a department. */
  SIGNATURE_MISSING = 'SIGNATURE_MISSING',
  /** At a department: the signature headers cannot be parsed, lack a required parameter (created, expires, nonce, keyid, tag="proofless"; alg, when given, must be ed25519), or do not cover every component a department requires. HTTP 401. */
  SIGNATURE_MALFORMED = 'SIGNATURE_MALFORMED',
  /** At a department: the signature's `keyid` is not in the department's trust list of gateway keys, or the key is outside its validity. HTTP 401. */
  SIGNATURE_KEY_UNKNOWN = 'SIGNATURE_KEY_UNKNOWN',
  /** At a department: the Ed25519 signature does not verify over the request's signature base (RFC 9421). HTTP 401. */
  SIGNATURE_INVALID = 'SIGNATURE_INVALID',
  /** At a department: the signature's `expires` has passed, its `created` is in the future, or it lives longer than allowed. HTTP 401. */
  SIGNATURE_EXPIRED = 'SIGNATURE_EXPIRED',
  /** At a department: the signature's nonce was seen before: a replayed request. HTTP 401. */
  SIGNATURE_REPLAYED = 'SIGNATURE_REPLAYED',
  /** At a department: the body's digest is not the one `Content-Digest` states (RFC 9530). HTTP 401. */
  CONTENT_DIGEST_MISMATCH = 'CONTENT_DIGEST_MISMATCH',
  /** At a department: a header the signature covers (or a signature header) is present more than once (X-Road issue #1177). HTTP 401. */
  HEADER_DUPLICATED = 'HEADER_DUPLICATED',
  /** Anything unexpected. The details stay in the process log, never in the response. */
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/** A GraphQL error for malformed input. */
export function badUserInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
}

/** HTTP answers for requests refused before execution, by code. */
const HTTP_BEFORE_EXECUTION: Partial<Record<ErrorCode, { status: number; headers?: Map<string, string> }>> = {
  [ErrorCode.BAD_USER_INPUT]: { status: 400 },
  [ErrorCode.OPERATION_RESOLUTION_FAILURE]: { status: 400 },
  [ErrorCode.OPERATION_NOT_SUPPORTED]: { status: 400 },
  [ErrorCode.OPERATION_LIMIT_EXCEEDED]: { status: 400 },
  [ErrorCode.UNAUTHENTICATED]: { status: 401, headers: new Map([['www-authenticate', 'Bearer']]) },
  [ErrorCode.FORBIDDEN]: { status: 403 },
  [ErrorCode.RATE_LIMITED]: { status: 429 },
  [ErrorCode.AUDIT_UNAVAILABLE]: { status: 503 },
};

/**
 * The error as a whole request's answer: with the HTTP status its code calls for (401,
 * 403, 400...). Only refusals before execution get one: an error a resolver raises must
 * not set a status, or a department's partial answer would reach the gateway as a failed
 * call. An HTTP head the error already has (a Retry-After) is kept.
 */
export function beforeExecution(error: GraphQLError): GraphQLError {
  const http = HTTP_BEFORE_EXECUTION[error.extensions.code as ErrorCode];
  if (!http || error.extensions.http) return error;
  return new GraphQLError(error.message, { extensions: { ...error.extensions, http } });
}

/**
 * Codes Apollo Server gives a request it will not execute because of what was sent (a
 * document that does not parse or validate, an operation it does not have, variables of
 * the wrong type): refusals, like those of our own checks. The gateway's outcome and each
 * department's access log both count an answer with only these, and no data, as refused.
 */
export const REFUSED_BEFORE_EXECUTION_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.GRAPHQL_PARSE_FAILED,
  ErrorCode.GRAPHQL_VALIDATION_FAILED,
  ErrorCode.OPERATION_RESOLUTION_FAILURE,
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.BAD_REQUEST,
  ErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
  ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
]);

/** A request without a usable bearer token (HTTP 401 with a `WWW-Authenticate: Bearer` challenge, before execution). */
export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.UNAUTHENTICATED } });
}

/** A known caller refused (HTTP 403 before execution). The message names what is wrong and nothing about any citizen. */
export function forbidden(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN, ...extensions } });
}

/**
 * A rate limit's refusal (HTTP 429 before execution): the message says what was over and
 * when to come back, `extensions.limit` and `max` which limit, and `Retry-After` how many
 * seconds to wait.
 */
export function rateLimited(message: string, limit: string, max: number, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.RATE_LIMITED, limit, max, http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) } },
  });
}
