import { CHEN_QIANG, ZHANG_WEI } from './fixtures/registries';
import { useFixtureStack } from './helpers/stack';

/**
 * Red team, issue 16, area 10: errors "never hold personal data (ID numbers, names)"
 * (CONVENTIONS, the common brief), and README says a variable that does not fit is
 * reported "never the value". Departments' BAD_USER_INPUT messages are now passed through
 * to the caller, and three departments quote the value they refused: an ID number or a
 * name put in a non-identifier argument comes back word for word in the error message,
 * into whatever the front end logs and shows.
 */
const city = useFixtureStack();

const ID_NUMBER = /\d{17}[\dX]/;

test.each([
  ['the audit department, an auditor\'s from', 'auditor', `{ auditRecords(from: "${ZHANG_WEI}") { records { requestId } } }`, 'audit'],
  ['the audit department, a name as from', 'auditor', '{ auditRecords(from: "张伟") { records { requestId } } }', 'audit'],
  ['the residence department, a division', 'service', `{ citizen(idNumber: "${CHEN_QIANG}") { residesIn(division: "${ZHANG_WEI}", forAtLeastMonths: 1) { holds } } }`, 'residence'],
  ['the service bureau, a commitment\'s proof', 'service', `mutation { recordCommitment(input: { serviceItem: "TEST-EVERY-FIELD", proof: "${ZHANG_WEI}", applicant: "${CHEN_QIANG}", statement: "x" }) { id } }`, 'service'],
])('%s: the department\'s BAD_USER_INPUT does not quote the value', async (_case, role, query, department) => {
  const headers = role === 'auditor'
    ? { authorization: `Bearer ${await city.stack.token({ role: 'auditor', officer: 'auditor-01', serviceItems: [], scopes: [] })}` }
    : await city.stack.serviceHeaders();
  const response = await city.stack.query(query, undefined, headers);
  const [error] = response.body.errors;
  expect(error.extensions).toEqual({ code: 'BAD_USER_INPUT', department });
  // Today: 'from must be an ISO instant such as 2024-06-01T09:30:00Z, got "330106197503120015"' (and "张伟"; the
  // division's, the proof's alike).
  expect({ hasIdNumber: ID_NUMBER.test(error.message), hasName: error.message.includes('张伟') }).toEqual({ hasIdNumber: false, hasName: false });
});

test('the service bureau\'s FORBIDDEN, passed through as well, quotes the service item it was given', async () => {
  const response = await city.stack.query(`{ proofChecklist(serviceItem: "${ZHANG_WEI}", applicant: "${CHEN_QIANG}") { isComplete } }`);
  const [error] = response.body.errors;
  expect(error.extensions).toEqual({ code: 'FORBIDDEN', department: 'service' });
  // Today: 'serviceItem must be the service item this request serves (X-Service-Item TEST-EVERY-FIELD), got 330106197503120015'.
  expect(ID_NUMBER.test(error.message)).toBe(false);
});
