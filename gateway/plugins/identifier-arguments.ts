import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  getNullableType,
  isInputObjectType,
  isListType,
  valueFromAST,
  type ArgumentNode,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { badUserInput } from '../../lib/error-codes';
import { checkIdentifierArgument, holdsIdNumbers, isIdentifierArgument } from '../../lib/identifier-arguments';
import { memoisedIn } from '../../lib/memoised';
import { refuse, type GatewayContext } from '../context';
import { fieldsWithArguments } from '../../lib/field-arguments';
import { operationCheckPlugin } from '../operation-check';
import { coercedVariables } from '../variables';

export interface IdentifierArgumentsOptions {
  /** The most identifiers one list argument (`citizens(idNumbers:)`) may carry. Default 100. */
  maxListLength?: number;
}

/**
 * Checks every ID number and credit code an operation carries, as literals, variables or
 * variables' default values, as arguments or fields of input objects, in any field,
 * fragment or alias, before the query is planned: a malformed identifier is a
 * BAD_USER_INPUT error (HTTP 400) and no department is called. Variables that do not
 * coerce to their types are refused the same way. The ID numbers it finds are kept on the
 * context for the rate limits and the audit record.
 *
 * Execution then gets exactly the variable values checked: the request's variables are
 * replaced by their coerced values, defaults included, so a department never receives a
 * value the gateway did not see (the query plan would otherwise pass the caller's
 * variable definitions, defaults and all, for the department to fill in).
 */
export function identifierArgumentsPlugin(options: IdentifierArgumentsOptions = {}): ApolloServerPlugin<GatewayContext> {
  const maxListLength = options.maxListLength ?? 100;
  return operationCheckPlugin((requestContext) => {
    const { document, schema } = requestContext;
    // operationCheckPlugin runs checks only once the operation is resolved.
    const operation = requestContext.operation as OperationDefinitionNode;
    const variables = coercedVariables(requestContext);
    if (variables.problem !== undefined) refuse(requestContext, badUserInput(variables.problem));
    const found = identifiersIn(schema, document, operation, variables.values, maxListLength);
    if (found.problem) refuse(requestContext, badUserInput(found.problem));
    requestContext.contextValue.citizensAsked = [...new Set(found.idNumbers)];
    requestContext.request.variables = variables.values;
  });
}

/** Where an operation passes an identifier, or an input object that may hold one: the argument, its value as written and its input type. */
interface IdentifierArgumentSite {
  name: string;
  valueNode: ArgumentNode['value'];
  type: GraphQLInputType;
}

const sitesByOperation = new WeakMap<OperationDefinitionNode, IdentifierArgumentSite[]>();

/** The identifier arguments of the operation that runs, in document order, once per parsed operation. */
function identifierArgumentSites(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): IdentifierArgumentSite[] {
  return memoisedIn(sitesByOperation, operation, () =>
    fieldsWithArguments(schema, document, operation).flatMap(({ definition, node }) =>
      (node.arguments ?? []).flatMap((argument) => {
        const type = definition.args.find((candidate) => candidate.name === argument.name.value)?.type;
        return type && (isIdentifierArgument(argument.name.value) || mayHoldIdentifiers(type)) ? [{ name: argument.name.value, valueNode: argument.value, type }] : [];
      }),
    ),
  );
}

const holdsByInputType = new WeakMap<object, boolean>();

/** Whether an input type has an identifier field at any depth (`RelatedPersonInput.idNumber`). */
function mayHoldIdentifiers(type: GraphQLInputType): boolean {
  const named = getNamedType(type);
  if (!isInputObjectType(named)) return false;
  if (holdsByInputType.has(named)) return holdsByInputType.get(named) as boolean;
  // Input types may refer to themselves; assume not while looking.
  holdsByInputType.set(named, false);
  const holds = Object.values(named.getFields()).some((field) => isIdentifierArgument(field.name) || mayHoldIdentifiers(field.type));
  holdsByInputType.set(named, holds);
  return holds;
}

export interface IdentifiersFound {
  /** The first malformed identifier, as a message naming where it is; null when every one is well formed. */
  problem: string | null;
  /** The normalised ID numbers the operation names, up to the first problem. */
  idNumbers: string[];
}

/**
 * The identifiers of the operation that runs, with `variables` (coerced: defaults
 * included) filled in: the first malformed one, as a message, and the normalised ID
 * numbers it names.
 */
export function identifiersIn(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  maxListLength: number,
): IdentifiersFound {
  const idNumbers: string[] = [];
  const check = (name: string, label: string, value: unknown): string | null => {
    if (value === undefined || value === null) return null;
    const result = checkIdentifierArgument(name, value, maxListLength, label);
    if (!result.ok) return result.message;
    if (holdsIdNumbers(name)) idNumbers.push(...[result.value].flat());
    return null;
  };
  // Walks an input value along its type to the identifier fields inside it.
  const walk = (value: unknown, type: GraphQLInputType, label: string): string | null => {
    if (value === undefined || value === null) return null;
    const nullable = getNullableType(type);
    if (isListType(nullable)) {
      if (!Array.isArray(value)) return walk(value, nullable.ofType, label);
      for (const [index, item] of value.entries()) {
        const problem = walk(item, nullable.ofType, `${label}[${index}]`);
        if (problem) return problem;
      }
      return null;
    }
    if (!isInputObjectType(nullable) || typeof value !== 'object') return null;
    for (const field of Object.values(nullable.getFields())) {
      const fieldValue = (value as Record<string, unknown>)[field.name];
      const problem = isIdentifierArgument(field.name) ? check(field.name, `${label}.${field.name}`, fieldValue) : walk(fieldValue, field.type, `${label}.${field.name}`);
      if (problem) return problem;
    }
    return null;
  };
  for (const site of identifierArgumentSites(schema, document, operation)) {
    const value = valueFromAST(site.valueNode, site.type, variables);
    const problem = isIdentifierArgument(site.name) ? check(site.name, site.name, value) : walk(value, site.type, site.name);
    if (problem) return { problem, idNumbers };
  }
  return { problem: null, idNumbers };
}
