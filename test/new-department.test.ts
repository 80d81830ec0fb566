import { fork, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isObjectType } from 'graphql';
import { composeSupergraph } from '../lib/composition';
import { scaffoldDepartment } from '../lib/department-scaffold';
import { REPO_ROOT } from '../lib/paths';
import { apiSchemaOf, checkDepartmentSchema } from '../lib/schema-check';

/**
 * `npm run new-department` into a scratch copy of what a department builds on (schema/,
 * lib/, subgraphs/shared/; never the repository itself): the scaffold composes with the
 * others, its own test passes, and it runs as a department process.
 */

let root: string;
let departmentsBefore: string;
let supergraphBefore: string;
let scaffolding: { status: number | null; stdout: string; stderr: string };

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'proofless-new-department-'));
  for (const folder of ['schema', 'lib', 'subgraphs/shared']) cpSync(path.join(REPO_ROOT, folder), path.join(root, folder), { recursive: true });
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  mkdirSync(path.join(root, 'test'));
  departmentsBefore = readFileSync(path.join(root, 'schema/departments.json'), 'utf8');
  // What the departments compose to before the new one, whatever state the committed file is in.
  const composed = composeSupergraph(path.join(root, 'schema'));
  if (!composed.ok) throw new Error(composed.errors.join('\n'));
  supergraphBefore = composed.supergraphSdl;
  writeFileSync(path.join(root, 'schema/supergraph.graphql'), supergraphBefore);
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/new-department.ts', 'parking', '--root', root, '--authority', '杭州市停车管理中心'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  scaffolding = { status: result.status, stdout: result.stdout, stderr: result.stderr };
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

test('scaffolds the schema, the subgraph folder and a test, registered on the next free port, and says what to do next', () => {
  expect(scaffolding).toEqual({
    status: 0,
    stdout: [
      'new-department: "parking" scaffolded, routed at http://127.0.0.1:4006/graphql:',
      '  schema/parking.graphql',
      '  subgraphs/parking/index.ts',
      '  subgraphs/parking/resolvers.ts',
      '  subgraphs/parking/registry.ts',
      '  test/parking.test.ts',
      '  schema/departments.json',
      '  schema/supergraph.graphql',
      'Next:',
      '  1. Describe the registry in schema/parking.graphql; replace the example record with the department\'s own fields.',
      '  2. Read them in subgraphs/parking/registry.ts and resolve them in subgraphs/parking/resolvers.ts.',
      '  3. npm run compose && npx jest test/parking.test.ts',
      '  4. List the fields service items may read in schema/proof-catalog.json: the gateway refuses fields no proof needs.',
      '',
    ].join('\n'),
    stderr: '',
  });
  expect(readFileSync(path.join(root, 'schema/departments.json'), 'utf8')).toBe(
    departmentsBefore.replace('/graphql" }\n  ]', '/graphql" },\n    { "name": "parking", "url": "http://127.0.0.1:4006/graphql" }\n  ]'),
  );
});

test('the new department composes with the others, adds its fields for callers, and breaks nothing', () => {
  const composed = composeSupergraph(path.join(root, 'schema'));
  expect(composed).toEqual({ ok: true, supergraphSdl: readFileSync(path.join(root, 'schema/supergraph.graphql'), 'utf8') });
  const supergraphSdl = (composed as { supergraphSdl: string }).supergraphSdl;
  expect(supergraphSdl).toContain('PARKING @join__graph(name: "parking", url: "http://127.0.0.1:4006/graphql")');
  const api = apiSchemaOf(supergraphSdl);
  const fieldsOf = (type: string) => {
    const named = api.getType(type);
    return isObjectType(named) ? Object.keys(named.getFields()) : [];
  };
  expect(fieldsOf('Query')).toContain('parkingRecord');
  expect(fieldsOf('Citizen')).toContain('parkingRecords');
  expect(checkDepartmentSchema('parking', { schemaDir: path.join(root, 'schema'), baselineSupergraphSdl: supergraphBefore })).toEqual({
    outcome: 'checked',
    department: 'parking',
    breaking: [],
    dangerous: [],
    // Citizen.parkingRecords is nullable: the parking department failing leaves the other departments' facts.
    errors: [],
  });
});

test('its generated test passes', () => {
  // The repository's jest settings, rooted in the scratch copy, without the global setup (the generated test needs no Redis or PostgreSQL).
  const config = {
    rootDir: root,
    testEnvironment: 'node',
    roots: ['<rootDir>/test'],
    transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  };
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/jest/bin/jest.js'), '--config', JSON.stringify(config), path.join(root, 'test/parking.test.ts')], {
    cwd: root,
    encoding: 'utf8',
  });
  expect({ status: result.status, summary: result.stderr.match(/^Tests:.*$/m)?.[0] }).toEqual({ status: 0, summary: 'Tests:       3 passed, 3 total' });
});

test('it runs as a department process, as `npm start` runs departments, on an empty registry until one is written', async () => {
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir);
  const child = fork(path.join(root, 'subgraphs/parking/index.ts'), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PROOFLESS_DATA_DIR: dataDir, PROOFLESS_HOST: '127.0.0.1', PROOFLESS_PARKING_PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    const [message] = (await once(child, 'message')) as [{ ready: string; url: string }];
    expect(message).toEqual({ ready: 'parking', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/graphql$/) });
    const response = await fetch(message.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ parkingRecord(number: "R-0001") { number } }' }),
    });
    expect(await response.json()).toEqual({ data: { parkingRecord: null } });
    expect(existsSync(path.join(dataDir, 'parking.sqlite'))).toBe(true);
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
});

test.each([
  ['Parking', 'a department name must be 2 to 30 lowercase letters (a-z), as in "residence", got "Parking"'],
  ['car-park', 'a department name must be 2 to 30 lowercase letters (a-z), as in "residence", got "car-park"'],
  ['residence', '"residence" is already a department (schema/departments.json lists household, residence, license, service, audit, parking)'],
  ['shared', '"shared" cannot be a department: subgraphs/shared already exists'],
  ['supergraph', '"supergraph" cannot be a department: schema/supergraph.graphql already exists'],
])('refuses %s, saying why, and writes nothing', (name, message) => {
  const departments = readFileSync(path.join(root, 'schema/departments.json'), 'utf8');
  expect(() => scaffoldDepartment({ name, root })).toThrow(message);
  expect(readFileSync(path.join(root, 'schema/departments.json'), 'utf8')).toBe(departments);
});

test('the command line refuses a bad name with exit 2 and the reason', () => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/new-department.ts', 'Parking', '--root', root], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
    status: 2,
    stdout: '',
    stderr: 'new-department: a department name must be 2 to 30 lowercase letters (a-z), as in "residence", got "Parking"\n',
  });
});
