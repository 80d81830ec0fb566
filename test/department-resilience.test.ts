import nock from 'nock';
import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { startStack, type Stack } from './helpers/stack';

/**
 * How the gateway behaves when a department misbehaves: the faults a real registry
 * rarely produces on demand (a 500, a hang, half a JSON body, a reset connection), played
 * by nock in front of the residence department, while household and license answer for
 * real. Each case asserts the whole answer: the other departments' facts are there, the
 * failing one is named, and nothing of how it failed reaches the caller.
 */
const RESIDENCE = 'http://residence.registry.test';
const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } licences { kind } } }`;
const RESIDENCE_ANSWER = { data: { _entities: [{ residence: { status: 'REGISTERED' } }] } };

/**
 * nock 14 emits `replyWithError`'s error on an http.request only when it is an Error
 * object; a plain `{ code, message }` never reaches the request's 'error' event
 * (nock/nock#2789, documented by nock/nock#2899).
 */
function connectionReset(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;

/** Every case calls the department: the cache, which would answer repeated fetches itself, is off. */
function startResilienceStack(env: Record<string, string> = {}): Promise<Stack> {
  return startStack({
    dataDir: fixture.dataDir,
    env: { PROOFLESS_RESIDENCE_URL: `${RESIDENCE}/graphql`, PROOFLESS_RESIDENCE_TIMEOUT_MS: '300', PROOFLESS_CACHE: 'off', ...env },
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

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  stack = await startResilienceStack();
});

afterAll(async () => {
  await stack.stop();
  fixture.remove();
  nock.enableNetConnect();
});

beforeEach(() => nock.cleanAll());

afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
});

test('a department answering 500: its facts are null, the others are there, its own words stay out', async () => {
  nock(RESIDENCE).post('/graphql').reply(500, { errors: [{ message: `disk full while reading ${ZHANG_WEI}` }] });
  const { status, body } = await stack.query(QUERY);
  expect(status).toBe(200);
  expect(body).toEqual(unavailable);
  expect(JSON.stringify(body)).not.toContain('disk full');
});

test('a department that does not answer within its timeout: DEPARTMENT_TIMEOUT naming it and the timeout', async () => {
  nock(RESIDENCE).post('/graphql').delay(2000).reply(200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(residenceFailed('DEPARTMENT_TIMEOUT', 'the residence department did not answer within 300 ms'));
});

test('a department that answers slowly but within its timeout is waited for', async () => {
  nock(RESIDENCE).post('/graphql').delay(100).reply(200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(ANSWERED);
});

test('a department sending malformed JSON is unavailable, and the fragment it sent is not passed on', async () => {
  nock(RESIDENCE).post('/graphql').reply(200, `{"data":{"_entities":[{"residence":{"status":"REG ${ZHANG_WEI}`, { 'content-type': 'application/json' });
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(unavailable);
});

test('a reset connection is tried once more for a query, and the second answer is used', async () => {
  nock(RESIDENCE).post('/graphql').replyWithError(connectionReset());
  nock(RESIDENCE).post('/graphql').reply(200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(ANSWERED);
});

test('a query whose connection is reset twice is unavailable: one retry, not more', async () => {
  nock(RESIDENCE).post('/graphql').times(2).replyWithError(connectionReset());
  const spare = nock(RESIDENCE).post('/graphql').reply(200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body).toEqual(unavailable);
  expect(spare.isDone()).toBe(false);
  nock.cleanAll();
});

test('a timeout is not retried: the caller waited once already', async () => {
  nock(RESIDENCE).post('/graphql').delay(2000).reply(200, RESIDENCE_ANSWER);
  const spare = nock(RESIDENCE).post('/graphql').reply(200, RESIDENCE_ANSWER);
  const { body } = await stack.query(QUERY);
  expect(body.errors[0].extensions.code).toBe('DEPARTMENT_TIMEOUT');
  expect(spare.isDone()).toBe(false);
  nock.cleanAll();
});

describe('mutations', () => {
  const SERVICE = 'http://service.registry.test';
  let serviceStack: Stack;

  beforeAll(async () => {
    serviceStack = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_SERVICE_URL: `${SERVICE}/graphql` } });
  });

  afterAll(() => serviceStack.stop());

  test('a mutation whose connection is reset is never sent again: the department may have acted on it', async () => {
    nock(SERVICE).post('/graphql').replyWithError(connectionReset());
    const spare = nock(SERVICE).post('/graphql').reply(200, { data: { recordCommitment: null } });
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
    expect(spare.isDone()).toBe(false);
    nock.cleanAll();
  });
});

describe('circuit breaker', () => {
  let breakerStack: Stack;

  beforeAll(async () => {
    breakerStack = await startResilienceStack({ PROOFLESS_BREAKER_FAILURES: '2', PROOFLESS_BREAKER_OPEN_MS: '400' });
  });

  afterAll(() => breakerStack.stop());

  /** While open the department is not called at all: an answer waits for it, unused. Returns that answer's interceptor. */
  async function expectOpen() {
    const waiting = nock(RESIDENCE).post('/graphql').reply(200, RESIDENCE_ANSWER);
    expect((await breakerStack.query(QUERY)).body).toEqual(unavailable);
    expect(waiting.isDone()).toBe(false);
    return waiting;
  }

  const openPeriodPassed = () => new Promise((resolve) => setTimeout(resolve, 450));

  test('opens after repeated failures, fails at once while open, lets one probe through, and closes on its success', async () => {
    nock(RESIDENCE).post('/graphql').times(2).reply(500, {});
    expect((await breakerStack.query(QUERY)).body).toEqual(unavailable);
    expect((await breakerStack.query(QUERY)).body).toEqual(unavailable);
    const waiting = await expectOpen();

    // After the open period, one probe goes through (the waiting answer); it succeeds, and the circuit is closed again.
    await openPeriodPassed();
    expect((await breakerStack.query(QUERY)).body.data.citizen.residence).toEqual({ status: 'REGISTERED' });
    expect(waiting.isDone()).toBe(true);
    nock(RESIDENCE).post('/graphql').reply(200, RESIDENCE_ANSWER);
    expect((await breakerStack.query(QUERY)).body.data.citizen.residence).toEqual({ status: 'REGISTERED' });
  });

  test('a failed probe opens the circuit again for another period', async () => {
    nock(RESIDENCE).post('/graphql').times(2).reply(500, {});
    await breakerStack.query(QUERY);
    await breakerStack.query(QUERY);
    await openPeriodPassed();
    nock(RESIDENCE).post('/graphql').reply(500, {});
    expect((await breakerStack.query(QUERY)).body).toEqual(unavailable);
    await expectOpen();
    await openPeriodPassed();
    expect((await breakerStack.query(QUERY)).body.data.citizen.residence).toEqual({ status: 'REGISTERED' });
  });
});
