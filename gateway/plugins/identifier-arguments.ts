import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { TypeInfo, valueFromAST, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import { badUserInput } from '../../lib/error-codes';
import { checkIdentifierArgument, isIdentifierArgument } from '../../lib/identifier-arguments';

export interface IdentifierArgumentsOptions {
  /** The most identifiers one list argument (`citizens(idNumbers:)`) may carry. Default 100. */
  maxListLength?: number;
}

/**
 * Checks every ID number and credit code an operation carries, as literals or variables,
 * in any field, fragment or alias, before the query is planned: a malformed identifier is
 * a BAD_USER_INPUT error (HTTP 400) and no department is called.
 */
export function identifierArgumentsPlugin(options: IdentifierArgumentsOptions = {}): ApolloServerPlugin<BaseContext> {
  const maxListLength = options.maxListLength ?? 100;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, schema, request }) {
          const problem = firstIdentifierProblem(schema, document, request.variables ?? {}, maxListLength);
          if (problem) throw badUserInput(problem);
        },
      };
    },
  };
}

function firstIdentifierProblem(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, maxListLength: number): string | null {
  const typeInfo = new TypeInfo(schema);
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
      },
    }),
  );
  return problem;
}
