import { CHEN_QIANG, LI_NA, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { EVERY_FIELD_ITEM, startStack, useFixtureStack } from './helpers/stack';
import { auditRecordOf } from './helpers/audit-records';

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

/** A bad check character (the GB 11643 example number with 1 for X). */
const BAD_CHECK = '110105194912310021';
const BAD_CHECK_MESSAGE = 'has a wrong check character (ISO 7064 MOD 11-2): expected X, got 1';

test.each([
  ['a variable\'s default value', `query ($id: ID! = "${BAD_CHECK}") { citizen(idNumber: $id) { idNumber } }`, `idNumber ${BAD_CHECK_MESSAGE}`],
  ['a list variable\'s default value', `query ($ids: [ID!]! = ["${ZHANG_WEI}", "${BAD_CHECK}"]) { citizens(idNumbers: $ids) { idNumber } }`, `idNumbers[1] ${BAD_CHECK_MESSAGE}`],
  ['a default used inside a fragment', `query ($id: ID = "${BAD_CHECK}") { ...F } fragment F on Query { someone: citizen(idNumber: $id) { idNumber } }`, `idNumber ${BAD_CHECK_MESSAGE}`],
  ['a default inside a list literal', `query ($id: ID! = "${BAD_CHECK}") { citizens(idNumbers: ["${LI_NA}", $id]) { idNumber } }`, `idNumbers[1] ${BAD_CHECK_MESSAGE}`],
  ['an input object in a nested list default', `query ($related: [RelatedPersonInput!] = [{ idNumber: "${ZHANG_ZIHAN}", role: CHILD }, { idNumber: "${BAD_CHECK}", role: SPOUSE }]) { proofChecklist(serviceItem: "${EVERY_FIELD_ITEM}", applicant: "${ZHANG_WEI}", related: $related) { name } }`, `related[1].idNumber ${BAD_CHECK_MESSAGE}`],
  ['a literal applicant', `{ proofChecklist(serviceItem: "${EVERY_FIELD_ITEM}", applicant: "${BAD_CHECK}") { name } }`, `applicant ${BAD_CHECK_MESSAGE}`],
  ['an input object\'s field', `mutation { recordCommitment(input: { serviceItem: "${EVERY_FIELD_ITEM}", proof: "ALL", applicant: "${BAD_CHECK}", statement: "x" }) { id } }`, `input.applicant ${BAD_CHECK_MESSAGE}`],
])('a malformed identifier in %s, sent by no variable, is BAD_USER_INPUT and nothing is called', async (_where, query, message) => {
  const { status, body } = await city.stack.query(query);
  expect({ status, body }).toEqual({ status: 400, body: badUserInput(message) });
  expectNoDepartmentCalled();
  expect(city.stack.service.gatewayRequests).toEqual([]);
});

test.each([
  ['of the wrong type', { id: { idNumber: ZHANG_WEI } }, 'variable $id must be a value of type ID!'],
  ['missing', {}, 'variable $id must be a value of type ID!'],
])('a variable %s is BAD_USER_INPUT naming it and its type, never its value', async (_case, variables, message) => {
  const { status, body } = await city.stack.query('query ($id: ID!) { citizen(idNumber: $id) { idNumber } }', variables);
  expect({ status, body }).toEqual({ status: 400, body: badUserInput(message) });
  expectNoDepartmentCalled();
});

test('ID numbers given as defaults are the ones departments read, are recorded as asked, and count against the distinct-citizens limit', async () => {
  const limited = await startStack({ dataDir: city.dataDir, env: { PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '2' } });
  try {
    const headers = await limited.serviceHeaders({ officer: 'officer-defaults' });
    const answered = await limited.query(`query ($ids: [ID!]! = ["${ZHANG_WEI}", "${LI_NA}"]) { citizens(idNumbers: $ids) { identity { name } } }`, undefined, headers);
    expect({ status: answered.status, body: answered.body }).toEqual({ status: 200, body: { data: { citizens: [{ identity: { name: '张伟' } }, { identity: { name: '李娜' } }] } } });
    expect(limited.registryCalls.household.readPersons).toEqual([[ZHANG_WEI, LI_NA]]);
    const requestId = answered.headers.get('x-request-id') as string;
    expect((await auditRecordOf(limited.audit.store, requestId))?.citizens).toEqual([ZHANG_WEI, LI_NA].sort());
    limited.resetCounts();
    const refused = await limited.query(`query ($id: ID! = "${CHEN_QIANG}") { citizen(idNumber: $id) { identity { name } } }`, undefined, headers);
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].extensions).toEqual({ code: 'RATE_LIMITED', limit: 'distinctCitizensPerHour', max: 2 });
    expect(limited.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
  } finally {
    await limited.stop();
  }
});

test('citizens over the bound is refused whole, never truncated', async () => {
  const idNumbers = Array.from({ length: 101 }, () => ZHANG_WEI);
  const { status, body } = await city.stack.query('query ($ids: [ID!]!) { citizens(idNumbers: $ids) { idNumber } }', { ids: idNumbers });
  expect(status).toBe(400);
  expect(body).toEqual(badUserInput('idNumbers may list at most 100 identifiers, got 101'));
  expectNoDepartmentCalled();
});

test('a subgraph called directly checks identifiers too, with the same message', async () => {
  const { body } = await city.stack.callDepartment('household', '{ citizen(idNumber: "11010519491231002") { idNumber } }');
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
