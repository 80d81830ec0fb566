import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isObjectType, type GraphQLSchema } from 'graphql';
import { SCHEMA_DIR } from './composition';

export const CATALOG_FILE = path.join(SCHEMA_DIR, 'proof-catalog.json');

/** One proof a service item used to demand, and the fields that may be read to satisfy it. */
export interface Proof {
  code: string;
  name: string;
  fields: string[];
}

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
  return {
    items,
    alwaysAllowed,
    valueTypes,
    allows(serviceItemCode, coordinate) {
      if (alwaysAllowed.has(coordinate) || valueTypes.has(coordinate.slice(0, coordinate.indexOf('.')))) return true;
      return allowedByItem.get(serviceItemCode)?.has(coordinate) ?? false;
    },
  };
}

/** Every coordinate the catalog names that `schema` does not have, as readable lines; empty when the catalog fits. */
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
    for (const proof of item.proofs) for (const coordinate of proof.fields) check(coordinate, `service item ${item.code} proof ${proof.code}`);
  }
  return problems;
}

function serviceItemFrom(entry: unknown, where: string): ServiceItem {
  const item = entry as Record<string, unknown>;
  for (const key of ['code', 'name', 'nameEn', 'department']) {
    if (typeof item?.[key] !== 'string' || item[key] === '') throw new CatalogError(`proof catalog: ${where}.${key} must be a non-empty string`);
  }
  if (typeof item.highRisk !== 'boolean') throw new CatalogError(`proof catalog: ${where}.highRisk must be true or false`);
  if (!Array.isArray(item.proofs)) throw new CatalogError(`proof catalog: ${where}.proofs must be a list`);
  return {
    code: item.code as string,
    name: item.name as string,
    nameEn: item.nameEn as string,
    department: item.department as string,
    highRisk: item.highRisk,
    entryPoints: stringList(item.entryPoints, `${where}.entryPoints`),
    proofs: item.proofs.map((proof: Record<string, unknown>, index: number) => {
      const proofWhere = `${where}.proofs[${index}]`;
      if (typeof proof?.code !== 'string' || typeof proof.name !== 'string') throw new CatalogError(`proof catalog: ${proofWhere} needs a code and a name`);
      return { code: proof.code, name: proof.name, fields: stringList(proof.fields, `${proofWhere}.fields`) };
    }),
  };
}

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) throw new CatalogError(`proof catalog: ${where} must be a list of strings`);
  return value;
}
