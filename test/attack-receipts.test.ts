import { generateKeyPairSync } from 'node:crypto';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GraphQLError } from 'graphql';
import { CHECKPOINT_HEADER, RECEIPT_HEADER, type DepartmentCallEvidence } from '../audit/exchange';
import { decodeHeaderValue, encodeHeaderValue } from '../audit/receipt';
import { keyIdOf, signCheckpoint } from '../audit/signing';
import type { SignedCheckpoint } from '../audit/store';
import { CircuitBreaker } from '../gateway/circuit-breaker';
import type { GatewayContext } from '../gateway/context';
import { DepartmentDataSource } from '../gateway/data-source';
import { departmentFetcher } from '../gateway/department-fetch';
import { departmentTransportFromEnv, openDepartmentTransport, type DepartmentTransport } from '../gateway/department-transport';
import { startFaultServer, type FaultServer, type ScriptedExchange } from './helpers/fault-server';
import { transportEnv } from './helpers/federation-security';
import { receiptCheckerForTest, receiptFor, testDepartmentKey } from './helpers/receipts';

/**
 * The gateway's side of receipts (issue 18), attacker's view: a department answer whose
 * signed receipt is missing, forged, borrowed or stale is refused, DEPARTMENT_RECEIPT_INVALID
 * naming the department and what is wrong, its facts withheld, the call failed in the
 * request's evidence, counted against the circuit and never sent again. A stand-in
 * department over mutual TLS (test/helpers/fault-server.ts) signs receipts with the test
 * PKI's department keys, as a department does, or gets them wrong on purpose; the gateway
 * side is the real data source, transport, signer and trust list.
 */
const QUERY = 'query Residence__residence__1($representations:[_Any!]!){_entities(representations:$representations){...on Citizen{residence{status}}}}';
const ANSWER = { data: { _entities: [{ residence: { status: 'REGISTERED' } }] } };
const ANSWER_TEXT = JSON.stringify(ANSWER);

let faults: FaultServer;
let transport: DepartmentTransport;

beforeAll(async () => {
  faults = await startFaultServer({ isDepartment: true });
  transport = openDepartmentTransport(departmentTransportFromEnv({ ...transportEnv(), NODE_ENV: 'test' }));
});

afterAll(async () => {
  transport.close();
  await faults.stop();
});

beforeEach(() => faults.clear());

afterEach(() => {
  expect({ pending: faults.pendingAnswers(), unexpected: faults.unexpectedRequests() }).toEqual({ pending: [], unexpected: [] });
});

function residence(options: { breaker?: CircuitBreaker; onCalled?: (department: string) => void } = {}): DepartmentDataSource {
  return new DepartmentDataSource('residence', faults.url, {
    fetcher: departmentFetcher({ timeoutMs: 2000, tls: transport.tlsFor('residence') }),
    sign: transport.sign,
    receipts: transport.receipts,
    ...options,
  });
}

/** A fetch of an incoming operation as @apollo/gateway hands it to the data source, with the request's evidence to fill in. */
function fetchOf() {
  const exchange = { calls: [] as DepartmentCallEvidence[], departmentCheckpoints: [] as SignedCheckpoint[] };
  const context = { departmentsCalled: new Set<string>(), exchange };
  const options = {
    kind: 'incoming operation',
    request: { query: QUERY, variables: { representations: [{ __typename: 'Citizen', idNumber: '110101199003070011' }] } },
    incomingRequestContext: { context, request: { http: { headers: new Headers({ 'x-request-id': 'req-receipts' }) } }, overallCachePolicy: { restrict: () => undefined } },
    context,
  } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
  return { options, exchange };
}

/** What the data source threw, as the caller meets it (message and extensions). */
async function failureOf(promise: Promise<unknown>): Promise<{ message: string; extensions: unknown }> {
  try {
    await promise;
  } catch (error) {
    const { message, extensions } = error as GraphQLError;
    return { message, extensions };
  }
  throw new Error('the call did not fail');
}

const refused = (problem: string) => ({
  message: `the residence department's answer has no valid receipt: ${problem}`,
  extensions: { code: 'DEPARTMENT_RECEIPT_INVALID', department: 'residence' },
});

/** The evidence of the one call the stand-in received: what the gateway signed, as the department rebuilt it. */
function callAsReceived(exchange: ScriptedExchange, receipt: DepartmentCallEvidence['receipt'], failure: string | null): DepartmentCallEvidence {
  const [request] = faults.received();
  return {
    department: 'residence',
    signatureBase: exchange.signatureBase,
    signatureInput: String(request.headers['signature-input']),
    signature: String(request.headers.signature),
    receipt,
    failure,
  };
}

/** Scripts one answer whose headers `receiptHeader` builds, keeping the exchange the stand-in saw. */
function answerWith(receiptHeader: (exchange: ScriptedExchange) => Record<string, string>, status = 200, body: object | string = ANSWER): { seen(): ScriptedExchange } {
  let seen: ScriptedExchange | undefined;
  faults.next().reply(status, body, (exchange) => {
    seen = exchange;
    return receiptHeader(exchange);
  });
  return {
    seen: () => {
      if (!seen) throw new Error('no request arrived');
      return seen;
    },
  };
}

