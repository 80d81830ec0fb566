import type { ApolloServerPlugin } from '@apollo/server';
import { forbidden, unauthenticated } from '../../lib/error-codes';
import { refuse, type GatewayContext } from '../context';
import { operationCheckPlugin } from '../operation-check';
import type { FieldPolicy } from '../supergraph';

export interface ScopesOptions {
  /** `@authenticated` / `@requiresScopes` by field coordinate, read from the supergraph. */
  policies: Map<string, FieldPolicy>;
}

/**
 * Enforces the departments' own `@authenticated` and `@requiresScopes` marks (defence in
 * depth: the department decides which scopes a field needs, the catalog decides which
 * purposes may read it). @apollo/gateway cannot load a supergraph carrying them, see
 * supergraph.ts; this plugin is where they take effect.
 */
export function scopesPlugin(options: ScopesOptions): ApolloServerPlugin<GatewayContext> {
  return operationCheckPlugin((requestContext, { coordinates }) => {
    const { caller } = requestContext.contextValue;
    for (const coordinate of [...coordinates].sort()) {
      const policy = options.policies.get(coordinate);
      if (!policy) continue;
      if (!caller) refuse(requestContext, unauthenticated(`${coordinate} requires an authenticated caller`));
      if (policy.scopeGroups.length > 0 && !policy.scopeGroups.some((group) => group.every((scope) => caller.scopes.includes(scope)))) {
        const needed = policy.scopeGroups.map((group) => group.join(' and ')).join(' or ');
        refuse(requestContext, forbidden(`${coordinate} requires scope ${needed}`));
      }
    }
  });
}
