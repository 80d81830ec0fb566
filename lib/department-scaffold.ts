import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeSupergraph, listDepartments, type DepartmentEntry } from './composition';
import { REPO_ROOT } from './paths';

const TEMPLATES = path.join(REPO_ROOT, 'scripts', 'templates', 'department');

/** A department that cannot be scaffolded as asked; nothing was written. */
export class ScaffoldError extends Error {}

export interface ScaffoldOptions {
  /** The new department's subgraph name: lowercase letters, as in `schema/departments.json`. */
  name: string;
  /** The repository to scaffold into (its `schema/`, `subgraphs/` and `test/`); this one by default. */
  root?: string;
  /** The authority holding the registry, as provenance names it. */
  authority?: string;
}

export interface Scaffold {
  port: number;
  url: string;
  /** Every file written or changed, relative to the root. */
  files: string[];
}

const NAME = /^[a-z]{2,30}$/;

/**
 * Names a department's certificate may not carry (lib/pki.ts issues it under the department's
 * name): a department called `gateway` would hold a certificate every other department accepts
 * calls from, and `ca` names the CA's own files.
 */
const CERTIFICATE_NAMES_TAKEN = new Map([
  ['gateway', 'its certificate would name the gateway, the one client departments accept calls from'],
  ['ca', 'its certificate files would be the development CA\'s own (ca.pem, ca-key.pem)'],
]);

/**
 * Scaffolds a department that composes with the others: its SDL (an example query field
 * and an extension of Citizen keyed by idNumber), its subgraph folder (index, resolvers,
 * a SQLite registry), a contract test, its entry in `schema/departments.json` on the next
 * free port, and the recomposed supergraph. The name is checked and the new supergraph
 * composed in a scratch copy of `schema/` first, so a refused department writes nothing.
 */
export function scaffoldDepartment(options: ScaffoldOptions): Scaffold {
  const root = path.resolve(options.root ?? REPO_ROOT);
  const schemaDir = path.join(root, 'schema');
  const { name } = options;
  const departments = listDepartments(schemaDir);
  checkName(name, root, departments);
  const port = nextFreePort(departments);
  // Departments serve HTTPS only (mutual TLS, subgraphs/shared/security.ts).
  const url = `https://127.0.0.1:${port}/graphql`;
  const values = { name, Name: name[0].toUpperCase() + name.slice(1), NAME: name.toUpperCase(), authority: options.authority ?? `${name} department` };
  const files: Record<string, string> = {
    [`schema/${name}.graphql`]: render('schema.graphql.tmpl', values),
    [`subgraphs/${name}/index.ts`]: render('index.ts.tmpl', values),
    [`subgraphs/${name}/resolvers.ts`]: render('resolvers.ts.tmpl', values),
    [`subgraphs/${name}/registry.ts`]: render('registry.ts.tmpl', values),
    [`test/${name}.test.ts`]: render('test.ts.tmpl', values),
    'schema/departments.json': departmentsJson(schemaDir, [...departments, { name, url }]),
  };
  files['schema/supergraph.graphql'] = composeWith(schemaDir, name, files);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  }
  return { port, url, files: Object.keys(files) };
}

function checkName(name: string, root: string, departments: DepartmentEntry[]): void {
  if (!NAME.test(name)) throw new ScaffoldError(`a department name must be 2 to 30 lowercase letters (a-z), as in "residence", got "${name}"`);
  const certificateClash = CERTIFICATE_NAMES_TAKEN.get(name);
  if (certificateClash) throw new ScaffoldError(`"${name}" cannot be a department: ${certificateClash}`);
  if (departments.some((department) => department.name === name)) {
    throw new ScaffoldError(`"${name}" is already a department (schema/departments.json lists ${departments.map((department) => department.name).join(', ')})`);
  }
  // `shared` is a folder of subgraphs/, `supergraph` a file of schema/: neither may be overwritten.
  for (const taken of [`subgraphs/${name}`, `schema/${name}.graphql`, `test/${name}.test.ts`]) {
    if (existsSync(path.join(root, taken))) throw new ScaffoldError(`"${name}" cannot be a department: ${taken} already exists`);
  }
}

/** One past the highest port of the departments' routing URLs (household 4001 ... audit 4005: 4006). */
function nextFreePort(departments: DepartmentEntry[]): number {
  return Math.max(...departments.map((department) => Number(new URL(department.url).port))) + 1;
}

function render(template: string, values: Record<string, string>): string {
  return readFileSync(path.join(TEMPLATES, template), 'utf8').replace(/\{\{(\w+)\}\}/g, (placeholder, key: string) => {
    if (!(key in values)) throw new Error(`template ${template} has an unknown placeholder ${placeholder}`);
    return values[key];
  });
}

/** departments.json with the new list, keeping its other keys, every key of each department (`callsGateway`) and its one-department-per-line layout. */
function departmentsJson(schemaDir: string, departments: DepartmentEntry[]): string {
  const file = JSON.parse(readFileSync(path.join(schemaDir, 'departments.json'), 'utf8')) as Record<string, unknown>;
  const entries = departments.map((department) => `    { ${Object.entries(department).map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}`).join(', ')} }`);
  const keys = Object.keys(file).map((key) =>
    key === 'departments' ? `  "departments": [\n${entries.join(',\n')}\n  ]` : `  ${JSON.stringify(key)}: ${JSON.stringify(file[key])}`);
  return `{\n${keys.join(',\n')}\n}\n`;
}

/** The supergraph with the new department, composed in a scratch copy of `schema/` (named `schema`, so messages name files as usual). */
function composeWith(schemaDir: string, name: string, files: Record<string, string>): string {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'proofless-scaffold-'));
  try {
    const copy = path.join(scratch, 'schema');
    cpSync(schemaDir, copy, { recursive: true });
    writeFileSync(path.join(copy, `${name}.graphql`), files[`schema/${name}.graphql`]);
    writeFileSync(path.join(copy, 'departments.json'), files['schema/departments.json']);
    const result = composeSupergraph(copy);
    if (!result.ok) throw new ScaffoldError(`the "${name}" department would not compose with the others:\n${result.errors.map((error) => `  ${error}`).join('\n')}`);
    return result.supergraphSdl;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
