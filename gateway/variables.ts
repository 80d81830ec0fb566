import type { GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import { getVariableValues, print } from 'graphql';
import { memoisedIn } from '../lib/memoised';
import type { GatewayContext } from './context';

/** An operation's variables as execution will see them, or why they cannot be. */
export type CoercedVariables = { values: Record<string, unknown>; problem?: undefined } | { values?: undefined; problem: string };

const coercedByRequest = new WeakMap<object, CoercedVariables>();

/**
 * The operation's variable values as graphql-js coerces them: the values sent, and the
 * default of every variable the request did not send (`query ($ids: [ID!]! = ["..."])`).
 * Every check that reads a variable (identifiers, cost, rate limits) and the audit record
 * must read these, never `request.variables`: a default is a value the caller chose as
 * surely as one it sent. Computed once per request. On a value that does not coerce,
 * `problem` says which variable and what type it needed, and never the value, which may
 * be an ID number (graphql-js's own message quotes it).
 */
export function coercedVariables(requestContext: GraphQLRequestContextDidResolveOperation<GatewayContext>): CoercedVariables {
  return memoisedIn(coercedByRequest, requestContext.request, () => {
    const definitions = requestContext.operation?.variableDefinitions ?? [];
    const result = getVariableValues(requestContext.schema, definitions, requestContext.request.variables ?? {}, { maxErrors: 1 });
    if (!result.errors) return { values: result.coerced };
    const name = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)"/.exec(result.errors[0].message)?.[1];
    const definition = definitions.find((candidate) => candidate.variable.name.value === name);
    return {
      problem: definition
        ? `variable $${name} must be a value of type ${print(definition.type)}`
        : 'the variables do not fit the operation\'s variable definitions',
    };
  });
}
