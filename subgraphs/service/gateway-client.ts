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

/** The gateway over HTTP; `url` is read per request, so a gateway started after the bureau can be pointed at. */
export function httpGatewayClient(url: () => string): GatewayClient {
  return async ({ query, variables, headers }) => {
    const response = await fetch(url(), {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    return { status: response.status, body: (await response.json()) as GatewayResponse['body'] };
  };
}
