import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { RECEIPT_HEADER, type DepartmentCallEvidence, type GatewayCallsEvidence } from '../audit/exchange';
import { checkReceipt, decodeHeaderValue, encodeHeaderValue, sha256Hex } from '../audit/receipt';
import { loadTrustList } from '../lib/trust-list';
import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { auditRecordOf } from './helpers/audit-records';
import { runScript } from './helpers/exchange-stores';
import { transportEnv } from './helpers/federation-security';
import { startFaultServer, type FaultServer, type ScriptedExchange } from './helpers/fault-server';
import { receiptFor, testDepartmentKey, testDepartmentKeysFile } from './helpers/receipts';
import { startStack, type Stack } from './helpers/stack';

/**
 * Receipts through the whole gateway (issue 18): the residence department is a stand-in
 * over mutual TLS that gets its receipt wrong on purpose, household answers for real.
 * Each bad receipt withholds residence's facts as a failed department does, names it
 * with DEPARTMENT_RECEIPT_INVALID, and leaves in the audit record the call as signed and
 * failed, beside household's call with its genuine receipt; `auditReceipt` gives an
 * auditor the same evidence. test/attack-receipts.test.ts tries every kind of bad
 * receipt against the data source itself.
 */
const QUERY = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } residence { status } } }`;
const RESIDENCE_ANSWER = { data: { _entities: [{ residence: { status: 'REGISTERED' } }] } };

let fixture: ReturnType<typeof writeFixtureRegistries>;
let faults: FaultServer;
let stack: Stack;

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  faults = await startFaultServer({ isDepartment: true });
  stack = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_RESIDENCE_URL: faults.url, PROOFLESS_CACHE: 'off' } });
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

/** The record's calls, each receipt checked as an auditor checks it offline: against the departments' public keys and the signature base kept beside it. */
function checkedCalls(exchange: GatewayCallsEvidence) {
  const trustList = loadTrustList(testDepartmentKeysFile());
  return exchange.calls.map((call: DepartmentCallEvidence) => ({
    department: call.department,
    failure: call.failure,
    receipt: call.receipt && checkReceipt(call.receipt, { department: call.department, requestDigest: sha256Hex(call.signatureBase), answerDigest: call.receipt.answerDigest, status: call.receipt.status }, trustList),
  }));
}

test.each<[string, (exchange: ScriptedExchange) => Record<string, string>, string]>([
  ['no receipt', () => ({}), 'the answer carries no receipt'],
  ['a receipt signed with household\'s key', (exchange) => ({ [RECEIPT_HEADER]: encodeHeaderValue(receiptFor(exchange, {}, testDepartmentKey('household'))) }), 'KEY'],
  ['a receipt for another status', (exchange) => ({ [RECEIPT_HEADER]: encodeHeaderValue(receiptFor({ ...exchange, status: 500 })) }), 'the receipt is for an answer with status 500, not 200'],
])('%s: residence\'s facts withheld, DEPARTMENT_RECEIPT_INVALID, and the record shows the failed call', async (_, headers, problem) => {
  faults.next().reply(200, RESIDENCE_ANSWER, (exchange) => ({ 'content-type': 'application/json', ...headers(exchange) }));
  const { status, body, headers: answerHeaders } = await stack.query(QUERY);
  const words = problem === 'KEY' ? `the receipt's key ${testDepartmentKey('household').keyId.slice(0, 16)} is not in the departments' trust list for residence` : problem;
  expect({ status, body }).toEqual({
    status: 200,
    body: {
      data: { citizen: { identity: { name: '张伟' }, residence: null } },
      errors: [{ message: `the residence department's answer has no valid receipt: ${words}`, extensions: { code: 'DEPARTMENT_RECEIPT_INVALID', department: 'residence' } }],
    },
  });
  const record = await auditRecordOf(stack.audit.store, answerHeaders.get('x-request-id') as string);
  expect({ outcome: record?.outcome, errorCodes: record?.errorCodes, departments: record?.departments }).toEqual({ outcome: 'partial', errorCodes: ['DEPARTMENT_RECEIPT_INVALID'], departments: ['household', 'residence'] });
  expect(checkedCalls(record?.exchange as GatewayCallsEvidence)).toEqual([
    { department: 'household', failure: null, receipt: { ok: true } },
    { department: 'residence', failure: 'DEPARTMENT_RECEIPT_INVALID', receipt: null },
  ]);
});

