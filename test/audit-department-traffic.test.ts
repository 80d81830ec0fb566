import { closedPort } from './helpers/closed-port';
import { TEST_DATABASE_URL } from './helpers/audit-stores';
import { CHEN_QIANG, LI_NA, writeFixtureRegistries } from './fixtures/registries';
import { startStack, type Stack } from './helpers/stack';

/**
 * `departmentTraffic` through the gateway, as an auditor asks it: a department's own
 * access log summed per application and service item, with no citizen or officer in it;
 * refused to anyone else; its arguments checked word for word; a log not there is no
 * traffic, a log that cannot be read a coded error that says nothing of where it is.
 */
let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;
let started: string;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  stack = await startStack({
    dataDir: fixture.dataDir,
    env: {
      // license's log is looked for in a schema nobody made; residence's in a database nobody answers for.
      PROOFLESS_LICENSE_ACCESS_LOG_READ_URL: TEST_DATABASE_URL,
      PROOFLESS_LICENSE_ACCESS_LOG_READ_SCHEMA: `traffic_never_made_${process.pid}`,
      PROOFLESS_RESIDENCE_ACCESS_LOG_READ_URL: `postgres://auditors@127.0.0.1:${await closedPort()}/residence`,
    },
  });
  started = new Date().toISOString();
});

afterAll(async () => {
  await stack?.stop();
  fixture?.remove();
});

const ENROLMENT = '330100-JY-0001';
const TRAFFIC = `query Traffic($department: String!, $from: DateTime!, $to: DateTime!) {
  departmentTraffic(department: $department, from: $from, to: $to) {
    department from to hasLog figures { application serviceItem requests refusals errors latencyP50Ms latencyP95Ms }
  }
}`;

const asAuditor = async () => ({ authorization: `Bearer ${await stack.token({ role: 'auditor', serviceItems: [], scopes: [], officer: 'auditor-01' })}` });
const inAMinute = () => new Date(Date.now() + 60_000).toISOString();

async function traffic(variables: Record<string, unknown>, headers?: Record<string, string>) {
  const response = await stack.query(TRAFFIC, variables, headers ?? (await asAuditor()));
  return { status: response.status, body: response.body };
}

test('household\'s requests, refusals, errors and latency per application and service item, from its own log; no citizen or officer', async () => {
  const enrolment = { authorization: `Bearer ${await stack.token({ serviceItems: [ENROLMENT], scopes: [], officer: 'officer-042' })}`, 'x-service-item': ENROLMENT };
  // Two citizens: a second read of one would be answered from the gateway's cache, no department asked.
  for (const [idNumber, caseNumber] of [[LI_NA, 'JY-2026-000001'], [CHEN_QIANG, 'JY-2026-000002']]) {
    const read = await stack.query(`{ citizen(idNumber: "${idNumber}") { identity { name } } }`, undefined, { ...enrolment, 'x-case-number': caseNumber });
    expect(read.status).toBe(200);
  }
  // One the department refuses itself: called as the gateway, for a service item the catalog does not have.
  const refused = await stack.callDepartment('household', `{ citizen(idNumber: "${LI_NA}") { identity { name } } }`, undefined, { serviceItem: 'TEST-NOT-IN-CATALOG' });
  expect(refused.status).toBe(403);

  const to = inAMinute();
  const answer = await traffic({ department: 'household', from: started, to });
  expect(answer).toEqual({
    status: 200,
    body: {
      data: {
        departmentTraffic: {
          department: 'household', from: started, to, hasLog: true,
          figures: [
            { application: 'test-window', serviceItem: ENROLMENT, requests: 2, refusals: 0, errors: 0, latencyP50Ms: expect.any(Number), latencyP95Ms: expect.any(Number) },
            { application: 'test-window', serviceItem: 'TEST-NOT-IN-CATALOG', requests: 1, refusals: 1, errors: 0, latencyP50Ms: expect.any(Number), latencyP95Ms: expect.any(Number) },
          ],
        },
      },
    },
  });
  const [enrolments] = answer.body.data.departmentTraffic.figures;
  expect(enrolments.latencyP50Ms).toBeLessThanOrEqual(enrolments.latencyP95Ms);
  expect(JSON.stringify(answer.body)).not.toMatch(new RegExp(`${LI_NA}|${CHEN_QIANG}|officer-042|JY-2026`));
});

