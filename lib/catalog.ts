import { readFileSync } from 'node:fs';
import path from 'node:path';
import { coerceInputValue, getNamedType, isNonNullType, isObjectType, parse, validate, type GraphQLSchema } from 'graphql';
import { SCHEMA_DIR } from './composition';
import { checkRead, factsRead, readOperation, selectedCoordinates, type ProofRead } from './proof-reads';

export const CATALOG_FILE = path.join(SCHEMA_DIR, 'proof-catalog.json');

export const PROOF_MODES = ['CANCELLED', 'DATA_SHARING', 'VERIFICATION', 'COMMITMENT'] as const;
export type ProofMode = (typeof PROOF_MODES)[number];

/** Who a person a proof concerns is to the applicant (the service schema's `RelatedRole`). */
export const RELATED_ROLES = ['SPOUSE', 'CHILD', 'PARENT'] as const;
export type RelatedRole = (typeof RELATED_ROLES)[number];

/** A check argument: a constant (a division code, a number of months), or the ID number of the applicant or a related person. */
export type CheckArgument = string | number | boolean | { person: 'APPLICANT' | RelatedRole };

/** A yes/no check a department answers on `Citizen` (`residesIn(division: "3301", forAtLeastMonths: 12)`). */
export interface Check {
  /** The `Citizen` field, which returns `Verification`. */
  field: string;
  arguments: Record<string, CheckArgument>;
}

interface ProofBase {
  /** Unique within its service item; capital letters, digits and underscores (it names the proof's read in a GraphQL operation). */
  code: string;
  name: string;
  /** Every coordinate an operation for this proof may read. */
  fields: string[];
}

/** No longer required: nothing is read, so its fields are empty. */
export interface CancelledProof extends ProofBase {
  mode: 'CANCELLED';
}

/** Satisfied by facts a department shares: only `facts` are read. */
export interface DataSharingProof extends ProofBase {
  mode: 'DATA_SHARING';
  /** Whose facts: null for the applicant, else a related person's role. */
  concerns: RelatedRole | null;
  /** A GraphQL selection on `Citizen`; every coordinate it selects is in `fields`. */
  facts: string;
}

/** The holding department answers `check` and discloses nothing else: `fields` is the check's coordinate alone. */
export interface VerificationProof extends ProofBase {
  mode: 'VERIFICATION';
  concerns: RelatedRole | null;
  check: Check;
}

/** The applicant signs a commitment; `followUp` must hold within `deadlineDays` of signing. Never on a high-risk item. */
export interface CommitmentProof extends ProofBase {
  mode: 'COMMITMENT';
  /** A check on the applicant; its arguments are constants or the applicant (commitments record no related persons). */
  followUp: Check;
  deadlineDays: number;
}

/** One proof a service item used to demand, how it is satisfied now, and the fields that may be read to satisfy it. */
export type Proof = CancelledProof | DataSharingProof | VerificationProof | CommitmentProof;

/** A service item (事项) as the catalog describes it. */
export interface ServiceItem {
  code: string;
  name: string;
  nameEn: string;
  department: string;
  highRisk: boolean;
  /** Root fields (`Query.citizen`) an operation for this item may start from. */
  entryPoints: string[];
  proofs: Proof[];
}

export interface ProofCatalog {
  items: Map<string, ServiceItem>;
  /** Coordinates any purpose may read: the keys the caller already knows, provenance. */
  alwaysAllowed: Set<string>;
  /** Types whose fields come with the field that leads to them (an address's division and detail). */
  valueTypes: Set<string>;
  /** Whether an operation for `serviceItemCode` may select the coordinate `Type.field`. */
  allows(serviceItemCode: string, coordinate: string): boolean;
  /**
   * The checks an item's proofs make (VERIFICATION checks, COMMITMENT follow-ups), by the
   * coordinate of their field (`Citizen.residesIn`): a check field of the item may be asked
   * only with one of these checks' arguments.
   */
  checksOf(serviceItemCode: string): ReadonlyMap<string, readonly Check[]>;
}

export class CatalogError extends Error {}

