import type { ApolloServerPlugin, GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { isRefused, type GatewayContext } from './context';
import { analyseOperation, type OperationAnalysis } from './operation-analysis';

export type OperationCheck = (
  requestContext: GraphQLRequestContextDidResolveOperation<GatewayContext>,
  analysis: OperationAnalysis,
) => void | Promise<void>;

/**
 * A plugin that runs one check on every operation once it is resolved and before it is
 * planned, unless an earlier check has refused it. The check refuses by calling
 * `refuse(...)`; the document's analysis is computed once and shared by every check.
 */
export function operationCheckPlugin(check: OperationCheck): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          if (isRefused(requestContext) || !requestContext.operation) return;
          await check(requestContext, analyseOperation(requestContext.schema, requestContext.document, requestContext.operation));
        },
      };
    },
  };
}
