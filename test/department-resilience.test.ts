import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { startFaultServer, type FaultServer } from './helpers/fault-server';
import { startStack, type Stack } from './helpers/stack';

/**
 * How the gateway behaves when a department misbehaves (a 500, a hang, half a JSON body,
 * a reset connection): a scripted fault server on a loopback port plays the residence
 * department, while household and license answer for real. Each case asserts the whole
 * answer: the other departments' facts are there, the failing one is named, and nothing
 * of how it failed reaches the caller.
 *
 * A real server rather than nock: nock 14 intercepts Node's http module and the global
 * fetch, and the gateway calls departments through undici's Pool (department-fetch.ts),
 * which it never sees. Every fault here is one a real server produces on demand, and on
 * the wire it reaches whichever client the gateway uses: a reset is a TCP RST, which any
 * client reports as a connection error. Where a case proves that a request was not sent
 * again, it counts the requests the server received.
 */
const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } licences { kind } } }`;
const RESIDENCE_ANSWER = { data: { _entities: [{ residence: { status: 'REGISTERED' } }] } };

let fixture: ReturnType<typeof writeFixtureRegistries>;
let faults: FaultServer;
let stack: Stack;

/** Every case calls the department: the cache, which would answer repeated fetches itself, is off. */
function startResilienceStack(env: Record<string, string> = {}): Promise<Stack> {
  return startStack({
    dataDir: fixture.dataDir,
    env: { PROOFLESS_RESIDENCE_URL: faults.url, PROOFLESS_RESIDENCE_TIMEOUT_MS: '300', PROOFLESS_CACHE: 'off', ...env },
  });
}

const LICENCES = [{ kind: 'DRIVING_LICENCE' }, { kind: 'BUSINESS_LICENCE' }, { kind: 'FOOD_BUSINESS_LICENCE' }];
const ANSWERED = { data: { citizen: { identity: { name: '张伟' }, residence: { status: 'REGISTERED' }, licences: LICENCES } } };

// @apollo/gateway gives a failed fetch's error no path: the department's fields are null wherever they were asked.
const residenceFailed = (code: string, message: string) => ({
  data: { citizen: { identity: { name: '张伟' }, residence: null, licences: LICENCES } },
  errors: [{ message, extensions: { code, department: 'residence' } }],
});
const unavailable = residenceFailed('DEPARTMENT_UNAVAILABLE', 'the residence department could not answer');
const timedOut = residenceFailed('DEPARTMENT_TIMEOUT', 'the residence department did not answer within 300 ms');

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  faults = await startFaultServer({ isDepartment: true });
  stack = await startResilienceStack();
});

afterAll(async () => {
  await stack.stop();
  await faults.stop();
  fixture.remove();
});

beforeEach(() => faults.clear());

afterEach(() => {
  expect({ pending: faults.pendingAnswers(), unexpected: faults.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
});

test('a department answering 500: its facts are null, the others are there, its own words stay out', async () => {
  faults.next().reply(500, { errors: [{ message: `disk full while reading ${ZHANG_WEI}` }] });
  const { status, body } = await stack.query(QUERY);
  expect(status).toBe(200);
  expect(body).toEqual(unavailable);
  expect(JSON.stringify(body)).not.toContain('disk full');
});

test('a department that does not answer within its timeout: DEPARTMENT_TIMEOUT naming it and the timeout', async () => {
  faults.next().replyAfter(2000, 200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(timedOut);
});

test('a department that answers slowly but within its timeout is waited for', async () => {
  faults.next().replyAfter(100, 200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(ANSWERED);
});

test('a department sending malformed JSON is unavailable, and the fragment it sent is not passed on', async () => {
  faults.next().reply(200, `{"data":{"_entities":[{"residence":{"status":"REG ${ZHANG_WEI}`, { 'content-type': 'application/json' });
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(unavailable);
});

test('a reset connection is tried once more for a query, and the second answer is used', async () => {
  faults.next().reset();
  faults.next().reply(200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(ANSWERED);
});

test('a query whose connection is reset twice is unavailable: one retry, not more', async () => {
  faults.next(2).reset();
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(unavailable);
  expect(faults.requestsReceived).toBe(2);
});

test('a timeout is not retried: the caller waited once already', async () => {
  faults.next().replyAfter(2000, 200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(timedOut);
  expect(faults.requestsReceived).toBe(1);
});

describe('mutations', () => {
  let serviceStack: Stack;

  beforeAll(async () => {
    serviceStack = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_SERVICE_URL: faults.url } });
  });

  afterAll(() => serviceStack.stop());

  test('a mutation whose connection is reset is never sent again: the department may have acted on it', async () => {
    faults.next().reset();
    const item = '330100-SJ-0001';
    const { body } = await serviceStack.query(
      'mutation Record($input: RecordCommitmentInput!) { recordCommitment(input: $input) { id } }',
      { input: { serviceItem: item, proof: 'JYCSZM', applicant: ZHANG_WEI, statement: '本人承诺经营场所合法使用。' } },
      { authorization: `Bearer ${await serviceStack.token({ serviceItems: [item], scopes: [] })}`, 'x-service-item': item, 'x-case-number': 'SJ-2026-0901' },
    );
    expect(body).toEqual({
      data: null,
      errors: [{ message: 'the service department could not answer', extensions: { code: 'DEPARTMENT_UNAVAILABLE', department: 'service' } }],
    });
    expect(faults.requestsReceived).toBe(1);
  });
});

describe('circuit breaker', () => {
  let breakerStack: Stack;

  beforeAll(async () => {
    breakerStack = await startResilienceStack({ PROOFLESS_BREAKER_FAILURES: '2', PROOFLESS_BREAKER_OPEN_MS: '400' });
  });

  afterAll(() => breakerStack.stop());

  /** While open the department is not called at all: the caller is answered and no request reaches the department. */
  async function expectOpen() {
    const received = faults.requestsReceived;
    expect((await breakerStack.query(QUERY)).body).toEqual(unavailable);
    expect(faults.requestsReceived).toBe(received);
  }

  const openPeriodPassed = () => new Promise((resolve) => setTimeout(resolve, 450));

  test('opens after repeated failures, fails at once while open, lets one probe through, and closes on its success', async () => {
    faults.next(2).reply(500, {});
    expect((await breakerStack.query(QUERY)).body).toEqual(unavailable);
    expect((await breakerStack.query(QUERY)).body).toEqual(unavailable);
    await expectOpen();

    // After the open period, one probe reaches the department; it succeeds, and the circuit is closed again.
    await openPeriodPassed();
    faults.next().reply(200, RESIDENCE_ANSWER);
    expect((await breakerStack.query(QUERY)).body.data.citizen.residence).toEqual({ status: 'REGISTERED' });
    expect(faults.requestsReceived).toBe(3);
    faults.next().reply(200, RESIDENCE_ANSWER);
    expect((await breakerStack.query(QUERY)).body.data.citizen.residence).toEqual({ status: 'REGISTERED' });
  });

  test('a failed probe opens the circuit again for another period', async () => {
    faults.next(2).reply(500, {});
    await breakerStack.query(QUERY);
    await breakerStack.query(QUERY);
    await openPeriodPassed();
    faults.next().reply(500, {});
    expect((await breakerStack.query(QUERY)).body).toEqual(unavailable);
    await expectOpen();
    await openPeriodPassed();
    faults.next().reply(200, RESIDENCE_ANSWER);
    expect((await breakerStack.query(QUERY)).body.data.citizen.residence).toEqual({ status: 'REGISTERED' });
  });
});