describe('a bad receipt fails the call: DEPARTMENT_RECEIPT_INVALID naming the department, the call in the evidence as failed, sent once', () => {
  test.each<[string, (exchange: ScriptedExchange) => Record<string, string>, string]>([
    ['no receipt', () => ({}), 'the answer carries no receipt'],
    ['a header that is not a receipt', () => ({ [RECEIPT_HEADER]: 'not*base64url' }), 'the answer\'s receipt cannot be read'],
    ['a receipt missing a member', (exchange) => {
      const { signature: _, ...unsigned } = receiptFor(exchange);
      return { [RECEIPT_HEADER]: Buffer.from(JSON.stringify(unsigned)).toString('base64url') };
    }, 'the answer\'s receipt cannot be read'],
  ])('%s', async (_, header, problem) => {
    const scripted = answerWith(header);
    const { options, exchange } = fetchOf();
    expect(await failureOf(residence().process(options))).toEqual(refused(problem));
    expect(exchange.calls).toEqual([callAsReceived(scripted.seen(), null, 'DEPARTMENT_RECEIPT_INVALID')]);
    expect(faults.requestsReceived).toBe(1);
  });

  test('a receipt signed by a key the departments\' trust list does not hold', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const stranger = { privateKey, keyId: keyIdOf(publicKey) };
    answerWith((exchange) => ({ [RECEIPT_HEADER]: encodeHeaderValue(receiptFor(exchange, {}, stranger)) }));
    expect(await failureOf(residence().process(fetchOf().options))).toEqual(refused(`the receipt's key ${stranger.keyId.slice(0, 16)} is not in the departments' trust list for residence`));
  });

  test('a receipt signed with another department\'s key, in this department\'s name', async () => {
    const household = testDepartmentKey('household');
    answerWith((exchange) => ({ [RECEIPT_HEADER]: encodeHeaderValue(receiptFor(exchange, {}, household)) }));
    expect(await failureOf(residence().process(fetchOf().options))).toEqual(refused(`the receipt's key ${household.keyId.slice(0, 16)} is not in the departments' trust list for residence`));
  });

  test('another department\'s genuine receipt for the same exchange', async () => {
    answerWith((exchange) => ({ [RECEIPT_HEADER]: encodeHeaderValue(receiptFor({ ...exchange, department: 'household' })) }));
    expect(await failureOf(residence().process(fetchOf().options))).toEqual(refused('the receipt is household\'s, not residence\'s'));
  });

  test('a genuine receipt replayed from an earlier answer: another request', async () => {
    let earlier = '';
    answerWith((exchange) => {
      earlier = exchange.validReceipt();
      return { [RECEIPT_HEADER]: earlier };
    });
    await residence().process(fetchOf().options);
    answerWith(() => ({ [RECEIPT_HEADER]: earlier }));
    const { options, exchange } = fetchOf();
    expect(await failureOf(residence().process(options))).toEqual(refused('the receipt is for another request'));
    expect(exchange.calls.map((call) => [call.receipt, call.failure])).toEqual([[null, 'DEPARTMENT_RECEIPT_INVALID']]);
    expect(faults.requestsReceived).toBe(2);
  });

  test('the answer altered after the receipt was signed', async () => {
    const altered = JSON.stringify({ data: { _entities: [{ residence: { status: 'DEREGISTERED' } }] } });
    answerWith((exchange) => ({ 'content-type': 'application/json', [RECEIPT_HEADER]: encodeHeaderValue(receiptFor({ ...exchange, body: ANSWER_TEXT })) }), 200, altered);
    expect(await failureOf(residence().process(fetchOf().options))).toEqual(refused('the receipt is for another answer: the answer\'s digest differs'));
  });

  test('a receipt for another status', async () => {
    answerWith((exchange) => ({ [RECEIPT_HEADER]: encodeHeaderValue(receiptFor({ ...exchange, status: 203 })) }));
    expect(await failureOf(residence().process(fetchOf().options))).toEqual(refused('the receipt is for an answer with status 203, not 200'));
  });

  test('a receipt whose signature was made over other members', async () => {
    answerWith((exchange) => ({ [RECEIPT_HEADER]: encodeHeaderValue({ ...receiptFor(exchange), sequence: 2 }) }));
    expect(await failureOf(residence().process(fetchOf().options))).toEqual(refused('the receipt\'s signature does not verify'));
  });

  test('a receipt signed too long before the gateway reads it', async () => {
    const signedAt = new Date().toISOString();
    answerWith((exchange) => ({ [RECEIPT_HEADER]: encodeHeaderValue(receiptFor(exchange, { time: signedAt })) }));
    // The gateway's clock an hour on: the receipt is an old one, kept and sent again.
    const department = new DepartmentDataSource('residence', faults.url, {
      fetcher: departmentFetcher({ timeoutMs: 2000, tls: transport.tlsFor('residence') }),
      sign: transport.sign,
      receipts: receiptCheckerForTest(() => Date.parse(signedAt) + 3_600_000),
    });
    expect(await failureOf(department.process(fetchOf().options))).toEqual(refused(`the receipt's time ${signedAt} is too far from now`));
  });

  test('a bad receipt counts against the circuit like any failure', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, openMs: 60_000 });
    answerWith(() => ({}));
    await failureOf(residence({ breaker }).process(fetchOf().options));
    expect(breaker.state).toBe('open');
  });
});

