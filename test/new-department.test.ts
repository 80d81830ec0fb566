import { fork, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isObjectType } from 'graphql';
import { RECEIPT_HEADER } from '../audit/exchange';
import { asReceipt, decodeHeaderValue } from '../audit/receipt';
import { composeSupergraph } from '../lib/composition';
import { scaffoldDepartment } from '../lib/department-scaffold';
import { REPO_ROOT } from '../lib/paths';
import { ensureDevelopmentPki, issueCertificate } from '../lib/pki';
import { apiSchemaOf, checkDepartmentSchema } from '../lib/schema-check';
import { callDepartmentAsGateway, testPkiDir, transportEnv } from './helpers/federation-security';

/**
 * `npm run new-department` into a scratch copy of what a department builds on (schema/,
 * lib/, audit/ (its access log), subgraphs/shared/, the tests' federation helper; never the repository itself): the
 * scaffold composes with the others, its own test passes, and it runs as a department
 * process that trusts no one.
 */

let root: string;
let departmentsBefore: string;
let supergraphBefore: string;
let scaffolding: { status: number | null; stdout: string; stderr: string };

/** A scratch copy of what a department builds on, without a data folder. */
function scratchRepository(): string {
  const copy = mkdtempSync(path.join(os.tmpdir(), 'proofless-new-department-'));
  for (const folder of ['schema', 'lib', 'audit', 'subgraphs/shared']) cpSync(path.join(REPO_ROOT, folder), path.join(copy, folder), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'test/helpers/federation-security.ts'), path.join(copy, 'test/helpers/federation-security.ts'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  return copy;
}

/** `npm run new-department -- ...args`, its data folder the scaffolded copy's own `data/` (whatever this run's PROOFLESS_DATA_DIR). */
function newDepartment(args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/new-department.ts', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, PROOFLESS_DATA_DIR: undefined },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** What the command prints after the files, word for word. */
function nextSteps(name: string): string[] {
  return [
    'Next:',
    `  1. Describe the registry in schema/${name}.graphql; replace the example record with the department's own fields.`,
    `  2. Read them in subgraphs/${name}/registry.ts and resolve them in subgraphs/${name}/resolvers.ts.`,
    `  3. npm run compose && npx jest test/${name}.test.ts`,
    '  4. List the new fields in a service item\'s proofs in schema/proof-catalog.json: the department refuses reads no item needs, and so does the gateway.',
    `  5. In production, issue its certificate with \`npm run pki -- issue ${name}\` (or the city's CA) and give it PROOFLESS_TLS_CA_FILE, PROOFLESS_TLS_CERT_FILE, PROOFLESS_TLS_KEY_FILE and PROOFLESS_GATEWAY_KEYS_FILE.`,
  ];
}

beforeAll(() => {
  root = scratchRepository();
  departmentsBefore = readFileSync(path.join(root, 'schema/departments.json'), 'utf8');
  // What the departments compose to before the new one, whatever state the committed file is in.
  const composed = composeSupergraph(path.join(root, 'schema'));
  if (!composed.ok) throw new Error(composed.errors.join('\n'));
  supergraphBefore = composed.supergraphSdl;
  writeFileSync(path.join(root, 'schema/supergraph.graphql'), supergraphBefore);
  scaffolding = newDepartment(['parking', '--root', root, '--authority', '杭州市停车管理中心']);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

test('scaffolds the schema, the subgraph folder and a test, registered over HTTPS on the next free port, and says what to do next', () => {
  expect(scaffolding).toEqual({
    status: 0,
    stdout: [
      'new-department: "parking" scaffolded, routed at https://127.0.0.1:4006/graphql:',
      '  schema/parking.graphql',
      '  subgraphs/parking/index.ts',
      '  subgraphs/parking/resolvers.ts',
      '  subgraphs/parking/registry.ts',
      '  test/parking.test.ts',
      '  schema/departments.json',
      '  schema/supergraph.graphql',
      ...nextSteps('parking'),
      '',
    ].join('\n'),
    stderr: '',
  });
  expect(readFileSync(path.join(root, 'schema/departments.json'), 'utf8')).toBe(
    departmentsBefore.replace('/graphql" }\n  ]', '/graphql" },\n    { "name": "parking", "url": "https://127.0.0.1:4006/graphql" }\n  ]'),
  );
  // No development CA in the copy's data folder: no certificate issued (`npm start` issues it with the others').
  expect(existsSync(path.join(root, 'data'))).toBe(false);
});

test('with the data folder\'s development CA, it issues the department\'s certificate, naming the department, and lists it', async () => {
  const copy = scratchRepository();
  try {
    const pkiDir = path.join(copy, 'data/pki');
    await ensureDevelopmentPki(pkiDir, []);
    expect(newDepartment(['harbour', '--root', copy])).toEqual({
      status: 0,
      stdout: [
        'new-department: "harbour" scaffolded, routed at https://127.0.0.1:4006/graphql:',
        '  schema/harbour.graphql',
        '  subgraphs/harbour/index.ts',
        '  subgraphs/harbour/resolvers.ts',
        '  subgraphs/harbour/registry.ts',
        '  test/harbour.test.ts',
        '  schema/departments.json',
        '  schema/supergraph.graphql',
        '  data/pki/harbour.pem',
        '  data/pki/harbour-key.pem',
        ...nextSteps('harbour'),
        '',
      ].join('\n'),
      stderr: '',
    });
    const certificate = new X509Certificate(readFileSync(path.join(pkiDir, 'harbour.pem')));
    expect({
      subject: certificate.subject,
      names: certificate.subjectAltName,
      issuedByTheCa: certificate.verify(new X509Certificate(readFileSync(path.join(pkiDir, 'ca.pem'))).publicKey),
    }).toEqual({ subject: 'CN=harbour', names: 'DNS:harbour, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1', issuedByTheCa: true });
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('the new department composes with the others, adds its fields for callers, and breaks nothing', () => {
  const composed = composeSupergraph(path.join(root, 'schema'));
  expect(composed).toEqual({ ok: true, supergraphSdl: readFileSync(path.join(root, 'schema/supergraph.graphql'), 'utf8') });
  const supergraphSdl = (composed as { supergraphSdl: string }).supergraphSdl;
  expect(supergraphSdl).toContain('PARKING @join__graph(name: "parking", url: "https://127.0.0.1:4006/graphql")');
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

test('its generated test passes: over mutual TLS, signed, held to its purpose by the department', () => {
  // The repository's jest settings, rooted in the scratch copy. The generated test needs no Redis
  // or PostgreSQL, only the test PKI: not the global setup again, but this run's PKI, which it made.
  const config = {
    rootDir: root,
    testEnvironment: 'node',
    roots: ['<rootDir>/test'],
    transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  };
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'node_modules/jest/bin/jest.js'), '--config', JSON.stringify(config), path.join(root, 'test/parking.test.ts')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PROOFLESS_TEST_PKI_DIR: testPkiDir() },
  });
  expect({ status: result.status, summary: result.stderr.match(/^Tests:.*$/m)?.[0] }).toEqual({ status: 0, summary: 'Tests:       4 passed, 4 total' });
});

test('it runs as a department process, as `npm start` runs departments: HTTPS only, answering the gateway\'s signed request, on an empty registry until one is written', async () => {
  const dataDir = path.join(root, 'data');
  mkdirSync(dataDir);
  await issueCertificate(testPkiDir(), 'parking');
  const child = fork(path.join(root, 'subgraphs/parking/index.ts'), [], {
    cwd: root,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...transportEnv('parking'), PROOFLESS_DATA_DIR: dataDir, PROOFLESS_HOST: '127.0.0.1', PROOFLESS_PARKING_PORT: '0' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  try {
    const [message] = (await once(child, 'message')) as [{ ready: string; url: string }];
    expect(message).toEqual({ ready: 'parking', url: expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+\/graphql$/) });
    await expect(fetch(message.url.replace('https:', 'http:'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' })).rejects.toThrow();
    const { status, body, headers } = await callDepartmentAsGateway(message.url, 'parking', { query: '{ __typename }' });
    expect({ status, body }).toEqual({ status: 200, body: { data: { __typename: 'Query' } } });
    expect(existsSync(path.join(dataDir, 'parking.sqlite'))).toBe(true);
    // It keeps its own access log and signs a receipt for each answer, with the key it made for itself in development.
    expect(existsSync(path.join(dataDir, 'access-log', 'parking.sqlite'))).toBe(true);
    expect(asReceipt(decodeHeaderValue(headers[RECEIPT_HEADER] as string))).toEqual(expect.objectContaining({ department: 'parking', status: 200, sequence: 1 }));
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
});

test.each([
  ['Parking', 'a department name must be 2 to 30 lowercase letters (a-z), as in "residence", got "Parking"'],
  ['car-park', 'a department name must be 2 to 30 lowercase letters (a-z), as in "residence", got "car-park"'],
  ['gateway', '"gateway" cannot be a department: its certificate would name the gateway, the one client departments accept calls from'],
  ['ca', '"ca" cannot be a department: its certificate files would be the development CA\'s own (ca.pem, ca-key.pem)'],
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
