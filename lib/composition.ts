import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { GraphQLError, parse, Source, type ASTNode } from 'graphql';
import { REPO_ROOT } from './paths';

export const SCHEMA_DIR = path.join(REPO_ROOT, 'schema');
export const SUPERGRAPH_FILE = path.join(SCHEMA_DIR, 'supergraph.graphql');

export interface DepartmentEntry {
  name: string;
  url: string;
  /** The department calls the gateway back on the caller's behalf (the service bureau reads proofs through it), so the caller's token is passed on to it; default false. */
  callsGateway?: boolean;
}

/** The departments listed in `schema/departments.json`, the composition's one list. */
export function listDepartments(schemaDir = SCHEMA_DIR): DepartmentEntry[] {
  const label = `${path.basename(schemaDir)}/departments.json`;
  let file: { departments?: DepartmentEntry[] };
  try {
    file = JSON.parse(readFileSync(path.join(schemaDir, 'departments.json'), 'utf8'));
  } catch (error) {
    throw new Error(`${label}: ${(error as Error).message}`);
  }
  if (!Array.isArray(file.departments)) throw new Error(`${label} must hold a "departments" list`);
  return file.departments;
}

export type CompositionResult = { ok: true; supergraphSdl: string } | { ok: false; errors: string[] };

/**
 * Composes every department's `schema/<name>.graphql` into a supergraph. Failures come
 * back as one readable line each, naming the departments involved, what conflicts, and
 * where in their files: `household and residence conflict: Type of field
 * "Citizen.household" is incompatible across subgraphs: ... (FIELD_TYPE_MISMATCH at
 * schema/household.graphql:24:3, schema/residence.graphql:12:3)`.
 */
export function composeSupergraph(schemaDir = SCHEMA_DIR): CompositionResult {
  const departments = listDepartments(schemaDir);
  const departmentOfFile = new Map(departments.map(({ name }) => [departmentFileLabel(schemaDir, name), name]));
  const services = [];
  const parseErrors: string[] = [];
  for (const { name, url } of departments) {
    const label = departmentFileLabel(schemaDir, name);
    const file = path.join(schemaDir, `${name}.graphql`);
    if (!existsSync(file)) {
      parseErrors.push(`${name}: ${label} is missing (the department is listed in ${path.basename(schemaDir)}/departments.json)`);
      continue;
    }
    try {
      // The source is named after the file, so every error node composition returns says which file and line it came from.
      services.push({ name, url, typeDefs: parse(new Source(readFileSync(file, 'utf8'), label)) });
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      const [location] = error.locations ?? [];
      parseErrors.push(`${name}: ${error.message} (${location ? `${label}:${location.line}:${location.column}` : label})`);
    }
  }
  if (parseErrors.length > 0) return { ok: false, errors: parseErrors };
  const result = composeServices(services);
  if (result.errors) return { ok: false, errors: result.errors.map((error) => describeCompositionError(error, departmentOfFile)) };
  return { ok: true, supergraphSdl: `${result.supergraphSdl.trimEnd()}\n` };
}

/** How messages name a department's file: relative to the repository, whichever schema folder is composed (tests compose copies). */
function departmentFileLabel(schemaDir: string, name: string): string {
  return `${path.basename(schemaDir)}/${name}.graphql`;
}

/**
 * One composition error as a line: the departments involved first, then composition's
 * own message (which says what conflicts), its code and every place in the departments'
 * files it points at. Departments come from the error's AST nodes, whose sources are
 * named after the files; errors without nodes (satisfiability, some directive checks)
 * name subgraphs only in their message (`in subgraphs "household" and "residence"`), so
 * those names are read from there.
 */
function describeCompositionError(error: GraphQLError, departmentOfFile: Map<string, string>): string {
  const departments = [...departmentOfFile.values()];
  const involved = new Set<string>();
  const places: string[] = [];
  for (const node of error.nodes ?? []) {
    const place = placeOf(node);
    if (!place) continue;
    const department = departmentOfFile.get(place.file);
    if (department) involved.add(department);
    const text = `${place.file}:${place.line}:${place.column}`;
    if (!places.includes(text)) places.push(text);
  }
  for (const name of subgraphsNamedIn(error.message)) if (departments.includes(name)) involved.add(name);
  const named = departments.filter((name) => involved.has(name));
  // Subgraph validation errors repeat the subgraph as a `[residence] ` prefix; the line already leads with it.
  const message = error.message.replace(/^\[[^\]]+\] /, '');
  const code = String(error.extensions?.code ?? 'COMPOSITION_ERROR');
  const trailer = `(${code}${places.length > 0 ? ` at ${places.join(', ')}` : ''})`;
  if (named.length === 0) return `${message} ${trailer}`;
  if (named.length === 1) return `${named[0]}: ${message} ${trailer}`;
  return `${listInWords(named)} conflict: ${message} ${trailer}`;
}

/** Where a node is, by its name where it has one: a field's node starts at its description, a line or more above the field. */
function placeOf(node: ASTNode): { file: string; line: number; column: number } | undefined {
  const loc = ('name' in node && node.name?.loc) || node.loc;
  if (!loc) return undefined;
  return { file: loc.source.name, line: loc.startToken.line, column: loc.startToken.column };
}

/** Names composition quotes after "subgraph" or "subgraphs": `subgraphs "a", "b" and "c"`. */
function subgraphsNamedIn(message: string): string[] {
  const lists = message.match(/subgraphs? "[^"]+"(?:(?:, | and )"[^"]+")*/g) ?? [];
  return lists.flatMap((list) => [...list.matchAll(/"([^"]+)"/g)].map((match) => match[1]));
}

/** `a`, `a and b`, `a, b and c`. */
function listInWords(names: string[]): string {
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