/** Reads and checks the catalog's shape; `catalogProblems` checks it against a schema. */
export function loadCatalog(file = CATALOG_FILE): ProofCatalog {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CatalogError(`proof catalog ${file} cannot be read: ${(error as Error).message}`);
  }
  const data = raw as { alwaysAllowed?: unknown; valueTypes?: unknown; serviceItems?: unknown };
  const alwaysAllowed = new Set(stringList(data.alwaysAllowed, 'alwaysAllowed'));
  const valueTypes = new Set(stringList(data.valueTypes, 'valueTypes'));
  if (!Array.isArray(data.serviceItems)) throw new CatalogError('proof catalog: serviceItems must be a list');
  const items = new Map<string, ServiceItem>();
  for (const [index, entry] of data.serviceItems.entries()) {
    const item = serviceItemFrom(entry, `serviceItems[${index}]`);
    if (items.has(item.code)) throw new CatalogError(`proof catalog: service item ${item.code} is listed twice`);
    items.set(item.code, item);
  }
  const allowedByItem = new Map([...items].map(([code, item]) => [code, new Set([...item.entryPoints, ...item.proofs.flatMap((proof) => proof.fields)])]));
  const checksByItem = new Map([...items].map(([code, item]) => [code, checksByCoordinate(item)]));
  return {
    items,
    alwaysAllowed,
    valueTypes,
    checksOf: (serviceItemCode) => checksByItem.get(serviceItemCode) ?? new Map(),
    allows(serviceItemCode, coordinate) {
      if (isOpenToEveryPurpose({ alwaysAllowed, valueTypes }, coordinate)) return true;
      return allowedByItem.get(serviceItemCode)?.has(coordinate) ?? false;
    },
  };
}

function checksByCoordinate(item: ServiceItem): Map<string, Check[]> {
  const checks = new Map<string, Check[]>();
  for (const proof of item.proofs) {
    const check = proof.mode === 'VERIFICATION' ? proof.check : proof.mode === 'COMMITMENT' ? proof.followUp : undefined;
    if (!check) continue;
    const coordinate = `Citizen.${check.field}`;
    checks.set(coordinate, [...(checks.get(coordinate) ?? []), check]);
  }
  return checks;
}

/** Coordinates any purpose may read: the keys the caller already knows, provenance, value types' fields. */
function isOpenToEveryPurpose(catalog: Pick<ProofCatalog, 'alwaysAllowed' | 'valueTypes'>, coordinate: string): boolean {
  return catalog.alwaysAllowed.has(coordinate) || catalog.valueTypes.has(coordinate.slice(0, coordinate.indexOf('.')));
}

/**
 * Every way the catalog does not fit `schema`, as readable lines naming the service item,
 * the proof and the coordinate; empty when it fits. Beyond every coordinate existing: a
 * proof's facts are a valid selection on Citizen within its fields, its check returns
 * Verification and takes the arguments given, and whatever a proof reads the item may
 * start from (Query.citizen).
 */
export function catalogProblems(catalog: ProofCatalog, schema: GraphQLSchema): string[] {
  const problems: string[] = [];
  const check = (coordinate: string, where: string) => {
    const [typeName, fieldName] = coordinate.split('.');
    const type = schema.getType(typeName);
    if (!isObjectType(type) || !fieldName || !type.getFields()[fieldName]) problems.push(`${where} names ${coordinate}, which the supergraph does not have`);
  };
  for (const coordinate of catalog.alwaysAllowed) check(coordinate, 'alwaysAllowed');
  for (const typeName of catalog.valueTypes) {
    if (!isObjectType(schema.getType(typeName))) problems.push(`valueTypes names ${typeName}, which the supergraph does not have`);
  }
  for (const item of catalog.items.values()) {
    for (const coordinate of item.entryPoints) check(coordinate, `service item ${item.code} entryPoints`);
    for (const proof of item.proofs) {
      for (const coordinate of proof.fields) check(coordinate, `service item ${item.code} proof ${proof.code}`);
      problems.push(...readProblems(catalog, schema, item, proof));
    }
  }
  return problems;
}

/** What is wrong with the read a proof makes through the gateway (none for a cancelled proof). */
function readProblems(catalog: ProofCatalog, schema: GraphQLSchema, item: ServiceItem, proof: Proof): string[] {
  if (proof.mode === 'CANCELLED') return [];
  const where = `service item ${item.code} proof ${proof.code}`;
  const problems: string[] = [];
  if (!catalog.allows(item.code, READ_ENTRY_POINT)) problems.push(`${where} is read through ${READ_ENTRY_POINT}, which the item's entryPoints do not list`);
  if (proof.mode === 'DATA_SHARING') return [...problems, ...factsProblems(catalog, schema, proof, where)];
  const [check, label] = proof.mode === 'VERIFICATION' ? [proof.check, 'check'] : [proof.followUp, 'followUp'];
  const checkProblems = checkArgumentProblems(schema, check, `${where} ${label}`);
  if (checkProblems.length > 0) return [...problems, ...checkProblems];
  const coordinate = `Citizen.${check.field}`;
  if (proof.fields.length !== 1 || proof.fields[0] !== coordinate) {
    problems.push(`${where} is a ${proof.mode} proof, which discloses only its check: its fields must be exactly ${coordinate}, got ${proof.fields.join(', ') || 'none'}`);
  }
  return [...problems, ...operationProblems(schema, checkRead(schema, proof.code, check, SAMPLE_ID_NUMBER, () => SAMPLE_ID_NUMBER), `${where} ${label}`)];
}