test('the audit department\'s own log shows the auditors\' questions themselves', async () => {
  const from = new Date().toISOString();
  for (let i = 0; i < 2; i += 1) expect((await traffic({ department: 'household', from: started, to: inAMinute() })).status).toBe(200);
  const to = inAMinute();
  expect(await traffic({ department: 'audit', from, to })).toEqual({
    status: 200,
    body: { data: { departmentTraffic: {
      department: 'audit', from, to, hasLog: true,
      figures: [{ application: 'test-window', serviceItem: null, requests: 2, refusals: 0, errors: 0, latencyP50Ms: expect.any(Number), latencyP95Ms: expect.any(Number) }],
    } } },
  });
});

test('a period with no traffic: the log is there, no figures', async () => {
  expect(await traffic({ department: 'household', from: '2024-06-01T00:00:00Z', to: '2024-06-02T00:00:00Z' })).toEqual({
    status: 200,
    body: { data: { departmentTraffic: { department: 'household', from: '2024-06-01T00:00:00.000Z', to: '2024-06-02T00:00:00.000Z', hasLog: true, figures: [] } } },
  });
});

test('a department whose log is not where the auditors\' department looks: no figures and hasLog false, not an error', async () => {
  const to = inAMinute();
  expect(await traffic({ department: 'license', from: started, to })).toEqual({
    status: 200, body: { data: { departmentTraffic: { department: 'license', from: started, to, hasLog: false, figures: [] } } },
  });
});

test('a log that cannot be read: DEPARTMENT_LOG_UNREADABLE naming whose log, no host, port or stack', async () => {
  const answer = await traffic({ department: 'residence', from: started, to: inAMinute() });
  expect(answer).toEqual({
    status: 200,
    body: {
      data: { departmentTraffic: null },
      errors: [{ message: "the residence department's access log cannot be read", path: ['departmentTraffic'], extensions: { code: 'DEPARTMENT_LOG_UNREADABLE', department: 'audit' } }],
    },
  });
});

test.each([
  // As every department's error, the gateway names the department that answered it: audit.
  [{ department: 'treasury', from: '2024-06-01', to: '2024-06-02' }, 'department must be one of household, residence, license, service, audit (schema/departments.json), got "treasury"'],
  [{ department: 'household', from: 'last week', to: '2024-06-02' }, 'from must be an ISO instant such as 2024-06-01T09:30:00Z, got "last week"'],
  [{ department: 'household', from: '2024-06-02', to: '2024-06-01' }, 'from must be before to, got from 2024-06-02T00:00:00.000Z and to 2024-06-01T00:00:00.000Z'],
  [{ department: 'household', from: '2024-01-01', to: '2024-06-01' }, 'the period from 2024-01-01T00:00:00.000Z to 2024-06-01T00:00:00.000Z is longer than 31 days: ask for at most 31 days at a time'],
])('%j: BAD_USER_INPUT "%s"', async (variables, message) => {
  expect(await traffic(variables)).toEqual({
    status: 200,
    body: { data: { departmentTraffic: null }, errors: [{ message, path: ['departmentTraffic'], extensions: { code: 'BAD_USER_INPUT', department: 'audit' } }] },
  });
});

test('a service caller is refused before any department is asked; so is one calling the audit department directly', async () => {
  stack.resetCounts();
  const service = { authorization: `Bearer ${await stack.token({ serviceItems: [ENROLMENT], scopes: [] })}`, 'x-service-item': ENROLMENT, 'x-case-number': 'JY-2026-000003' };
  expect(await traffic({ department: 'household', from: started, to: inAMinute() }, service)).toEqual({
    status: 403, body: { errors: [{ message: 'only role auditor may read audit records', extensions: { code: 'FORBIDDEN' } }] },
  });
  expect(stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
  const direct = await stack.callDepartment('audit', TRAFFIC, { department: 'household', from: started, to: inAMinute() });
  expect({ status: direct.status, errors: direct.body.errors, data: direct.body.data }).toEqual({
    status: 403, errors: [{ message: 'only role auditor reads the audit department', extensions: { code: 'FORBIDDEN' } }], data: undefined,
  });
});
