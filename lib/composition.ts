import { readFileSync } from 'node:fs';
import path from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { REPO_ROOT } from './paths';

export const SCHEMA_DIR = path.join(REPO_ROOT, 'schema');
export const SUPERGRAPH_FILE = path.join(SCHEMA_DIR, 'supergraph.graphql');

export interface DepartmentEntry {
  name: string;
  url: string;
}

/** The departments listed in `schema/departments.json`, the composition's one list. */
export function listDepartments(schemaDir = SCHEMA_DIR): DepartmentEntry[] {
  const file = JSON.parse(readFileSync(path.join(schemaDir, 'departments.json'), 'utf8')) as { departments: DepartmentEntry[] };
  return file.departments;
}

export type CompositionResult = { ok: true; supergraphSdl: string } | { ok: false; errors: string[] };

/**
 * Composes every department's `schema/<name>.graphql` into a supergraph. Failures come
 * back as readable lines naming the department where composition can tell which.
 */
export function composeSupergraph(schemaDir = SCHEMA_DIR): CompositionResult {
  const services = [];
  for (const department of listDepartments(schemaDir)) {
    const file = path.join(schemaDir, `${department.name}.graphql`);
    try {
      services.push({ name: department.name, url: department.url, typeDefs: parse(readFileSync(file, 'utf8')) });
    } catch (error) {
      return { ok: false, errors: [`${department.name}: schema/${department.name}.graphql: ${(error as Error).message}`] };
    }
  }
  const result = composeServices(services);
  if (result.errors) return { ok: false, errors: result.errors.map((error) => `${error.extensions?.code ?? 'COMPOSITION_ERROR'}: ${error.message}`) };
  return { ok: true, supergraphSdl: `${result.supergraphSdl.trimEnd()}\n` };
}
