import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type DocumentNode } from 'graphql';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** ISO 8601 calendar dates, kept as strings: registries store them that way and no arithmetic happens on the wire. */
export const DateScalar = new GraphQLScalarType({
  name: 'Date',
  serialize: (value) => {
    if (typeof value !== 'string' || !DATE.test(value)) throw new GraphQLError('Date must be serialised from a YYYY-MM-DD string');
    return value;
  },
  parseValue: (value) => {
    if (typeof value !== 'string' || !DATE.test(value)) throw new GraphQLError('Date must be a YYYY-MM-DD string');
    return value;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || !DATE.test(ast.value)) throw new GraphQLError('Date must be a YYYY-MM-DD string');
    return ast.value;
  },
});

/** ISO 8601 instants, normalised to UTC with milliseconds. */
export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  serialize: (value) => toIsoInstant(value, 'serialised from'),
  parseValue: (value) => toIsoInstant(value, 'parsed from'),
  parseLiteral: (ast) => toIsoInstant(ast.kind === Kind.STRING ? ast.value : undefined, 'parsed from'),
});

/** Any JSON value, passed through as it is: facts a department shared, in the shape of the selection that asked for them. */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

function toIsoInstant(value: unknown, verb: string): string {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) throw new GraphQLError(`DateTime must be ${verb} an ISO 8601 instant`);
  return date.toISOString();
}

const SCALARS = [DateScalar, DateTimeScalar, JSONScalar];

/** The custom scalars a department's SDL declares, as resolvers: each department declares only those it uses. */
export function scalarsDeclaredIn(typeDefs: DocumentNode): Record<string, GraphQLScalarType> {
  const declared = new Set(typeDefs.definitions.flatMap((definition) => (definition.kind === Kind.SCALAR_TYPE_DEFINITION ? [definition.name.value] : [])));
  return Object.fromEntries(SCALARS.filter((scalar) => declared.has(scalar.name)).map((scalar) => [scalar.name, scalar]));
}
