import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeSupergraph, SCHEMA_DIR } from '../lib/composition';
import { REPO_ROOT } from '../lib/paths';
import { checkDepartmentSchema, formatSchemaCheck, nonNullEntityFields } from '../lib/schema-check';

/**
 * The departments' schema tools, on a scratch copy of `schema/` (never the real files):
 * `npm run compose` naming the departments in a conflict and where, and `npm run
 * schema:check` telling a department what its edit would break for front-end teams.
 */

let scratch: string;
let schemaDir: string;

beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'proofless-schema-tools-'));
  // Named `schema`, as in the repository, so messages name files `schema/<department>.graphql`.
  schemaDir = path.join(scratch, 'schema');
  cpSync(SCHEMA_DIR, schemaDir, { recursive: true });
  // The baseline is what the departments' SDL composes to now, whatever state the committed file is in.
  const composed = composeSupergraph(schemaDir);
  if (!composed.ok) throw new Error(composed.errors.join('\n'));
  writeFileSync(path.join(schemaDir, 'supergraph.graphql'), composed.supergraphSdl);
});

afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** Replaces `from` (which must be there) in a department's scratch SDL. */
function edit(department: string, from: string, to: string): void {
  const file = path.join(schemaDir, `${department}.graphql`);
  const sdl = readFileSync(file, 'utf8');
  if (!sdl.includes(from)) throw new Error(`${department}.graphql has no ${JSON.stringify(from)}`);
  writeFileSync(file, sdl.replace(from, to));
}

/** `schema/<department>.graphql:<line>:<column>` of the first occurrence of `text` (the line numbers follow the departments' edits). */
function placeOf(department: string, text: string): string {
  const lines = readFileSync(path.join(schemaDir, `${department}.graphql`), 'utf8').split('\n');
  const line = lines.findIndex((candidate) => candidate.includes(text));
  if (line < 0) throw new Error(`${department}.graphql has no ${JSON.stringify(text)}`);
  return `schema/${department}.graphql:${line + 1}:${lines[line].indexOf(text) + 1}`;
}

describe('npm run compose: a failure names the departments, what conflicts and where', () => {
  test('two departments defining one field with different types', () => {
    edit('residence', '  residence: Residence\n', '  residence: Residence\n  household: String\n');
    const household = placeOf('household', 'household: Household');
    const residence = placeOf('residence', 'household: String');
    expect(composeSupergraph(schemaDir)).toEqual({
      ok: false,
      errors: [
        `household and residence conflict: Type of field "Citizen.household" is incompatible across subgraphs: it has type "Household" in subgraph "household" but type "String" in subgraph "residence" (FIELD_TYPE_MISMATCH at ${household}, ${residence})`,
        `household and residence conflict: Non-shareable field "Citizen.household" is resolved from multiple subgraphs: it is resolved from subgraphs "household" and "residence" and defined as non-shareable in all of them (INVALID_FIELD_SHARING at ${household}, ${residence})`,
      ],
    });
  });

  test('a shared type one department changes: every department holding it is named, in departments.json order', () => {
    edit('residence', 'type Division @shareable {\n  code: String!', 'type Division @shareable {\n  code: Int!');
    const [household, residence, license] = [['household', 'code: String!'], ['residence', 'code: Int!'], ['license', 'code: String!']].map(([department, field]) => placeOf(department, field));
    expect(composeSupergraph(schemaDir)).toEqual({
      ok: false,
      errors: [
        `household, residence and license conflict: Type of field "Division.code" is incompatible across subgraphs: it has type "String!" in subgraphs "household" and "license" but type "Int!" in subgraph "residence" (FIELD_TYPE_MISMATCH at ${household}, ${license}, ${residence})`,
      ],
    });
  });

  test('an SDL that does not validate: the department, the file and the line', () => {
    edit('residence', '  residence: Residence\n', '  residence: Residense\n');
    expect(composeSupergraph(schemaDir)).toEqual({
      ok: false,
      errors: [`residence: Unknown type Residense (INVALID_GRAPHQL at ${placeOf('residence', 'Residense')})`],
    });
  });

  test('SDL that does not parse, and a department whose file is missing: each named, with every department\'s problem', () => {
    edit('residence', '  residence: Residence\n', '  residence: Residence\n  }\n');
    rmSync(path.join(schemaDir, 'license.graphql'));
    // After the stray brace, the parser meets the next field's description outside any type.
    const description = placeOf('residence', '"居住历史');
    expect(composeSupergraph(schemaDir)).toEqual({
      ok: false,
      errors: [
        `residence: Syntax Error: Unexpected description, only GraphQL definitions support descriptions. (${description})`,
        'license: schema/license.graphql is missing (the department is listed in schema/departments.json)',
      ],
    });
  });
});

