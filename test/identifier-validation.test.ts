import { LI_NA, ZHANG_WEI } from './fixtures/registries';
import { useFixtureStack } from './helpers/stack';

const city = useFixtureStack();

function badUserInput(message: string) {
  return { errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] };
}

/** Refused at the gateway: nothing reached any department. */
function expectNoDepartmentCalled() {
  expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
}

test.each([
  ['a literal', '{ citizen(idNumber: "11010519491231002") { idNumber } }', undefined, 'idNumber must be 18 characters (GB 11643), got 17'],
  ['a variable', 'query ($id: ID!) { citizen(idNumber: $id) { idNumber } }', { id: '110105194912310021' }, 'idNumber has a wrong check character (ISO 7064 MOD 11-2): expected X, got 1'],
  ['an alias inside a fragment', 'query { ...F } fragment F on Query { someone: citizen(idNumber: "110105194902300021") { idNumber } }', undefined, 'idNumber must have a real calendar date in positions 7-14 (GB 11643)'],
  ['one list entry', `{ citizens(idNumbers: ["${ZHANG_WEI}", "${LI_NA}", "1101051949123100AX"]) { idNumber } }`, undefined, "idNumbers[2] must have digits in positions 1-17 (GB 11643), got 'A' at position 17"],
  ['a credit code', 'query ($code: ID!) { business(creditCode: $code) { name } }', { code: '91330100716105852E' }, 'creditCode has a wrong check character (GB 32100 MOD 31): expected F, got E'],
])('a malformed identifier in %s is BAD_USER_INPUT and no department is called', async (_where, query, variables, message) => {
  const { status, body } = await city.stack.query(query, variables);
  expect(status).toBe(400);
  expect(body).toEqual(badUserInput(message));
  expectNoDepartmentCalled();
});

test('citizens over the bound is refused whole, never truncated', async () => {
  const idNumbers = Array.from({ length: 101 }, () => ZHANG_WEI);
  const { status, body } = await city.stack.query('query ($ids: [ID!]!) { citizens(idNumbers: $ids) { idNumber } }', { ids: idNumbers });
  expect(status).toBe(400);
  expect(body).toEqual(badUserInput('idNumbers may list at most 100 identifiers, got 101'));
  expectNoDepartmentCalled();
});

test('a subgraph called directly checks identifiers too, with the same message', async () => {
  const response = await fetch(city.stack.subgraphs.household.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ citizen(idNumber: "11010519491231002") { idNumber } }' }),
  });
  const body = await response.json();
  expect(body).toEqual({
    data: { citizen: null },
    errors: [{ message: 'idNumber must be 18 characters (GB 11643), got 17', locations: [{ line: 1, column: 3 }], path: ['citizen'], extensions: { code: 'BAD_USER_INPUT' } }],
  });
  expect(city.stack.registryCalls.household.readPersons).toEqual([]);
});

test('an unreadable body, a wrong content type and an unknown path get coded HTTP errors', async () => {
  const post = (body: string, contentType = 'application/json', url = city.stack.gatewayUrl) =>
    fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body }).then(async (r) => ({ status: r.status, body: await r.json() }));
  expect(await post('{"query": ')).toEqual({ status: 400, body: { errors: [{ message: 'request body must be valid JSON', extensions: { code: 'BAD_REQUEST' } }] } });
  expect(await post('query=x', 'application/x-www-form-urlencoded')).toEqual({
    status: 415,
    body: { errors: [{ message: 'content-type must be application/json, got application/x-www-form-urlencoded', extensions: { code: 'BAD_REQUEST' } }] },
  });
  expect(await post('{}', 'application/json', city.stack.gatewayUrl.replace('/graphql', '/other'))).toEqual({
    status: 404,
    body: { errors: [{ message: 'the GraphQL endpoint is /graphql', extensions: { code: 'NOT_FOUND' } }] },
  });
  const huge = JSON.stringify({ query: `{ __typename } #${'x'.repeat(200 * 1024)}` });
  expect(await post(huge)).toEqual({
    status: 413,
    body: { errors: [{ message: `request body must be at most 102400 bytes, got ${Buffer.byteLength(huge)} or more`, extensions: { code: 'REQUEST_TOO_LARGE' } }] },
  });
  expectNoDepartmentCalled();
});