function factsProblems(catalog: ProofCatalog, schema: GraphQLSchema, proof: DataSharingProof, where: string): string[] {
  const read = factsRead(proof, SAMPLE_ID_NUMBER);
  const problems = operationProblems(schema, read, `${where} facts`);
  if (problems.length > 0) return problems;
  const allowed = new Set(proof.fields);
  return [...selectedCoordinates(schema, parse(readOperation('Facts', [read]).query))]
    .filter((coordinate) => coordinate !== READ_ENTRY_POINT && !allowed.has(coordinate) && !isOpenToEveryPurpose(catalog, coordinate))
    .sort()
    .map((coordinate) => `${where} facts select ${coordinate}, which the proof's fields do not list`);
}

/** The check field exists on Citizen, returns Verification, and gets every argument it needs, of its type. */
function checkArgumentProblems(schema: GraphQLSchema, check: Check, where: string): string[] {
  const citizen = schema.getType('Citizen');
  const field = isObjectType(citizen) ? citizen.getFields()[check.field] : undefined;
  if (!field) return [`${where} names Citizen.${check.field}, which the supergraph does not have`];
  if (getNamedType(field.type).name !== 'Verification') return [`${where} Citizen.${check.field} must return Verification, got ${String(field.type)}`];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(check.arguments)) {
    const argument = field.args.find((candidate) => candidate.name === name);
    if (!argument) {
      problems.push(`${where} gives ${name}, which Citizen.${check.field} does not take`);
    } else if (typeof value === 'object') {
      if (getNamedType(argument.type).name !== 'ID') problems.push(`${where} ${name} takes ${String(argument.type)}, not a person's ID number`);
    } else {
      let isCoercible = true;
      coerceInputValue(value, argument.type, () => {
        isCoercible = false;
      });
      if (!isCoercible) problems.push(`${where} ${name} must be a ${String(argument.type)}, got ${JSON.stringify(value)}`);
    }
  }
  for (const argument of field.args) {
    if (isNonNullType(argument.type) && argument.defaultValue === undefined && !(argument.name in check.arguments)) {
      problems.push(`${where} must give ${argument.name}: Citizen.${check.field} requires it`);
    }
  }
  return problems;
}

/** The operation the proof's read makes, validated as the gateway will validate it. */
function operationProblems(schema: GraphQLSchema, read: ProofRead, where: string): string[] {
  let document;
  try {
    document = parse(readOperation('Check', [read]).query);
  } catch (error) {
    return [`${where} do not parse: ${(error as Error).message}`];
  }
  return validate(schema, document).map((error) => `${where}: ${error.message}`);
}

/** Every proof read starts from this root field; each service item that reads anything must list it. */
const READ_ENTRY_POINT = 'Query.citizen';
/** A well-formed ID number to build sample operations with while validating (the GB 11643 example). */
const SAMPLE_ID_NUMBER = '11010519491231002X';

const PROOF_CODE = /^[A-Z][A-Z0-9_]{0,31}$/;

function serviceItemFrom(entry: unknown, where: string): ServiceItem {
  const item = entry as Record<string, unknown>;
  for (const key of ['code', 'name', 'nameEn', 'department']) {
    if (typeof item?.[key] !== 'string' || item[key] === '') throw new CatalogError(`proof catalog: ${where}.${key} must be a non-empty string`);
  }
  if (typeof item.highRisk !== 'boolean') throw new CatalogError(`proof catalog: ${where}.highRisk must be true or false`);
  if (!Array.isArray(item.proofs)) throw new CatalogError(`proof catalog: ${where}.proofs must be a list`);
  const proofs = item.proofs.map((proof: unknown, index: number) => proofFrom(proof, `${where}.proofs[${index}]`));
  const codes = new Set<string>();
  for (const proof of proofs) {
    if (codes.has(proof.code)) throw new CatalogError(`proof catalog: service item ${item.code} lists proof ${proof.code} twice`);
    codes.add(proof.code);
    // 国办发〔2020〕42号: high-risk items (public safety, ecology, health, major property) take no commitments.
    if (item.highRisk && proof.mode === 'COMMITMENT') {
      throw new CatalogError(`proof catalog: service item ${item.code} is high-risk, so proof ${proof.code} may not be satisfied by COMMITMENT (国办发〔2020〕42号)`);
    }
  }
  return {
    code: item.code as string,
    name: item.name as string,
    nameEn: item.nameEn as string,
    department: item.department as string,
    highRisk: item.highRisk,
    entryPoints: stringList(item.entryPoints, `${where}.entryPoints`),
    proofs,
  };
}

