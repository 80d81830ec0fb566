import type { GraphQLFormattedError } from 'graphql';

/** A GraphQL request the service bureau sends to the gateway. */
export interface GatewayRequest {
  query: string;
  variables: Record<string, unknown>;
  /** The purpose headers it acts under: `authorization`, `x-service-item`, `x-case-number`. */
  headers: Record<string, string>;
}

export interface GatewayResponse {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: GraphQLFormattedError[] };
}

/** Sends one request to the gateway; injected, so tests can record what the bureau asks. */
export type GatewayClient = (request: GatewayRequest) => Promise<GatewayResponse>;

/** Headers of an incoming request the bureau passes on unchanged, so the gateway checks and audits the same who and why. */
export const FORWARDED_HEADERS = ['authorization', 'x-service-item', 'x-case-number'];

/** Past this the bureau stops waiting and reports the departments unavailable. */
const TIMEOUT_MS = 30_000;

/**
 * The gateway could not be asked, or did not answer with JSON. The message says why (the
 * cause fetch gives, or the HTTP status) and where, by host and port only: a URL may carry
 * a password, and an answer's body may carry anything. `code` is the system's code where
 * there is one (ECONNREFUSED).
 */
export class GatewayCallError extends Error {
  override name = 'GatewayCallError';

  constructor(message: string, readonly code?: string) {
    super(message);
  }
}

/** The gateway over HTTP; `url` is read per request, so a gateway started after the bureau can be pointed at. */
export function httpGatewayClient(url: () => string): GatewayClient {
  return async ({ query, variables, headers }) => {
    const target = url();
    const where = new URL(target).host;
    let response: Response;
    try {
      response = await fetch(target, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (error) {
      throw unreachable(where, error);
    }
    let body: GatewayResponse['body'];
    try {
      body = (await response.json()) as GatewayResponse['body'];
    } catch {
      throw new GatewayCallError(`the gateway at ${where} answered HTTP ${response.status} with a body that is not JSON`);
    }
    return { status: response.status, body };
  };
}

/**
 * Why fetch failed. Its own error says only "fetch failed"; the reason is the cause:
 * `bad port`, `connect ECONNREFUSED 127.0.0.1:4000`, `getaddrinfo ENOTFOUND ...`. A
 * timeout is the abort signal's TimeoutError. Errors are read by shape, not `instanceof`:
 * fetch's come from Node's own realm (a test runner's sandbox has another Error).
 */
function unreachable(where: string, error: unknown): GatewayCallError {
  const failure = error as Partial<Error> | undefined;
  if (failure?.name === 'TimeoutError') return new GatewayCallError(`the gateway at ${where} did not answer within ${TIMEOUT_MS} ms`, 'TIMEOUT');
  const cause = (failure?.cause ?? failure) as Partial<NodeJS.ErrnoException> | undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  // An AggregateError (every address of a name refused) has an empty message and the code.
  const reason = cause?.message || code || String(cause);
  return new GatewayCallError(`the gateway at ${where} could not be reached: ${reason}`, code);
}
