import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type OperationDefinitionNode } from 'graphql';
import { ErrorCode } from '../../lib/error-codes';
import { refuse, type GatewayContext } from '../context';
import { operationCheckPlugin } from '../operation-check';
import { estimateCost, type CostModel } from '../operation-cost';
import { coercedVariables } from '../variables';

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
  /**
   * The operation's estimated cost with its variables (operation-cost.ts); default 10000.
   * The README's one-citizen query costs 47 and the same facts for the most citizens one
   * list may carry (100) 4,700; bench scenario C's 100 citizens cost 1,400, and 100
   * citizens with their household members' residence and their licences' businesses
   * (test/batching.test.ts) 6,400; a proof checklist's reads at most 73, the audit
   * console's largest page 101. The reported attack cost 1,116,000.
   */
  maxCost: number;
}

export const DEFAULT_OPERATION_LIMITS: OperationLimits = { maxDepth: 10, maxAliases: 10, maxRootFields: 5, maxFields: 300, maxQueryLength: 10000, maxCost: 10000 };

type DocumentLimit = Exclude<keyof OperationLimits, 'maxCost'>;

const DESCRIPTIONS: Record<keyof OperationLimits, string> = {
  maxQueryLength: 'query length in characters',
  maxDepth: 'operation depth',
  maxAliases: 'aliased fields',
  maxRootFields: 'root fields',
  maxFields: 'selected fields',
  maxCost: 'estimated cost',
};

/**
 * Operation limits, checked before the query is planned: over a limit is
 * OPERATION_LIMIT_EXCEEDED (HTTP 400) naming the limit and the value, never a slow
 * answer. The document's measures come first; the estimated cost, which depends on the
 * variables (how many ID numbers `$ids` holds), only for a document within them, so the
 * estimate never walks a document the field limit refused. The `citizens` batch bound and
 * the body size are checked where those enter (plugins/identifier-arguments.ts,
 * lib/graphql-http.ts).
 */
export function limitsPlugin(limits: OperationLimits, costModel: CostModel): ApolloServerPlugin<GatewayContext> {
  return operationCheckPlugin((requestContext, analysis) => {
    const measured: Record<DocumentLimit, number> = {
      maxQueryLength: requestContext.source.length,
      maxDepth: analysis.depth,
      maxAliases: analysis.aliases,
      maxRootFields: analysis.rootFields,
      maxFields: analysis.fields,
    };
    for (const limit of Object.keys(measured) as DocumentLimit[]) {
      if (measured[limit] > limits[limit]) refuse(requestContext, limitExceeded(limit, limits[limit], measured[limit]));
    }
    // Variables that do not fit their types leave nothing to estimate: @apollo/gateway refuses such a request before it plans it (validateIncomingRequest).
    const variables = coercedVariables(requestContext);
    if (variables.problem !== undefined) return;
    // operationCheckPlugin runs checks only once the operation is resolved.
    const operation = requestContext.operation as OperationDefinitionNode;
    const cost = estimateCost(requestContext.schema, requestContext.document, operation, variables.values, costModel);
    if (cost > limits.maxCost) refuse(requestContext, limitExceeded('maxCost', limits.maxCost, cost));
  });
}

function limitExceeded(limit: keyof OperationLimits, max: number, actual: number): GraphQLError {
  return new GraphQLError(`${DESCRIPTIONS[limit]} must be at most ${max}, got ${actual}`, {
    extensions: { code: ErrorCode.OPERATION_LIMIT_EXCEEDED, limit, max, actual },
  });
}
