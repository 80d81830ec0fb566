import type { GraphQLRequestContext } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Caller } from './auth';

/** Per-request state the gateway's plugins share. */
export interface GatewayContext {
  /** The verified caller, or null for a request without a bearer token. */
  caller: Caller | null;
  /** The purpose headers, once the purpose plugin has accepted them. */
  purpose?: { serviceItem: string; caseNumber: string };
  /** Normalised ID numbers the operation names in its arguments. */
  citizensAsked?: string[];
  /** The first check that refused the request; later checks then do nothing. */
  refusal?: GraphQLError;
}

/**
 * Refuses the request. Apollo Server runs every plugin's `didResolveOperation` together
 * (`Promise.all`), so a refusal is recorded on the context before it is thrown: the
 * checks that follow see it and stand down instead of, say, counting a refused request
 * against a rate limit.
 */
export function refuse(requestContext: GraphQLRequestContext<GatewayContext>, error: GraphQLError): never {
  requestContext.contextValue.refusal ??= error;
  throw error;
}

export function isRefused(requestContext: GraphQLRequestContext<GatewayContext>): boolean {
  return requestContext.contextValue.refusal !== undefined;
}
