import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { ErrorCode } from '../../lib/error-codes';
import { refuse, type GatewayContext } from '../context';

/**
 * The operation to run must be one the gateway can run. Apollo Server resolves it from the
 * document and `operationName` and, when it cannot, goes on without one; @apollo/gateway
 * then throws a plain Error (a 500 "internal error" for the caller), and it throws the same
 * for a subscription, which it does not execute. Refused here, first, with a code and
 * what to do: OPERATION_RESOLUTION_FAILURE or OPERATION_NOT_SUPPORTED, HTTP 400.
 */
export function operationResolutionPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          const { operation } = requestContext;
          if (!operation) {
            const message = unresolvedOperation(requestContext.document, requestContext.request.operationName ?? null);
            refuse(requestContext, new GraphQLError(message, { extensions: { code: ErrorCode.OPERATION_RESOLUTION_FAILURE } }));
          }
          if (operation.operation === 'subscription') {
            refuse(requestContext, new GraphQLError('subscription operations are not supported: the gateway answers queries and mutations', {
              extensions: { code: ErrorCode.OPERATION_NOT_SUPPORTED },
            }));
          }
        },
      };
    },
  };
}

/** Why no operation of `document` was chosen, and what the caller should send instead. */
function unresolvedOperation(document: DocumentNode, operationName: string | null): string {
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  const names = operations.map((operation) => operation.name?.value).filter((name): name is string => name !== undefined);
  if (operationName === null) return `the document has ${operations.length} operations (${names.join(', ')}): name the one to run in operationName`;
  const has = names.length > 0 ? names.join(', ') : 'one anonymous operation';
  return `the document has no operation named ${operationName}; it has ${has}`;
}