function proofFrom(entry: unknown, where: string): Proof {
  const proof = entry as Record<string, unknown>;
  if (typeof proof?.code !== 'string' || typeof proof.name !== 'string') throw new CatalogError(`proof catalog: ${where} needs a code and a name`);
  if (!PROOF_CODE.test(proof.code)) {
    throw new CatalogError(`proof catalog: ${where}.code must be 1-32 capital letters, digits and underscores, starting with a letter, got "${proof.code}"`);
  }
  const base = { code: proof.code, name: proof.name, fields: stringList(proof.fields, `${where}.fields`) };
  switch (proof.mode) {
    case 'CANCELLED':
      if (base.fields.length > 0) throw new CatalogError(`proof catalog: ${where} is CANCELLED and reads nothing, so its fields must be empty, got ${base.fields.length}`);
      return { ...base, mode: 'CANCELLED' };
    case 'DATA_SHARING':
      if (typeof proof.facts !== 'string' || proof.facts.trim() === '') throw new CatalogError(`proof catalog: ${where}.facts must be a GraphQL selection on Citizen`);
      return { ...base, mode: 'DATA_SHARING', concerns: concernsFrom(proof.concerns, where), facts: proof.facts };
    case 'VERIFICATION':
      return { ...base, mode: 'VERIFICATION', concerns: concernsFrom(proof.concerns, where), check: checkFrom(proof.check, `${where}.check`) };
    case 'COMMITMENT': {
      const followUp = checkFrom(proof.followUp, `${where}.followUp`);
      for (const [name, value] of Object.entries(followUp.arguments)) {
        if (typeof value === 'object' && value.person !== 'APPLICANT') {
          throw new CatalogError(`proof catalog: ${where}.followUp.arguments.${name} may name only the APPLICANT (a commitment records no related persons), got ${value.person}`);
        }
      }
      const days = proof.deadlineDays;
      if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 366) {
        throw new CatalogError(`proof catalog: ${where}.deadlineDays must be a whole number of days from 1 to 366, got ${JSON.stringify(days)}`);
      }
      return { ...base, mode: 'COMMITMENT', followUp, deadlineDays: days };
    }
    default:
      throw new CatalogError(`proof catalog: ${where}.mode must be one of ${PROOF_MODES.join(', ')}, got ${JSON.stringify(proof.mode)}`);
  }
}

function concernsFrom(value: unknown, where: string): RelatedRole | null {
  if (value === undefined) return null;
  if (!RELATED_ROLES.includes(value as RelatedRole)) {
    throw new CatalogError(`proof catalog: ${where}.concerns must be one of ${RELATED_ROLES.join(', ')} (or absent, for the applicant), got ${JSON.stringify(value)}`);
  }
  return value as RelatedRole;
}

function checkFrom(value: unknown, where: string): Check {
  const check = value as { field?: unknown; arguments?: unknown };
  if (typeof check?.field !== 'string' || check.field === '') throw new CatalogError(`proof catalog: ${where}.field must name a field of Citizen`);
  const args = check.arguments ?? {};
  if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new CatalogError(`proof catalog: ${where}.arguments must be an object`);
  for (const [name, argument] of Object.entries(args)) {
    if (['string', 'number', 'boolean'].includes(typeof argument)) continue;
    const person = (argument as { person?: unknown } | null)?.person;
    if (person !== 'APPLICANT' && !RELATED_ROLES.includes(person as RelatedRole)) {
      throw new CatalogError(`proof catalog: ${where}.arguments.${name} must be a constant or { "person": "APPLICANT" | ${RELATED_ROLES.join(' | ')} }, got ${JSON.stringify(argument)}`);
    }
  }
  return { field: check.field, arguments: args as Record<string, CheckArgument> };
}

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) throw new CatalogError(`proof catalog: ${where} must be a list of strings`);
  return value;
}
