import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse, print } from 'graphql';
import { Pool } from 'pg';
import { Agent, request } from 'undici';
import { CHECKPOINT_HEADER, RECEIPT_HEADER, WITNESS_PATH } from '../audit/exchange';
import type { StoredRecord } from '../audit/entry';
import { asReceipt, checkReceipt, decodeHeaderValue, sha256Hex } from '../audit/receipt';
import { openPostgresAuditStore } from '../audit/postgres-store';
import { checkCheckpointSignature, keyIdOf, loadPublicKey, signCheckpoint, trustedKeys } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import type { SignedCheckpoint } from '../audit/store';
import { verifyChains } from '../audit/verify';
import type { AssertedCaller } from '../lib/asserted-caller';
import { encodeAssertedCaller } from '../lib/asserted-caller';
import { ensureDevelopmentSigningKey, loadTrustList } from '../lib/trust-list';
import { LI_NA, WANG_XIUYING, writeFixtureRegistries, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { TEST_DATABASE_URL } from './helpers/audit-stores';
import { spawnDepartment, type DepartmentProcess } from './helpers/department-process';
import {
  callDepartmentAsGateway,
  mutualTlsAgent,
  mutualTlsAgentOptions,
  sendSignedAsGateway,
  testDepartmentKeyFile,
  testDepartmentKeysFile,
  testSigningKey,
  type SignedCallAnswer,
} from './helpers/federation-security';

/**
 * Issue 18, the department's side: every department keeps its own access log, one record
 * per request it answered or refused, durable before the answer leaves, and signs a
 * receipt for every answer to a request the gateway signed. Each test meets a real
 * department process, as `npm start` runs it, over its own SQLite access log.
 */
const HOUSING_ITEM = '330100-ZJ-0001';
const CASE = 'ZJ-2026-0007';
const officer: AssertedCaller = { application: 'window-app', officer: 'officer-7', role: 'service', serviceItems: [HOUSING_ITEM], scopes: [] };
const purpose = { 'x-service-item': HOUSING_ITEM, 'x-case-number': CASE };
const ANSWERED = `{ citizen(idNumber: "${ZHANG_WEI}") { household { members { citizen { idNumber } } } } }`;
const BEYOND_PURPOSE = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name ethnicity } } }`;
const HEX_64 = /^[0-9a-f]{64}$/;
const CHAIN_ID = `household:${os.hostname().replace(/[^A-Za-z0-9._:-]/g, '-')}`.slice(0, 128);

const accessLogFile = (dataDir: string) => path.join(dataDir, 'access-log', 'household.sqlite');

/** Every record of the household department's chain, in order, read from its store as an auditor would. */
async function recordsOf(dataDir: string): Promise<StoredRecord[]> {
  const store = await openSqliteAuditStore(accessLogFile(dataDir), { mustExist: true });
  try {
    return await store.readChain(CHAIN_ID, 0, 100000);
  } finally {
    await store.close();
  }
}

async function verifiedChains(dataDir: string) {
  const store = await openSqliteAuditStore(accessLogFile(dataDir), { mustExist: true });
  try {
    return await verifyChains(store, [loadPublicKey(testDepartmentKeyFile('household'))]);
  } finally {
    await store.close();
  }
}

function call(department: DepartmentProcess, query: string, requestId: string, agent?: Agent): Promise<SignedCallAnswer> {
  return callDepartmentAsGateway(department.url, 'household', { query, caller: officer, headers: { ...purpose, 'x-request-id': requestId } }, agent);
}

/** An unsigned POST, as whoever reached the port with the gateway's certificate but not its key. */
async function unsigned(url: string, body: string, requestId: string) {
  const response = await request(url, {
    method: 'POST',
    dispatcher: mutualTlsAgent('household'),
    headers: { 'content-type': 'application/json', 'x-proofless-department': 'household', 'x-request-id': requestId, 'x-proofless-caller': encodeAssertedCaller(officer), ...purpose },
    body,
  });
  const text = await response.body.text();
  return { status: response.statusCode, body: JSON.parse(text), text, headers: response.headers };
}

/** The receipt an answer carries, decoded, or null. */
function receiptOf(answer: { headers: Record<string, string | string[] | undefined> }) {
  return asReceipt(decodeHeaderValue(answer.headers[RECEIPT_HEADER] as string | undefined));
}

const theRecord = (records: StoredRecord[], requestId: string) => records.filter((record) => record.requestId === requestId);

const chained = {
  chainId: CHAIN_ID,
  sequence: expect.any(Number),
  previousHash: expect.stringMatching(HEX_64),
  hash: expect.stringMatching(HEX_64),
  time: expect.any(String),
  latencyMs: expect.any(Number),
  requests: 1,
};

describe('a department whose access log cannot be written releases nothing', () => {
  let city: ReturnType<typeof writeFixtureRegistries>;
  let household: DepartmentProcess;
  let database: Database.Database;

  beforeAll(async () => {
    city = writeFixtureRegistries();
    // Refusals of unverified requests are recorded together per window: a short one, and the tests wait for its log line.
    household = await spawnDepartment('household', city.dataDir, { PROOFLESS_ACCESS_LOG_REFUSAL_WINDOW_MS: '100' });
    database = new Database(accessLogFile(city.dataDir));
    database.exec(`CREATE TRIGGER refuse_records BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`);
  });

  afterAll(async () => {
    database?.close();
    await household?.stop();
    city?.remove();
  });

  const unavailable = {
    status: 503,
    body: { errors: [{ message: 'the department cannot write its access log, so it releases nothing: retry later', extensions: { code: 'DEPARTMENT_LOG_UNAVAILABLE' } }] },
  };

  test('an answer it may give is replaced, whole, by 503 DEPARTMENT_LOG_UNAVAILABLE without a receipt, and the reason is logged', async () => {
    const answer = await call(household, ANSWERED, 'req-log-down-answer');
    expect({ status: answer.status, body: answer.body, receipt: answer.headers[RECEIPT_HEADER], checkpoint: answer.headers[CHECKPOINT_HEADER] }).toEqual({ ...unavailable, receipt: undefined, checkpoint: undefined });
    expect(answer.text).not.toContain(LI_NA);
    expect(JSON.parse(await household.lineMatching(/req-log-down-answer/))).toMatchObject({
      level: 'error',
      requestId: 'req-log-down-answer',
      code: 'DEPARTMENT_LOG_UNAVAILABLE',
      msg: 'household: cannot write its access log; answered 503 and released nothing',
    });
  });

  test('a refusal of a verified request too; a refusal of an unverified one released nothing and does not wait for its record, whose loss is logged', async () => {
    const unverified = await unsigned(household.url, JSON.stringify({ query: ANSWERED }), 'req-log-down-unsigned');
    expect({ status: unverified.status, body: unverified.body }).toEqual({
      status: 401,
      body: { errors: [{ message: 'the request carries no Signature-Input and Signature', extensions: { code: 'SIGNATURE_MISSING' } }] },
    });
    expect(JSON.parse(await household.lineMatching(/"firstRequestId":"req-log-down-unsigned"/))).toMatchObject({
      level: 'error',
      firstRequestId: 'req-log-down-unsigned',
      requests: 1,
      errorCodes: ['SIGNATURE_MISSING'],
      code: 'DEPARTMENT_LOG_UNAVAILABLE',
      msg: 'household: cannot write its access log; the record of refusals of unverified requests is lost (they released nothing)',
    });
    const refused = await call(household, BEYOND_PURPOSE, 'req-log-down-refused');
    expect({ status: refused.status, body: refused.body, receipt: refused.headers[RECEIPT_HEADER] }).toEqual({ ...unavailable, receipt: undefined });
  });

  test('a checkpoint sent to witness is not acknowledged', async () => {
    const witness = await sendSignedAsGateway(household.url.replace('/graphql', WITNESS_PATH), { 'content-type': 'application/json', 'x-proofless-department': 'household', 'x-request-id': 'req-log-down-witness' }, JSON.stringify(gatewayCheckpoint()), mutualTlsAgent('household'));
    expect({ status: witness.status, body: witness.body, receipt: witness.headers[RECEIPT_HEADER] }).toEqual({ ...unavailable, receipt: undefined });
  });

  test('once the store takes records again, so does the department, and nothing was recorded meanwhile', async () => {
    database.exec('DROP TRIGGER refuse_records');
    const answer = await call(household, ANSWERED, 'req-log-back');
    expect(answer.status).toBe(200);
    expect((await recordsOf(city.dataDir)).map((record) => record.requestId)).toEqual(['req-log-back']);
  });
});

/** A checkpoint of the gateway's chain, signed by a key of its own: the department witnesses it without checking it. */
function gatewayCheckpoint(): SignedCheckpoint {
  const { privateKey } = require('node:crypto').generateKeyPairSync('ed25519');
  return signCheckpoint({ chainId: 'gateway-test', sequence: 7, hash: 'a'.repeat(64), time: '2026-01-15T09:00:00.000Z', previous: { sequence: 3, digest: 'b'.repeat(64) } }, { privateKey, keyId: 'c'.repeat(64) });
}

describe('one record per request, with every field, and a receipt that verifies', () => {
  let city: ReturnType<typeof writeFixtureRegistries>;
  let household: DepartmentProcess;
  const trustList = () => loadTrustList(testDepartmentKeysFile());

  beforeAll(async () => {
    city = writeFixtureRegistries();
    household = await spawnDepartment('household', city.dataDir, { PROOFLESS_ACCESS_LOG_REFUSAL_WINDOW_MS: '100' });
  });

  afterAll(async () => {
    await household?.stop();
    city?.remove();
  });

  /** Waits until the aggregate record of unverified refusals that `requestId` opened is written (its log line), then reads the records. */
  const recordsAfterAggregate = async (requestId: string) => {
    await household.lineMatching(new RegExp(`"firstRequestId":"${requestId}"`));
    return recordsOf(city.dataDir);
  };

  const caller = { application: 'window-app', officer: 'officer-7', role: 'service', serviceItem: HOUSING_ITEM, caseNumber: CASE };
  const evidence = (answer: SignedCallAnswer, query: string, status: number) => ({
    kind: 'department-answer',
    department: 'household',
    gatewayKeyId: testSigningKey().keyId,
    requestDigest: sha256Hex(answer.signatureBase),
    bodyDigest: sha256Hex(JSON.stringify({ query })),
    answerDigest: sha256Hex(answer.text),
    status,
  });

  test('an answered request: who, why, what it disclosed and of whom, and the digests of both messages; its receipt is the department\'s signed word on it', async () => {
    const answer = await call(household, ANSWERED, 'req-answered-0001');
    expect(answer.status).toBe(200);
    const records = theRecord(await recordsOf(city.dataDir), 'req-answered-0001');
    expect(records).toEqual([{
      ...chained,
      requestId: 'req-answered-0001',
      ...caller,
      operationName: null,
      documentHash: sha256Hex(print(parse(ANSWERED))),
      coordinates: ['Citizen.household', 'Citizen.idNumber', 'Household.members', 'HouseholdMember.citizen', 'Query.citizen'],
      citizens: [LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN].sort(),
      departments: ['household'],
      outcome: 'ok',
      errorCodes: [],
      exchange: evidence(answer, ANSWERED, 200),
    }]);
    const receipt = receiptOf(answer);
    expect(receipt).toEqual({
      department: 'household',
      requestDigest: sha256Hex(answer.signatureBase),
      answerDigest: sha256Hex(answer.text),
      status: 200,
      chainId: CHAIN_ID,
      sequence: records[0].sequence,
      time: expect.any(String),
      keyId: keyIdOf(loadPublicKey(testDepartmentKeyFile('household'))),
      signature: expect.any(String),
    });
    expect(checkReceipt(receipt!, { department: 'household', requestDigest: sha256Hex(answer.signatureBase), answerDigest: sha256Hex(answer.text), status: 200, now: Date.now() }, trustList())).toEqual({ ok: true });
    // The receipt vouches for this answer and no other: one byte changed and it no longer does.
    expect(checkReceipt(receipt!, { department: 'household', requestDigest: sha256Hex(answer.signatureBase), answerDigest: sha256Hex(`${answer.text} `), status: 200 }, trustList()))
      .toEqual({ ok: false, reason: 'the receipt is for another answer: the answer\'s digest differs' });
  });

  test('a request refused by the department\'s purpose check: recorded as refused, the citizen asked about and nothing disclosed, with its receipt', async () => {
    const answer = await call(household, BEYOND_PURPOSE, 'req-refused-0001');
    expect({ status: answer.status, code: answer.body.errors[0].extensions.code, data: answer.body.data }).toEqual({ status: 403, code: 'FORBIDDEN', data: undefined });
    const records = theRecord(await recordsOf(city.dataDir), 'req-refused-0001');
    expect(records).toEqual([{
      ...chained,
      requestId: 'req-refused-0001',
      ...caller,
      operationName: null,
      documentHash: sha256Hex(print(parse(BEYOND_PURPOSE))),
      coordinates: [],
      citizens: [ZHANG_WEI],
      departments: ['household'],
      outcome: 'refused',
      errorCodes: ['FORBIDDEN'],
      exchange: evidence(answer, BEYOND_PURPOSE, 403),
    }]);
    const receipt = receiptOf(answer);
    expect(receipt?.sequence).toBe(records[0].sequence);
    expect(checkReceipt(receipt!, { department: 'household', requestDigest: sha256Hex(answer.signatureBase), answerDigest: sha256Hex(answer.text), status: 403 }, trustList())).toEqual({ ok: true });
  });

  test('a request with no signature: recorded as refused, in aggregate (here alone in its window: requests 1), with no caller or purpose (nobody vouched for the headers that named them), and no receipt', async () => {
    const body = JSON.stringify({ query: ANSWERED });
    const answer = await unsigned(household.url, body, 'req-unsigned-0001');
    expect({ status: answer.status, body: answer.body, receipt: answer.headers[RECEIPT_HEADER] }).toEqual({
      status: 401,
      body: { errors: [{ message: 'the request carries no Signature-Input and Signature', extensions: { code: 'SIGNATURE_MISSING' } }] },
      receipt: undefined,
    });
    expect(theRecord(await recordsAfterAggregate('req-unsigned-0001'), 'req-unsigned-0001')).toEqual([{
      ...chained,
      requestId: 'req-unsigned-0001',
      application: null,
      officer: null,
      role: null,
      serviceItem: null,
      caseNumber: null,
      operationName: null,
      documentHash: null,
      coordinates: [],
      citizens: [],
      departments: ['household'],
      outcome: 'refused',
      errorCodes: ['SIGNATURE_MISSING'],
      exchange: { kind: 'department-answer', department: 'household', gatewayKeyId: null, requestDigest: null, bodyDigest: sha256Hex(body), answerDigest: sha256Hex(answer.text), status: 401 },
    }]);
  });

  test('a body too large to read: recorded as refused, with no body digest (it was never read whole)', async () => {
    const answer = await unsigned(household.url, JSON.stringify({ query: `{ __typename }`, padding: 'x'.repeat(200_000) }), 'req-too-large-0001');
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 413,
      body: { errors: [{ message: 'request body must be at most 102400 bytes, got 200039 or more', extensions: { code: 'REQUEST_TOO_LARGE' } }] },
    });
    expect(theRecord(await recordsAfterAggregate('req-too-large-0001'), 'req-too-large-0001')).toEqual([expect.objectContaining({
      requests: 1,
      outcome: 'refused',
      errorCodes: ['REQUEST_TOO_LARGE'],
      application: null,
      exchange: { kind: 'department-answer', department: 'household', gatewayKeyId: null, requestDigest: null, bodyDigest: null, answerDigest: sha256Hex(answer.text), status: 413 },
    })]);
  });

  test('the witness route: an unsigned checkpoint is refused, recorded as a refusal, and nothing is witnessed', async () => {
    const witnessUrl = household.url.replace('/graphql', WITNESS_PATH);
    const body = JSON.stringify(gatewayCheckpoint());
    const answer = await unsigned(witnessUrl, body, 'req-witness-unsigned');
    expect({ status: answer.status, body: answer.body, receipt: answer.headers[RECEIPT_HEADER] }).toEqual({
      status: 401,
      body: { errors: [{ message: 'the request carries no Signature-Input and Signature', extensions: { code: 'SIGNATURE_MISSING' } }] },
      receipt: undefined,
    });
    const records = theRecord(await recordsAfterAggregate('req-witness-unsigned'), 'req-witness-unsigned');
    expect(records).toEqual([expect.objectContaining({
      requests: 1,
      outcome: 'refused',
      errorCodes: ['SIGNATURE_MISSING'],
      application: null,
      exchange: { kind: 'department-answer', department: 'household', gatewayKeyId: null, requestDigest: null, bodyDigest: sha256Hex(body), answerDigest: sha256Hex(answer.text), status: 401 },
    })]);
    expect((await recordsOf(city.dataDir)).filter((record) => record.exchange?.kind === 'witnessed-checkpoint')).toEqual([]);
  });

  test('the witness route: a signed checkpoint is recorded as the gateway sent it, and acknowledged with a receipt', async () => {
    const witnessUrl = household.url.replace('/graphql', WITNESS_PATH);
    const checkpoint = gatewayCheckpoint();
    const answer = await sendSignedAsGateway(witnessUrl, { 'content-type': 'application/json', 'x-proofless-department': 'household', 'x-request-id': 'req-witness-signed' }, JSON.stringify(checkpoint), mutualTlsAgent('household'));
    expect({ status: answer.status, text: answer.text }).toEqual({ status: 200, text: '{"witnessed":true}' });
    const records = theRecord(await recordsOf(city.dataDir), 'req-witness-signed');
    expect(records).toEqual([{
      ...chained,
      requestId: 'req-witness-signed',
      application: null,
      officer: null,
      role: null,
      serviceItem: null,
      caseNumber: null,
      operationName: null,
      documentHash: null,
      coordinates: [],
      citizens: [],
      departments: ['household'],
      outcome: 'ok',
      errorCodes: [],
      exchange: { kind: 'witnessed-checkpoint', gatewayKeyId: testSigningKey().keyId, checkpoint },
    }]);
    const receipt = receiptOf(answer);
    expect(receipt?.sequence).toBe(records[0].sequence);
    expect(checkReceipt(receipt!, { department: 'household', requestDigest: sha256Hex(answer.signatureBase), answerDigest: sha256Hex('{"witnessed":true}'), status: 200 }, trustList())).toEqual({ ok: true });
  });

  test('the witness route: a signed body that is not a checkpoint is refused 400, recorded, and witnesses nothing', async () => {
    const witnessUrl = household.url.replace('/graphql', WITNESS_PATH);
    const answer = await sendSignedAsGateway(witnessUrl, { 'content-type': 'application/json', 'x-proofless-department': 'household', 'x-request-id': 'req-witness-garbage' }, JSON.stringify({ chainId: 'gateway-test' }), mutualTlsAgent('household'));
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 400,
      body: { errors: [{ message: 'the witness route takes a POST of one signed checkpoint of the gateway\'s chain as JSON: chainId, sequence, hash, time, previous, keyId, signature', extensions: { code: 'BAD_REQUEST' } }] },
    });
    expect(theRecord(await recordsOf(city.dataDir), 'req-witness-garbage')).toEqual([expect.objectContaining({ outcome: 'refused', errorCodes: ['BAD_REQUEST'], exchange: expect.objectContaining({ kind: 'department-answer', gatewayKeyId: testSigningKey().keyId, status: 400 }) })]);
    expect(checkReceipt(receiptOf(answer)!, { department: 'household', requestDigest: sha256Hex(answer.signatureBase), answerDigest: sha256Hex(answer.text), status: 400 }, trustList())).toEqual({ ok: true });
  });

  test('the department\'s store verifies with its public key alone, one record per request', async () => {
    const records = await recordsOf(city.dataDir);
    expect(records.map((record) => record.requestId)).toEqual(['req-answered-0001', 'req-refused-0001', 'req-unsigned-0001', 'req-too-large-0001', 'req-witness-unsigned', 'req-witness-signed', 'req-witness-garbage']);
    expect(await verifiedChains(city.dataDir)).toEqual([{ chainId: CHAIN_ID, ok: true, records: 7, lastSequence: 7, lastCheckpoint: null }]);
  });
});

describe('the latest checkpoint travels once to each gateway key', () => {
  let city: ReturnType<typeof writeFixtureRegistries>;
  let keysDir: string;
  let household: DepartmentProcess | undefined;
  let keyA: { keyId: string; keyFile: string };
  let keyB: { keyId: string; keyFile: string };
  const departmentKeys = () => trustedKeys([loadPublicKey(testDepartmentKeyFile('household'))]);

  beforeAll(() => {
    city = writeFixtureRegistries();
    // Two gateway keys this department trusts, in a trust list of its own: two gateway instances.
    keysDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-two-gateways-'));
    keyA = ensureDevelopmentSigningKey(keysDir, 'gateway');
    keyB = ensureDevelopmentSigningKey(keysDir, 'gateway-b');
  });

  afterAll(async () => {
    await household?.stop();
    city?.remove();
    rmSync(keysDir, { recursive: true, force: true });
  });

  const start = () => spawnDepartment('household', city.dataDir, { PROOFLESS_GATEWAY_KEYS_FILE: path.join(keysDir, 'gateway-keys.json') });
  const ask = (key: { keyId: string; keyFile: string }, requestId: string) => sendSignedAsGateway(
    household!.url,
    { 'content-type': 'application/json', 'x-proofless-department': 'household', 'x-request-id': requestId, 'x-proofless-caller': encodeAssertedCaller(officer), ...purpose },
    JSON.stringify({ query: ANSWERED }),
    mutualTlsAgent('household'),
    key,
  );
  const checkpointOf = (answer: SignedCallAnswer) => decodeHeaderValue(answer.headers[CHECKPOINT_HEADER] as string | undefined) as SignedCheckpoint | null;

  test('the opening checkpoint goes with the first answer to each key, and with no other', async () => {
    household = await start();
    const firstToA = checkpointOf(await ask(keyA, 'req-key-a-0001'));
    expect(firstToA).toEqual({ chainId: CHAIN_ID, sequence: 0, hash: '0'.repeat(64), time: expect.any(String), previous: null, keyId: keyIdOf(loadPublicKey(testDepartmentKeyFile('household'))), signature: expect.any(String) });
    expect(checkCheckpointSignature(firstToA!, departmentKeys())).toBe('valid');
    expect(checkpointOf(await ask(keyA, 'req-key-a-0002'))).toBeNull();
    expect(checkpointOf(await ask(keyB, 'req-key-b-0001'))).toEqual(firstToA);
    expect(checkpointOf(await ask(keyB, 'req-key-b-0002'))).toBeNull();
  });

  test('after the next checkpoint (the one a stop signs), its first answer to each key carries that one', async () => {
    await household!.stop();
    household = await start();
    const firstToB = checkpointOf(await ask(keyB, 'req-key-b-0003'));
    expect(firstToB).toEqual(expect.objectContaining({ chainId: CHAIN_ID, sequence: 4 }));
    expect(checkCheckpointSignature(firstToB!, departmentKeys())).toBe('valid');
    expect(checkpointOf(await ask(keyB, 'req-key-b-0004'))).toBeNull();
    expect(checkpointOf(await ask(keyA, 'req-key-a-0003'))).toEqual(firstToB);
    await household.stop();
    household = undefined;
    expect(await verifiedChains(city.dataDir)).toEqual([{ chainId: CHAIN_ID, ok: true, records: 7, lastSequence: 7, lastCheckpoint: 7 }]);
  });
});

describe('a department killed (SIGKILL) under load', () => {
  let city: ReturnType<typeof writeFixtureRegistries>;

  beforeAll(() => {
    city = writeFixtureRegistries();
  });

  afterAll(() => city?.remove());

  test('every record its log holds verifies after restart, and every answer that left with a receipt is in the log where the receipt says', async () => {
    const household = await spawnDepartment('household', city.dataDir);
    const killed = once(household.child, 'exit');
    const receipted: SignedCallAnswer[] = [];
    const KILL_AFTER = 40;
    // Sixteen connections, as a loaded gateway keeps them, so records are written in groups when it dies.
    const agent = new Agent({ connect: mutualTlsAgentOptions('household'), connections: 16 });
    const calls = Array.from({ length: 400 }, (_, index) => call(household, ANSWERED, `req-load-${String(index).padStart(4, '0')}`, agent).then((answer) => {
      if (receiptOf(answer)) receipted.push(answer);
      if (receipted.length === KILL_AFTER) household.child.kill('SIGKILL');
      return answer;
    }));
    const settled = await Promise.allSettled(calls);
    await killed;
    await agent.close();
    // Some calls were still in flight when it died: they got no answer at all.
    expect(settled.some((result) => result.status === 'rejected')).toBe(true);

    const restarted = await spawnDepartment('household', city.dataDir);
    expect((await call(restarted, ANSWERED, 'req-after-restart')).status).toBe(200);
    await restarted.stop();

    const [verification] = await verifiedChains(city.dataDir);
    expect(verification).toEqual({ chainId: CHAIN_ID, ok: true, records: expect.any(Number), lastSequence: expect.any(Number), lastCheckpoint: expect.any(Number) });
    const records = await recordsOf(city.dataDir);
    const bySequence = new Map(records.map((record) => [record.sequence, record]));
    const missing = receipted.filter((answer) => {
      const receipt = receiptOf(answer)!;
      const record = bySequence.get(receipt.sequence);
      return !(record && receipt.chainId === CHAIN_ID && record.exchange?.kind === 'department-answer' && record.exchange.answerDigest === receipt.answerDigest
        && record.exchange.requestDigest === sha256Hex(answer.signatureBase) && receipt.answerDigest === sha256Hex(answer.text));
    });
    expect({ receipted: receipted.length >= KILL_AFTER, missing }).toEqual({ receipted: true, missing: [] });
  });
});

describe('an access log in PostgreSQL', () => {
  const schema = `access_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  let city: ReturnType<typeof writeFixtureRegistries>;
  let household: DepartmentProcess;
  const direct = new Pool({ connectionString: TEST_DATABASE_URL, max: 1 });

  beforeAll(async () => {
    city = writeFixtureRegistries();
    household = await spawnDepartment('household', city.dataDir, { PROOFLESS_ACCESS_LOG_DATABASE_URL: TEST_DATABASE_URL, PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA: schema });
  });

  afterAll(async () => {
    await household?.stop();
    await direct.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await direct.end();
    city?.remove();
  });

  test('records each answer in the department\'s own schema, with the receipt\'s sequence; and when the database refuses records, releases nothing', async () => {
    const answer = await call(household, ANSWERED, 'req-postgres-0001');
    expect(answer.status).toBe(200);
    const store = await openPostgresAuditStore(new Pool({ connectionString: TEST_DATABASE_URL, max: 1 }), { schema, mustExist: true });
    try {
      const records = await store.readChain(CHAIN_ID, 0, 100);
      expect(records.map((record) => [record.requestId, record.sequence, record.exchange])).toEqual([['req-postgres-0001', receiptOf(answer)?.sequence, expect.objectContaining({ answerDigest: sha256Hex(answer.text) })]]);
      expect(await verifyChains(store, [loadPublicKey(testDepartmentKeyFile('household'))])).toEqual([{ chainId: CHAIN_ID, ok: true, records: 1, lastSequence: 1, lastCheckpoint: null }]);
    } finally {
      await store.close();
    }

    await direct.query(`CREATE FUNCTION "${schema}".refuse_records() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$`);
    await direct.query(`CREATE TRIGGER refuse_records BEFORE INSERT ON "${schema}".audit_record FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_records()`);
    const refused = await call(household, ANSWERED, 'req-postgres-0002');
    expect({ status: refused.status, body: refused.body, receipt: refused.headers[RECEIPT_HEADER] }).toEqual({
      status: 503,
      body: { errors: [{ message: 'the department cannot write its access log, so it releases nothing: retry later', extensions: { code: 'DEPARTMENT_LOG_UNAVAILABLE' } }] },
      receipt: undefined,
    });
  });
});