test('a valid receipt: the answer is whole, the record holds the exact receipt residence sent, and auditReceipt gives an auditor the same record', async () => {
  let sent = '';
  faults.next().reply(200, RESIDENCE_ANSWER, (exchange) => {
    sent = exchange.validReceipt();
    return { 'content-type': 'application/json', [RECEIPT_HEADER]: sent };
  });
  const { body, headers } = await stack.query(QUERY);
  expect(body).toEqual({ data: { citizen: { identity: { name: '张伟' }, residence: { status: 'REGISTERED' } } } });
  const requestId = headers.get('x-request-id') as string;
  const record = await auditRecordOf(stack.audit.store, requestId);
  const exchange = record?.exchange as GatewayCallsEvidence;
  expect(checkedCalls(exchange)).toEqual([
    { department: 'household', failure: null, receipt: { ok: true } },
    { department: 'residence', failure: null, receipt: { ok: true } },
  ]);
  expect(exchange.calls[1].receipt).toEqual(decodeHeaderValue(sent));
  expect(exchange.calls[1].signatureInput).toBe(faults.received()[0].headers['signature-input']);

  const auditor = { authorization: `Bearer ${await stack.token({ role: 'auditor', serviceItems: [], officer: 'auditor-01' })}` };
  const receipt = await stack.query(
    'query ($id: ID!) { auditReceipt(requestId: $id) { requestId records { chainId sequence hash exchange { calls { department signatureBase signatureInput signature failure receipt { department requestDigest answerDigest status chainId sequence time keyId signature } } } } } }',
    { id: requestId },
    auditor,
  );
  expect(receipt.body).toEqual({
    data: {
      auditReceipt: {
        requestId,
        records: [{ chainId: record?.chainId, sequence: record?.sequence, hash: record?.hash, exchange: { calls: exchange.calls } }],
      },
    },
  });
  const none = await stack.query('{ auditReceipt(requestId: "req-no-such-request") { requestId } }', undefined, auditor);
  expect(none.body).toEqual({ data: { auditReceipt: null } });
});

test('an answer through the real gateway and departments exports with audit:receipt and verifies offline, every call\'s receipt with it', async () => {
  const answered = await stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`);
  expect(answered.body).toEqual({ data: { citizen: { identity: { name: '张伟' } } } });
  const requestId = answered.headers.get('x-request-id') as string;
  // A record is exported once a checkpoint vouches for it: the gateway signs one as it stops, and sends it to the departments it called, the stand-in residence among them.
  faults.next().reply(200, {});
  await stack.stop();
  expect(faults.received().map((request) => [request.path, request.headers['x-proofless-department']])).toEqual([['/audit/witness', 'residence']]);
  const keys = transportEnv();
  const env = { PROOFLESS_GATEWAY_KEYS_FILE: keys.PROOFLESS_GATEWAY_KEYS_FILE, PROOFLESS_DEPARTMENT_KEYS_FILE: keys.PROOFLESS_DEPARTMENT_KEYS_FILE };
  const exported = runScript('audit-receipt', { dataDir: fixture.dataDir, env }, [requestId]);
  expect({ status: exported.status, stderr: exported.stderr }).toEqual({ status: 0, stderr: '' });
  const file = path.join(fixture.dataDir, 'receipt.json');
  writeFileSync(file, exported.stdout);
  const verified = runScript('audit-verify-receipt', { dataDir: fixture.dataDir, env }, [file]);
  const lines = verified.stdout.trim().split('\n');
  expect({ status: verified.status, last: lines.at(-1), failed: lines.filter((line) => !line.startsWith('ok: ') && line !== `${file}: verified`) }).toEqual({ status: 0, last: `${file}: verified`, failed: [] });
  expect(lines.filter((line) => line.includes('household\'s receipt verifies'))).toEqual([expect.stringMatching(/^ok: record \d+ of chain test-[0-9a-f-]+: call 1 to household: household's receipt verifies: it answered with status 200 and logged it as record \d+ of chain household:\S+ at \S+$/)]);
  // Started again for afterAll, which stops it.
  stack = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_RESIDENCE_URL: faults.url, PROOFLESS_CACHE: 'off' } });
});
