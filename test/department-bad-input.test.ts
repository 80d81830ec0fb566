import { parseMetrics } from '../bench/gateway-metrics';
import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { startFaultServer, type FaultServer } from './helpers/fault-server';
import { startStack, type Stack } from './helpers/stack';

/**
 * A department's answer to a caller's bad input is the caller's fault, not the
 * department's (issue 16, item 6): it reaches the caller with the department's code and
 * message, and it never counts toward the department's circuit, so no caller can open a
 * circuit for everyone by sending bad input five times. The circuit state is read where
 * operators read it, `proofless_circuit_state` on /metrics (0 closed, 2 open).
 */
let fixture: ReturnType<typeof writeFixtureRegistries>;
let faults: FaultServer;
/** The real departments, the audit department among them, with the default circuit (5 failures). */
let city: Stack;
/** Residence played by the fault server, with a circuit that opens after 2 failures. */
let faulty: Stack;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  faults = await startFaultServer({ isDepartment: true });
  city = await startStack({ dataDir: fixture.dataDir });
  faulty = await startStack({
    dataDir: fixture.dataDir,
    env: { PROOFLESS_RESIDENCE_URL: faults.url, PROOFLESS_CACHE: 'off', PROOFLESS_BREAKER_FAILURES: '2', PROOFLESS_BREAKER_OPEN_MS: '60000' },
  });
});

afterAll(async () => {
  await faulty.stop();
  await city.stop();
  await faults.stop();
  fixture.remove();
});

beforeEach(() => faults.clear());

afterEach(() => {
  expect({ pending: faults.pendingAnswers(), unexpected: faults.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
});

async function circuits(stack: Stack): Promise<Record<string, number>> {
  const samples = parseMetrics(await (await fetch(new URL('/metrics', stack.gatewayUrl))).text());
  const states: Record<string, number> = {};
  for (const [series, value] of samples) {
    const department = /^proofless_circuit_state\{department="(\w+)"\}$/.exec(series)?.[1];
    if (department) states[department] = value;
  }
  return states;
}

const ALL_CLOSED = { household: 0, residence: 0, license: 0, service: 0, audit: 0 };

describe("the audit department and an auditor's malformed time", () => {
  const auditor = async () => ({ authorization: `Bearer ${await city.token({ role: 'auditor', serviceItems: [], officer: 'auditor-01' })}` });
  const malformed = (got: string) => ({
    status: 200,
    body: {
      data: null,
      errors: [{ message: `from must be an ISO instant such as 2024-06-01T09:30:00Z, got ${got}`, path: ['auditRecords'], extensions: { code: 'BAD_USER_INPUT', department: 'audit' } }],
    },
  });

  test('five auditRecords(from: "not-a-date") are each answered BAD_USER_INPUT naming the argument; the circuit stays closed and a good query is answered', async () => {
    const headers = await auditor();
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const { status, body } = await city.query('{ auditRecords(from: "not-a-date") { records { sequence } } }', undefined, headers);
      expect({ status, body }).toEqual(malformed('"not-a-date"'));
    }
    expect(await circuits(city)).toEqual(ALL_CLOSED);
    const { status, body } = await city.query('{ auditRecords(first: 1) { records { officer } } }', undefined, headers);
    expect({ status, body }).toEqual({ status: 200, body: { data: { auditRecords: { records: [{ officer: 'auditor-01' }] } } } });
  });

  test('a time that is not a string, as a literal or a variable, is answered the same way', async () => {
    const headers = await auditor();
    expect(await city.query('{ auditRecords(from: 5) { records { sequence } } }', undefined, headers)).toMatchObject(malformed('5'));
    expect(await city.query('query ($from: DateTime) { auditRecords(from: $from) { records { sequence } } }', { from: 'nope' }, headers)).toMatchObject(malformed('"nope"'));
    expect(await city.query('query ($from: DateTime) { auditRecords(from: $from) { records { sequence } } }', { from: { at: 'noon' } }, headers)).toMatchObject(malformed('an object'));
    expect(await city.query('{ auditRecords(from: ["2026-11-01"]) { records { sequence } } }', undefined, headers)).toMatchObject(malformed('a list of 1'));
    expect(await circuits(city)).toEqual(ALL_CLOSED);
  });

  test('a well-formed time still filters: a date alone is midnight UTC', async () => {
    const { status, body } = await city.query('{ auditRecords(from: "2000-01-01", to: "2000-01-02") { records { sequence } hasNextPage } }', undefined, await auditor());
    expect({ status, body }).toEqual({ status: 200, body: { data: { auditRecords: { records: [], hasNextPage: false } } } });
  });
});

describe('a department answering HTTP 400', () => {
  const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } } }`;
  const RESIDENCE_ANSWER = { data: { _entities: [{ residence: { status: 'REGISTERED' } }] } };
  const BAD_INPUT = { errors: [{ message: 'division must be a GB/T 2260 code of 2, 4 or 6 digits, got 7', extensions: { code: 'BAD_USER_INPUT' } }] };

  test('with BAD_USER_INPUT errors: the caller gets them, named after the department, five times over, and the circuit stays closed', async () => {
    faults.next(5).reply(400, BAD_INPUT);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const { status, body } = await faulty.query(QUERY);
      expect({ status, body }).toEqual({
        status: 200,
        body: {
          data: { citizen: { identity: { name: '张伟' }, residence: null } },
          errors: [{ message: 'division must be a GB/T 2260 code of 2, 4 or 6 digits, got 7', extensions: { code: 'BAD_USER_INPUT', department: 'residence' } }],
        },
      });
    }
    expect(await circuits(faulty)).toEqual(ALL_CLOSED);
    faults.next().reply(200, RESIDENCE_ANSWER);
    expect((await faulty.query(QUERY)).body).toEqual({ data: { citizen: { identity: { name: '张伟' }, residence: { status: 'REGISTERED' } } } });
  });

  test('with any other error, or one BAD_USER_INPUT among others, it is the department failing: masked, and counted until the circuit opens', async () => {
    faults.next().reply(400, { errors: [{ message: 'Cannot query field "residence" on type "Citizen".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    faults.next().reply(400, { errors: [...BAD_INPUT.errors, { message: 'SqliteError: database is locked', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    const unavailable = {
      status: 200,
      body: {
        data: { citizen: { identity: { name: '张伟' }, residence: null } },
        errors: [{ message: 'the residence department could not answer', extensions: { code: 'DEPARTMENT_UNAVAILABLE', department: 'residence' } }],
      },
    };
    const first = await faulty.query(QUERY);
    const second = await faulty.query(QUERY);
    expect([{ status: first.status, body: first.body }, { status: second.status, body: second.body }]).toEqual([unavailable, unavailable]);
    expect(await circuits(faulty)).toEqual({ ...ALL_CLOSED, residence: 2 });
  });
});
