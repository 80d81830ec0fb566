import type { ApolloServerPlugin } from '@apollo/server';
import { TypeInfo, valueFromAST, visit, visitWithTypeInfo, type ArgumentNode, type DocumentNode, type GraphQLInputType, type GraphQLSchema } from 'graphql';
import { badUserInput } from '../../lib/error-codes';
import { checkIdentifierArgument, isIdentifierArgument } from '../../lib/identifier-arguments';
import { memoisedIn } from '../../lib/memoised';
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

/** Where a document passes an identifier argument: the argument, its value as written (a literal or a variable) and its input type. */
interface IdentifierArgumentSite {
  name: string;
  valueNode: ArgumentNode['value'];
  type: GraphQLInputType;
}

const sitesByDocument = new WeakMap<DocumentNode, IdentifierArgumentSite[]>();

/**
 * The identifier arguments of a document, in document order. Finding them takes a typed
 * walk of the whole document, so it is done once per parsed document (Apollo Server
 * reuses one per query text); only their values depend on the request's variables.
 */
function identifierArgumentSites(schema: GraphQLSchema, document: DocumentNode): IdentifierArgumentSite[] {
  return memoisedIn(sitesByDocument, document, () => {
    const sites: IdentifierArgumentSite[] = [];
    const typeInfo = new TypeInfo(schema);
    visit(
      document,
      visitWithTypeInfo(typeInfo, {
        Argument(node) {
          if (!isIdentifierArgument(node.name.value)) return;
          const argument = typeInfo.getArgument();
          if (argument) sites.push({ name: node.name.value, valueNode: node.value, type: argument.type });
        },
      }),
    );
    return sites;
  });
}

/** The first malformed identifier argument (as a message), and the normalised ID numbers the operation names. */
export function identifiersIn(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, maxListLength: number) {
  const idNumbers: string[] = [];
  for (const site of identifierArgumentSites(schema, document)) {
    const value = valueFromAST(site.valueNode, site.type, variables);
    if (value === undefined || value === null) continue;
    const result = checkIdentifierArgument(site.name, value, maxListLength);
    if (!result.ok) return { problem: result.message, idNumbers };
    if (site.name.startsWith('idNumber')) idNumbers.push(...[result.value].flat());
  }
  return { problem: null, idNumbers };
}
