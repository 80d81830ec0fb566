import { isObjectType, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Check, CheckArgument } from './catalog';

/**
 * How a proof is read through the gateway: a root `citizen` aliased by the proof's code,
 * selecting the proof's facts or its check and nothing else. One operation can carry every
 * proof of a checklist, and each answer and each error comes back under its proof's code.
 * The catalog's validation builds the same operations, so what starts is what runs.
 */
export interface ProofRead {
  /** The proof code: the root field's alias and the prefix of its variables. */
  alias: string;
  /** The ID number of the person the read is about. */
  subject: string;
  /** The selection on Citizen. */
  selection: string;
  /** The check's arguments, as variables `$<alias>_<argument>` typed as the schema types them. */
  variables: { name: string; type: string; value: unknown }[];
}

/** What a check selects: the answer, never the data it was checked against. */
export const VERIFICATION_SELECTION = 'holds department checkedAt';

/** The read of a DATA_SHARING proof: its facts about `subject`. */
export function factsRead(proof: { code: string; facts: string }, subject: string): ProofRead {
  return { alias: proof.code, subject, selection: proof.facts, variables: [] };
}

/**
 * The read of a check (a VERIFICATION proof's, a COMMITMENT proof's follow-up) on `subject`;
 * `personId` gives the ID number of a person an argument names.
 */
export function checkRead(
  schema: GraphQLSchema,
  code: string,
  check: Check,
  subject: string,
  personId: (person: Extract<CheckArgument, object>['person']) => string,
): ProofRead {
  const citizen = schema.getType('Citizen');
  const argumentTypes = new Map((isObjectType(citizen) ? citizen.getFields()[check.field]?.args ?? [] : []).map((argument) => [argument.name, String(argument.type)]));
  const variables = Object.entries(check.arguments).map(([name, value]) => ({
    name: `${code}_${name}`,
    type: argumentTypes.get(name) ?? 'String',
    value: typeof value === 'object' ? personId(value.person) : value,
  }));
  const argumentList = Object.keys(check.arguments).map((name) => `${name}: $${code}_${name}`).join(', ');
  const selection = `${check.field}${argumentList ? `(${argumentList})` : ''} { ${VERIFICATION_SELECTION} }`;
  return { alias: code, subject, selection, variables };
}

/** One query carrying every read, each under its alias, and its variables. */
export function readOperation(operationName: string, reads: ProofRead[]): { query: string; variables: Record<string, unknown> } {
  const definitions = reads.flatMap((read) => [`$${read.alias}: ID!`, ...read.variables.map((variable) => `$${variable.name}: ${variable.type}`)]);
  const selections = reads.map((read) => `${read.alias}: citizen(idNumber: $${read.alias}) { ${read.selection} }`);
  const variables = Object.fromEntries(reads.flatMap((read) => [[read.alias, read.subject], ...read.variables.map((variable) => [variable.name, variable.value])]));
  return { query: `query ${operationName}(${definitions.join(', ')}) { ${selections.join(' ')} }`, variables };
}

/** `Type.field` for every field a valid document selects, `__typename` excluded. */
export function selectedCoordinates(schema: GraphQLSchema, document: DocumentNode): Set<string> {
  const typeInfo = new TypeInfo(schema);
  const coordinates = new Set<string>();
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (parent && node.name.value !== '__typename') coordinates.add(`${parent.name}.${node.name.value}`);
      },
    }),
  );
  return coordinates;
}