describe('a valid receipt', () => {
  test('passes the answer on, and the call\'s evidence holds the exact receipt the department sent', async () => {
    let sent = '';
    const scripted = answerWith((exchange) => {
      sent = exchange.validReceipt();
      return { [RECEIPT_HEADER]: sent };
    });
    const { options, exchange } = fetchOf();
    const answer = await residence().process(options);
    expect({ data: answer.data, errors: answer.errors }).toEqual({ data: ANSWER.data, errors: undefined });
    expect(exchange).toEqual({ calls: [callAsReceived(scripted.seen(), decodeHeaderValue(sent) as never, null)], departmentCheckpoints: [] });
  });

  test('a department\'s HTTP 503 (its log cannot be written) stays DEPARTMENT_UNAVAILABLE, receipt or not; a receipt that verifies is kept with the failed call', async () => {
    // The stand-in signs a receipt for its 503 (a real department writes neither record nor receipt then): the department's signed word
    // on a failed answer is kept, as for a refusal (test/both-sides-record.test.ts), and the call still fails.
    let sent = '';
    faults.next().reply(503, { errors: [{ message: 'the access log cannot be written', extensions: { code: 'DEPARTMENT_LOG_UNAVAILABLE' } }] }, (scripted) => {
      sent = scripted.validReceipt();
      return { 'content-type': 'application/json', [RECEIPT_HEADER]: sent };
    });
    const withReceipt = fetchOf();
    expect(await failureOf(residence().process(withReceipt.options))).toEqual({ message: 'the residence department could not answer', extensions: { code: 'DEPARTMENT_UNAVAILABLE', department: 'residence' } });
    expect(withReceipt.exchange.calls.map((call) => [call.receipt, call.failure])).toEqual([[decodeHeaderValue(sent), 'DEPARTMENT_UNAVAILABLE']]);

    faults.next().reply(503, { errors: [{ message: 'the access log cannot be written', extensions: { code: 'DEPARTMENT_LOG_UNAVAILABLE' } }] }, () => ({ 'content-type': 'application/json' }));
    const without = fetchOf();
    expect(await failureOf(residence().process(without.options))).toEqual({ message: 'the residence department could not answer', extensions: { code: 'DEPARTMENT_UNAVAILABLE', department: 'residence' } });
    expect(without.exchange.calls.map((call) => [call.receipt, call.failure])).toEqual([[null, 'DEPARTMENT_UNAVAILABLE']]);
  });
});

describe('a department log checkpoint that comes with an answer', () => {
  const checkpointOf = (chainId: string, key = testDepartmentKey('residence')): SignedCheckpoint =>
    signCheckpoint({ chainId, sequence: 1, hash: 'a'.repeat(64), time: new Date().toISOString(), previous: null }, key);

  test('is kept when the department\'s key signed it, for the chain its receipt names', async () => {
    const checkpoint = checkpointOf('residence:test');
    answerWith((exchange) => ({ [RECEIPT_HEADER]: exchange.validReceipt(), [CHECKPOINT_HEADER]: encodeHeaderValue(checkpoint) }));
    const { options, exchange } = fetchOf();
    await residence().process(options);
    expect(exchange.departmentCheckpoints).toEqual([checkpoint]);
  });

  test.each([
    ['signed by another department\'s key', checkpointOf('residence:test', testDepartmentKey('household'))],
    ['of another chain than the receipt\'s', checkpointOf('residence:elsewhere')],
    ['altered after signing', { ...checkpointOf('residence:test'), sequence: 2 }],
  ])('is ignored, the answer still passed on, when %s', async (_, checkpoint) => {
    answerWith((exchange) => ({ [RECEIPT_HEADER]: exchange.validReceipt(), [CHECKPOINT_HEADER]: encodeHeaderValue(checkpoint) }));
    const { options, exchange } = fetchOf();
    expect((await residence().process(options)).data).toEqual(ANSWER.data);
    expect({ calls: exchange.calls.map((call) => call.failure), departmentCheckpoints: exchange.departmentCheckpoints }).toEqual({ calls: [null], departmentCheckpoints: [] });
  });
});

describe('the readiness probe', () => {
  const TYPENAME = { data: { __typename: 'Query' } };

  test('is ready only with a receipt that verifies', async () => {
    faults.next().reply(200, TYPENAME);
    expect(await residence().answersReadinessProbe()).toBe(true);
    answerWith(() => ({ 'content-type': 'application/json' }), 200, TYPENAME);
    expect(await residence().answersReadinessProbe()).toBe(false);
  });
});
