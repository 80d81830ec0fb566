import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ZHANG_WEI } from './fixtures/registries';
import { startStack, useFixtureStack, type Stack } from './helpers/stack';
import { auditRecordOf } from './helpers/audit-records';

/**
 * Documents the gateway will not run get a coded 400 that says what to do, never a 500
 * "internal error"; and with introspection off, no error names a field the caller did not.
 */
const city = useFixtureStack();

async function post(stack: Stack, body: unknown) {
  const response = await fetch(stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await stack.serviceHeaders()) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const refused = (status: number, code: string, message: string) => ({ status, body: { errors: [{ message, extensions: { code } }] } });

test.each([
  ['several operations and no operationName', { query: 'query A { __typename } query B { __typename }' },
    refused(400, 'OPERATION_RESOLUTION_FAILURE', 'the document has 2 operations (A, B): name the one to run in operationName')],
  ['an operationName the document does not have', { query: 'query A { __typename }', operationName: 'C' },
    refused(400, 'OPERATION_RESOLUTION_FAILURE', 'the document has no operation named C; it has A')],
  ['an operationName with anonymous operations only', { query: '{ __typename }', operationName: 'C' },
    refused(400, 'OPERATION_RESOLUTION_FAILURE', 'the document has no operation named C; it has one anonymous operation')],
  ['a subscription', { query: 'subscription { __typename }' },
    refused(400, 'OPERATION_NOT_SUPPORTED', 'subscription operations are not supported: the gateway answers queries and mutations')],
])('%s: 400 with a code, and no department is called', async (_case, body, expected) => {
  expect(await post(city.stack, body)).toEqual(expected);
  expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
});

test('the refusals above are recorded as refused', async () => {
  const response = await fetch(city.stack.gatewayUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await city.stack.serviceHeaders()) },
    body: JSON.stringify({ query: 'query A { __typename } query B { __typename }' }),
  });
  const record = await auditRecordOf(city.stack.audit.store, response.headers.get('x-request-id') as string);
  expect(record && { outcome: record.outcome, errorCodes: record.errorCodes }).toEqual({ outcome: 'refused', errorCodes: ['OPERATION_RESOLUTION_FAILURE'] });
});

describe('with persisted queries on (trusted operations)', () => {
  let stack: Stack;
  const query = '{ __typename }';
  beforeAll(async () => {
    const manifest = path.join(city.dataDir, 'operation-errors-manifest.json');
    const id = createHash('sha256').update(query).digest('hex');
    writeFileSync(manifest, JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id, name: 'Typename', type: 'query', body: query }] }));
    stack = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_TRUSTED_OPERATIONS: manifest } });
  });
  afterAll(() => stack.stop());

  test('a hash that is not the document\'s: 400 PERSISTED_QUERY_HASH_MISMATCH', async () => {
    expect(await post(stack, { query, extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } })).toEqual(
      refused(400, 'PERSISTED_QUERY_HASH_MISMATCH', 'provided sha does not match query'),
    );
  });

  test('a persisted-query version other than 1: 400 BAD_REQUEST', async () => {
    expect(await post(stack, { extensions: { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } } })).toEqual(
      refused(400, 'BAD_REQUEST', 'Unsupported persisted query version'),
    );
  });
});

describe('field suggestions', () => {
  const misspelt = `{ citizen(idNumber: "${ZHANG_WEI}") { identiti { name } } }`;
  const error = (message: string) => ({ status: 400, body: { errors: [{ message, locations: [{ line: 1, column: misspelt.indexOf('identiti') + 1 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] } });

  test('are given where introspection is on (development)', async () => {
    expect(await post(city.stack, { query: misspelt })).toEqual(error('Cannot query field "identiti" on type "Citizen". Did you mean "identity"?'));
  });

  test('are hidden where introspection is off (production): they would name fields introspection hides', async () => {
    const production = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_INTROSPECTION: 'false' } });
    try {
      const response = await fetch(production.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: misspelt }) });
      expect({ status: response.status, body: await response.json() }).toEqual(error('Cannot query field "identiti" on type "Citizen".'));
    } finally {
      await production.stop();
    }
  });
});
