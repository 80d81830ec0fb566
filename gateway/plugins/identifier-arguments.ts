import type { ApolloServerPlugin } from '@apollo/server';
import { TypeInfo, valueFromAST, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import { badUserInput } from '../../lib/error-codes';
import { checkIdentifierArgument, isIdentifierArgument } from '../../lib/identifier-arguments';
import { refuse, type GatewayContext } from '../context';
import { operationCheckPlugin } from '../operation-check';

export interface IdentifierArgumentsOptions {
  /** The most identifiers one list argument (`citizens(idNumbers:)`) may carry. Default 100. */
  maxListLength?: number;
}

/**
 * Checks every ID number and credit code an operation carries, as literals or variables,
 * in any field, fragment or alias, before the query is planned: a malformed identifier is
 * a BAD_USER_INPUT error (HTTP 400) and no department is called. The ID numbers it finds
 * are kept on the context for the rate limits and the audit record.
 */
export function identifierArgumentsPlugin(options: IdentifierArgumentsOptions = {}): ApolloServerPlugin<GatewayContext> {
  const maxListLength = options.maxListLength ?? 100;
  return operationCheckPlugin((requestContext) => {
    const { document, schema, request } = requestContext;
    const found = identifiersIn(schema, document, request.variables ?? {}, maxListLength);
    if (found.problem) refuse(requestContext, badUserInput(found.problem));
    requestContext.contextValue.citizensAsked = [...new Set(found.idNumbers)];
  });
}

/** The first malformed identifier argument (as a message), and the normalised ID numbers the operation names. */
export function identifiersIn(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, maxListLength: number) {
  const typeInfo = new TypeInfo(schema);
  const idNumbers: string[] = [];
  let problem: string | null = null;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        if (problem || !isIdentifierArgument(node.name.value)) return;
        const argument = typeInfo.getArgument();
        if (!argument) return;
        const value = valueFromAST(node.value, argument.type, variables);
        if (value === undefined || value === null) return;
        const result = checkIdentifierArgument(node.name.value, value, maxListLength);
        if (!result.ok) problem = result.message;
        else if (node.name.value.startsWith('idNumber')) idNumbers.push(...[result.value].flat());
      },
    }),
  );
  return { problem, idNumbers };
}
