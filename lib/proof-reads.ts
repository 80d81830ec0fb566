import { isObjectType, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Check, CheckArgument, CommitmentProof, ProofCatalog, RelatedRole, ServiceItem } from './catalog';

/**
 * How a proof is read through the gateway: a root `citizen` aliased by the proof's code,
 * selecting the proof's facts or its check and nothing else. One operation can carry every
 * proof of a checklist, and each answer and each error comes back under its proof's code.
 * The catalog's validation builds the same operations, so what starts is what runs.
 *
 * An operation's text depends on the catalog and the schema alone: who is read, and each
 * check's arguments, travel as variables. So `serviceBureauOperations` can list at start
 * every document the service bureau will ever send, with the functions the bureau builds
 * them with, and a gateway accepting only registered operations accepts those.
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

/** The operation a checklist's reads go under (the audit record's operation name). */
export const CHECKLIST_OPERATION = 'ProofChecklist';
/** The operation a commitment's follow-up check goes under. */
export const FOLLOW_UP_OPERATION = 'CommitmentFollowUp';

/** The ID number of the applicant or of a related person, by role. */
export type PersonIdOf = (person: 'APPLICANT' | RelatedRole) => string;

/** Every read a service item's checklist makes, in catalog order: DATA_SHARING proofs' facts, VERIFICATION proofs' checks. */
export function checklistReads(schema: GraphQLSchema, item: ServiceItem, personId: PersonIdOf): ProofRead[] {
  return item.proofs.flatMap((proof) => {
    if (proof.mode === 'DATA_SHARING') return [factsRead(proof, personId(proof.concerns ?? 'APPLICANT'))];
    if (proof.mode === 'VERIFICATION') return [checkRead(schema, proof.code, proof.check, personId(proof.concerns ?? 'APPLICANT'), personId)];
    return [];
  });
}

/** The read of a COMMITMENT proof's follow-up check on the applicant, one commitment at a time. */
export function followUpRead(schema: GraphQLSchema, proof: CommitmentProof, applicant: string): ProofRead {
  return checkRead(schema, proof.code, proof.followUp, applicant, () => applicant);
}

/**
 * Every document the service bureau can send the gateway over `catalog`: one checklist
 * operation per service item that reads anything, one follow-up operation per commitment
 * proof. Built by the functions the bureau builds its requests with, over a placeholder
 * person, which lands in the variables only.
 */
export function serviceBureauOperations(catalog: ProofCatalog, schema: GraphQLSchema): string[] {
  const documents = new Set<string>();
  for (const item of catalog.items.values()) {
    const reads = checklistReads(schema, item, () => '');
    if (reads.length > 0) documents.add(readOperation(CHECKLIST_OPERATION, reads).query);
    for (const proof of item.proofs) {
      if (proof.mode === 'COMMITMENT') documents.add(readOperation(FOLLOW_UP_OPERATION, [followUpRead(schema, proof, '')]).query);
    }
  }
  return [...documents];
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
