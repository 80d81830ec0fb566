import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../../lib/error-codes';
import { refuse, type GatewayContext } from '../context';
import { operationCheckPlugin } from '../operation-check';

export interface OperationLimits {
  /** Deepest field nesting; default 10 (the deepest useful citizen query is 7). */
  maxDepth: number;
  /** Aliased fields; default 10 (aliases are how one request multiplies a field). */
  maxAliases: number;
  /** Fields on the root type, fragments included; default 5. */
  maxRootFields: number;
  /** Field selections with fragments expanded; default 300. */
  maxFields: number;
  /** Characters in the query document; default 10000. */
  maxQueryLength: number;
}

export const DEFAULT_OPERATION_LIMITS: OperationLimits = { maxDepth: 10, maxAliases: 10, maxRootFields: 5, maxFields: 300, maxQueryLength: 10000 };

const DESCRIPTIONS: Record<keyof OperationLimits, string> = {
  maxQueryLength: 'query length in characters',
  maxDepth: 'operation depth',
  maxAliases: 'aliased fields',
  maxRootFields: 'root fields',
  maxFields: 'selected fields',
};

/**
 * Operation limits, checked on the document before the query is planned: over a limit
 * is OPERATION_LIMIT_EXCEEDED (HTTP 400) naming the limit and the value, never a slow
 * answer. The `citizens` batch bound and the body size are checked where those enter
 * (plugins/identifier-arguments.ts, lib/graphql-http.ts).
 */
export function limitsPlugin(limits: OperationLimits = DEFAULT_OPERATION_LIMITS): ApolloServerPlugin<GatewayContext> {
  return operationCheckPlugin((requestContext, analysis) => {
    const measured: Record<keyof OperationLimits, number> = {
      maxQueryLength: requestContext.source.length,
      maxDepth: analysis.depth,
      maxAliases: analysis.aliases,
      maxRootFields: analysis.rootFields,
      maxFields: analysis.fields,
    };
    for (const limit of Object.keys(DESCRIPTIONS) as (keyof OperationLimits)[]) {
      if (measured[limit] > limits[limit]) refuse(requestContext, limitExceeded(limit, limits[limit], measured[limit]));
    }
  });
}

function limitExceeded(limit: keyof OperationLimits, max: number, actual: number): GraphQLError {
  return new GraphQLError(`${DESCRIPTIONS[limit]} must be at most ${max}, got ${actual}`, {
    extensions: { code: ErrorCode.OPERATION_LIMIT_EXCEEDED, limit, max, actual },
  });
}