/** Runs `npm run schema:check` as a department would, on the scratch schema folder. */
function schemaCheck(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/schema-check.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const AGAINST_FILE = "schema:check residence: the departments' SDL as edited, compared with schema/supergraph.graphql (not in git: the file as it is)";

describe('npm run schema:check -- <department>', () => {
  test('a removed field and a retyped field are breaking: exit 1, each change named', () => {
    edit('residence', '  "登记居住起始日期"\n  registeredSince: Date!\n', '');
    edit('residence', '  permitNumber: String\n', '  permitNumber: Int\n');
    expect(schemaCheck('residence', '--schema-dir', schemaDir)).toEqual({
      status: 1,
      stdout: [
        AGAINST_FILE,
        '2 breaking changes (operations front-end teams already send will fail):',
        '  Residence.registeredSince was removed. [FIELD_REMOVED]',
        '  Residence.permitNumber changed type from String to Int. [FIELD_CHANGED_KIND]',
        'To change without breaking: add the new field beside the old one, mark the old one @deprecated(reason: "use ... instead"), and remove it once front-end teams have moved.',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  test('an additive change passes: a new optional field', () => {
    edit('residence', '  status: ResidenceStatus!\n', '  status: ResidenceStatus!\n  "居住证签注次数"\n  permitEndorsements: Int\n');
    expect(formatSchemaCheck(check('residence'), 'the baseline')).toEqual({
      text: "schema:check residence: the departments' SDL as edited, compared with the baseline\nNo breaking or dangerous changes for front-end teams.",
      exitCode: 0,
    });
  });

  test('a new enum value is dangerous, not breaking: reported, exit 0', () => {
    edit('residence', '  PERMIT_EXPIRED\n', '  PERMIT_EXPIRED\n  "迁出"\n  MOVED_OUT\n');
    expect(formatSchemaCheck(check('residence'), 'the baseline')).toEqual({
      text: [
        "schema:check residence: the departments' SDL as edited, compared with the baseline",
        '1 dangerous change (operations still validate, but front-end code may meet values it does not expect):',
        '  MOVED_OUT was added to enum type ResidenceStatus. [VALUE_ADDED_TO_ENUM]',
      ].join('\n'),
      exitCode: 0,
    });
  });

  test('a field made nullable is dangerous, not breaking: every operation still runs, answers may hold null there', () => {
    edit('residence', '  status: ResidenceStatus!\n', '  status: ResidenceStatus\n');
    expect(formatSchemaCheck(check('residence'), 'the baseline')).toEqual({
      text: [
        "schema:check residence: the departments' SDL as edited, compared with the baseline",
        '1 dangerous change (operations still validate, but front-end code may meet values it does not expect):',
        '  Residence.status changed type from ResidenceStatus! to ResidenceStatus: answers may now hold null there. [FIELD_BECAME_NULLABLE]',
      ].join('\n'),
      exitCode: 0,
    });
  });

  test('a new required argument, a removed enum value and a new access policy are breaking', () => {
    edit('residence', 'residesIn(division: String!, forAtLeastMonths: Int!)', 'residesIn(division: String!, forAtLeastMonths: Int!, asOf: Date!)');
    edit('residence', '  "居住证 past its validity and not renewed"\n  PERMIT_EXPIRED\n', '');
    edit('residence', '  residence: Residence\n', '  residence: Residence @requiresScopes(scopes: [["residence:current"]])\n');
    const result = check('residence');
    expect(result).toEqual({
      outcome: 'checked',
      department: 'residence',
      breaking: [
        { type: 'REQUIRED_ARG_ADDED', description: 'A required arg asOf on Citizen.residesIn was added.' },
        { type: 'VALUE_REMOVED_FROM_ENUM', description: 'PERMIT_EXPIRED was removed from enum type ResidenceStatus.' },
        { type: 'ACCESS_POLICY_ADDED', description: 'Citizen.residence now requires @requiresScopes(scopes: [["residence:current"]]): callers that do not meet it are refused.' },
      ],
      dangerous: [],
      errors: [],
    });
    expect(formatSchemaCheck(result, 'the baseline').exitCode).toBe(1);
  });

  test('a non-null field a department contributes to a shared entity is an error naming the department, type and field, and what to write instead: exit 1', () => {
    edit('license', '  licences: [Licence!] @listSize', '  licences: [Licence!]! @listSize');
    edit('residence', 'residesIn(division: String!, forAtLeastMonths: Int!): Verification\n', 'residesIn(division: String!, forAtLeastMonths: Int!): Verification!\n');
    expect(schemaCheck('license', '--schema-dir', schemaDir)).toEqual({
      status: 1,
      stdout: [
        AGAINST_FILE.replace('schema:check residence', 'schema:check license'),
        '2 errors (one department failing would take the other departments\' facts with it):',
        `  residence: Citizen.residesIn is Verification! (${placeOf('residence', 'residesIn(')}), on an entity household, residence and license share: write Verification instead. [NON_NULL_ENTITY_FIELD]`,
        `  license: Citizen.licences is [Licence!]! (${placeOf('license', 'licences: [Licence!]!')}), on an entity household, residence and license share: write [Licence!] instead. [NON_NULL_ENTITY_FIELD]`,
        'Every field a department contributes to an entity several departments share must be nullable, its key aside: a non-null one that fails nulls the whole entity, with every other department\'s facts on it. A list keeps its items non-null: [Licence!], not [Licence!]!.',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  test('the committed departments contribute no non-null field to a shared entity; keys and unshared entities (Business) are not flagged', () => {
    expect(nonNullEntityFields(SCHEMA_DIR)).toEqual([]);
    expect(check('license')).toEqual({ outcome: 'checked', department: 'license', breaking: [], dangerous: [], errors: [] });
  });

  test('an unknown department: exit 2, listing the departments there are', () => {
    expect(schemaCheck('residance', '--schema-dir', schemaDir)).toEqual({
      status: 2,
      stdout: '',
      stderr: 'schema:check: no department named "residance"; the departments are household, residence, license, service, audit (schema/departments.json)\n',
    });
  });

  test('an edit that does not compose: exit 2 with composition\'s own account of it', () => {
    edit('residence', '  residence: Residence\n', '  residence: Residense\n');
    expect(formatSchemaCheck(check('residence'), 'the baseline')).toEqual({
      text: [
        "schema:check residence: the departments' SDL does not compose, so there is no schema to compare:",
        `  residence: Unknown type Residense (INVALID_GRAPHQL at ${placeOf('residence', 'Residense')})`,
      ].join('\n'),
      exitCode: 2,
    });
  });

  test('in git, the baseline is the committed supergraph, even after `npm run compose` rewrote the file', () => {
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', ...args], { cwd: scratch, stdio: 'ignore' });
    git('init', '--quiet');
    git('add', 'schema');
    git('commit', '--quiet', '-m', 'departments as committed');
    edit('residence', '  "登记居住起始日期"\n  registeredSince: Date!\n', '');
    const recomposed = composeSupergraph(schemaDir);
    if (!recomposed.ok) throw new Error(recomposed.errors.join('\n'));
    writeFileSync(path.join(schemaDir, 'supergraph.graphql'), recomposed.supergraphSdl);
    const { status, stdout } = schemaCheck('residence', '--schema-dir', schemaDir);
    expect({ status, head: stdout.split('\n').slice(0, 3) }).toEqual({
      status: 1,
      head: [
        "schema:check residence: the departments' SDL as edited, compared with schema/supergraph.graphql as committed (HEAD)",
        '1 breaking change (operations front-end teams already send will fail):',
        '  Residence.registeredSince was removed. [FIELD_REMOVED]',
      ],
    });
  });
});

function check(department: string) {
  return checkDepartmentSchema(department, { schemaDir, baselineSupergraphSdl: readFileSync(path.join(schemaDir, 'supergraph.graphql'), 'utf8') });
}
