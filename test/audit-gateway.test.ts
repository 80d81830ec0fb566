import { createHash, generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parse, print } from 'graphql';
import { recordHash } from '../audit/canonical';
import type { StoredRecord } from '../audit/entry';
import type { GatewayCallsEvidence } from '../audit/exchange';
import { sha256Hex } from '../audit/receipt';
import { loadPublicKey } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import { verifyChains } from '../audit/verify';
import { readWitnesses } from '../audit/witness';
import { createLogger } from '../lib/logger';
import { CHEN_QIANG, LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { writeFixtureRegistries } from './fixtures/registries';
import { testDepartmentKey } from './helpers/receipts';
import { startStack, useFixtureStack } from './helpers/stack';

/**
 * The audit record of every operation through the gateway, as an auditor reads it:
 * who, when, for which case, what could be seen and of whom, and how it ended.
 */
const city = useFixtureStack();

const ENROLMENT = '330100-JY-0001';

async function enrolmentHeaders(extra: Record<string, string> = {}) {
  return {
    authorization: `Bearer ${await city.stack.token({ serviceItems: [ENROLMENT], scopes: [], officer: 'officer-042' })}`,
    'x-service-item': ENROLMENT,
    'x-case-number': 'JY-2026-000777',
    ...extra,
  };
}

/** The record the gateway wrote for the request that answered with this `x-request-id`. */
async function recordOf(requestId: string | null): Promise<StoredRecord> {
  expect(requestId).toEqual(expect.any(String));
  const chains = await city.stack.audit.store.listChains();
  for (const chainId of chains) {
    const records = await city.stack.audit.store.readChain(chainId, 0, 100000);
    const found = records.find((record) => record.requestId === requestId);
    if (found) return found;
  }
  throw new Error(`no audit record for request ${requestId}`);
}

const hashOf = (query: string) => createHash('sha256').update(print(parse(query))).digest('hex');

test('an answered operation: caller, purpose, document, what could be seen, of whom (household members included), departments', async () => {
  const query = `query Enrolment($id: ID!) { citizen(idNumber: $id) { identity { name } household { members { relation citizen { identity { name } } } } } }`;
  const response = await city.stack.query(query, { id: ZHANG_ZIHAN }, await enrolmentHeaders());
  expect(response.status).toBe(200);
  // The caller gets exactly what it asked for: the ID numbers the audit added are gone.
  expect(JSON.stringify(response.body)).not.toContain('proofless_audit');
  expect(response.body.data.citizen.household.members[0]).toEqual({ relation: 'HEAD', citizen: { identity: { name: '张伟' } } });
  const requestId = response.headers.get('x-request-id');
  const record = await recordOf(requestId);
  const [call] = (record.exchange as GatewayCallsEvidence).calls;
  expect(record).toEqual({
    chainId: expect.stringMatching(/^test-/),
    sequence: expect.any(Number),
    previousHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    time: expect.any(String),
    requestId: response.headers.get('x-request-id'),
    application: 'test-window',
    officer: 'officer-042',
    role: 'service',
    serviceItem: ENROLMENT,
    caseNumber: 'JY-2026-000777',
    operationName: 'Enrolment',
    documentHash: hashOf(query),
    coordinates: ['Citizen.household', 'Citizen.identity', 'Household.members', 'HouseholdMember.citizen', 'HouseholdMember.relation', 'Identity.name', 'Query.citizen'],
    citizens: [LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN].sort(),
    departments: ['household'],
    outcome: 'ok',
    errorCodes: [],
    exchange: {
      kind: 'gateway-calls',
      // One call, as signed: its base names this request and purpose; the household department's receipt for it.
      calls: [{
        department: 'household',
        signatureBase: expect.stringMatching(new RegExp(`^"@method": POST\n"@target-uri": https://127\\.0\\.0\\.1:\\d+/graphql\n"content-digest": sha-256=:[A-Za-z0-9+/=]+:\n"content-type": application/json\n"x-request-id": ${requestId}\n"x-service-item": ${ENROLMENT}\n"x-case-number": JY-2026-000777\n"x-proofless-caller": [A-Za-z0-9_-]+\n"x-proofless-department": household\n"@signature-params": \\(.*\\);created=\\d+;expires=\\d+;nonce="[A-Za-z0-9_-]+";keyid="[^"]+";alg="ed25519";tag="proofless"$`)),
        signatureInput: expect.stringMatching(/^proofless=\("@method" "@target-uri" .*;tag="proofless"$/),
        signature: expect.stringMatching(/^proofless=:[A-Za-z0-9+/]{86}==:$/),
        receipt: {
          department: 'household',
          requestDigest: sha256Hex(call.signatureBase),
          answerDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
          status: 200,
          chainId: expect.any(String),
          sequence: expect.any(Number),
          time: expect.any(String),
          keyId: testDepartmentKey('household').keyId,
          signature: expect.any(String),
        },
        failure: null,
      }],
      // Whether a checkpoint came with this answer depends on when the household last signed one: checked below.
      departmentCheckpoints: expect.any(Array),
    },
    latencyMs: expect.any(Number),
    requests: 1,
  });
  // The signature base kept is the one signed: it names exactly what the Signature-Input does.
  expect(call.signatureBase.endsWith(`"@signature-params": ${call.signatureInput.slice('proofless='.length)}`)).toBe(true);
  // Every department checkpoint kept is the household's, of the chain its receipt names.
  expect((record.exchange as GatewayCallsEvidence).departmentCheckpoints.every((checkpoint) => checkpoint.chainId === call.receipt?.chainId)).toBe(true);
});

test('citizens reached through aliases, inline and named fragments (one spread again below itself) are recorded, and no audit alias is left in the answer', async () => {
  const query = `query Kin($id: ID!) {
    child: citizen(idNumber: $id) { ...Kin household { members { citizen { ...Kin } } } }
  }
  fragment Kin on Citizen { identity { name } household { ... on Household { people: members { citizen { id: idNumber } } } } }`;
  const response = await city.stack.query(query, { id: ZHANG_ZIHAN }, await enrolmentHeaders());
  expect(response.status).toBe(200);
  expect(JSON.stringify(response.body)).not.toContain('proofless_audit');
  const { child } = response.body.data;
  expect(Object.keys(child)).toEqual(['identity', 'household']);
  expect(Object.keys(child.household)).toEqual(['people', 'members']);
  expect(child.household.members[0].citizen).toEqual({ identity: { name: '张伟' }, household: { people: expect.any(Array) } });
  expect(child.household.members[0].citizen.household.people[0]).toEqual({ citizen: { id: ZHANG_WEI } });
  const record = await recordOf(response.headers.get('x-request-id'));
  expect(record.citizens).toEqual([LI_NA, WANG_XIUYING, ZHANG_WEI, ZHANG_ZIHAN].sort());
});

test('a refused operation is recorded with nothing disclosed and no department called', async () => {
  const response = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { licences { number } } }`, undefined, await enrolmentHeaders());
  expect(response.status).toBe(403);
  expect(await recordOf(response.headers.get('x-request-id'))).toMatchObject({
    outcome: 'refused', errorCodes: ['FORBIDDEN'], coordinates: [], departments: [], citizens: [ZHANG_WEI], serviceItem: ENROLMENT, officer: 'officer-042',
  });
});

test('a bad token is recorded too, with the purpose it claimed, under the caller\'s own request ID', async () => {
  const response = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, undefined, {
    authorization: 'Bearer aaa.bbb.ccc',
    'x-service-item': ENROLMENT,
    'x-case-number': 'JY-2026-000999',
    'x-request-id': 'window-7f3a9c21-0001',
  });
  expect(response.status).toBe(401);
  expect(await recordOf('window-7f3a9c21-0001')).toMatchObject({
    outcome: 'refused', errorCodes: ['UNAUTHENTICATED'], application: null, officer: null, serviceItem: ENROLMENT, caseNumber: 'JY-2026-000999',
  });
});

test.each([
  ['without a token', {}],
  ['with a bad token', { authorization: 'Bearer aaa.bbb.ccc' }],
])('purpose headers %s are stored only in their own alphabet and length: a caller cannot write text of its choosing into the log', async (_case, extra) => {
  const requestId = `window-${Date.now()}-${_case.length}`;
  const response = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, undefined, {
    ...extra,
    'x-service-item': '<img src=x onerror=alert(1)> 330100-JY-0001',
    'x-case-number': `${'A'.repeat(5000)}`,
    'x-request-id': requestId,
  });
  expect(response.status).toBe(401);
  expect(await recordOf(requestId)).toMatchObject({
    outcome: 'refused',
    serviceItem: 'malformed:imgsrcxonerroralert1330100-JY-00',
    caseNumber: `malformed:${'A'.repeat(32)}`,
  });
});

test('well-formed purpose headers of a refused request are stored as sent', async () => {
  const response = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`, undefined, { 'x-service-item': '330100-XX-9999', 'x-case-number': 'Case-2026-01' });
  expect(await recordOf(response.headers.get('x-request-id'))).toMatchObject({ outcome: 'refused', serviceItem: '330100-XX-9999', caseNumber: 'Case-2026-01' });
});

test('a request that reads nothing personal, with no token and no purpose, leaves no record', async () => {
  const before = await countRecords();
  expect((await city.stack.query('{ __typename }', undefined, {})).status).toBe(200);
  expect(await countRecords()).toBe(before);
});

test('fail closed: when the audit store cannot be written, no data leaves and the answer is 503 AUDIT_UNAVAILABLE', async () => {
  const db = new Database(path.join(city.dataDir, 'audit.sqlite'));
  db.exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'disk full'); END");
  try {
    const response = await city.stack.query(`{ citizen(idNumber: "${CHEN_QIANG}") { identity { name } } }`, undefined, await enrolmentHeaders());
    expect({ status: response.status, body: response.body }).toEqual({
      status: 503,
      body: { errors: [{ message: 'the audit log cannot be written; no data is released until it can', extensions: { code: 'AUDIT_UNAVAILABLE' } }] },
    });
  } finally {
    db.exec('DROP TRIGGER refuse_audit');
    db.close();
  }
  expect((await city.stack.query(`{ citizen(idNumber: "${CHEN_QIANG}") { identity { name } } }`, undefined, await enrolmentHeaders())).status).toBe(200);
});

describe('auditors', () => {
  const auditorHeaders = async () => ({ authorization: `Bearer ${await city.stack.token({ role: 'auditor', serviceItems: [], officer: 'auditor-01' })}` });

  test('find the records of one citizen, newest first, page by page; the chain verifies; their own queries are audited', async () => {
    for (const caseNumber of ['JY-2026-100001', 'JY-2026-100002', 'JY-2026-100003']) {
      await city.stack.query(`{ citizen(idNumber: "${LI_NA}") { identity { name } } }`, undefined, await enrolmentHeaders({ 'x-case-number': caseNumber }));
    }
    const headers = await auditorHeaders();
    const first = await city.stack.query(
      `query ($after: String) { auditRecords(idNumber: "${LI_NA}", serviceItem: "${ENROLMENT}", first: 2, after: $after) { records { caseNumber officer outcome citizens requests } endCursor hasNextPage } }`,
      { after: null }, headers,
    );
    expect(first.status).toBe(200);
    const firstPage = first.body.data.auditRecords;
    expect(firstPage.records.map((r: { caseNumber: string }) => r.caseNumber)).toEqual(['JY-2026-100003', 'JY-2026-100002']);
    expect(firstPage.records[0]).toEqual({ caseNumber: 'JY-2026-100003', officer: 'officer-042', outcome: 'OK', citizens: [LI_NA], requests: 1 });
    expect(firstPage.hasNextPage).toBe(true);
    const second = await city.stack.query(
      `query ($after: String) { auditRecords(idNumber: "${LI_NA}", serviceItem: "${ENROLMENT}", first: 2, after: $after) { records { caseNumber } endCursor hasNextPage } }`,
      { after: firstPage.endCursor }, headers,
    );
    expect(second.body.data.auditRecords.records[0]).toEqual({ caseNumber: 'JY-2026-100001' });

    const chains = await city.stack.query('{ auditChains { chainId ok records firstBadSequence problem } }', undefined, headers);
    expect(chains.body.data.auditChains.length).toBeGreaterThan(0);
    for (const chain of chains.body.data.auditChains) expect(chain).toMatchObject({ ok: true, firstBadSequence: null, problem: null });

    const own = await recordOf(chains.headers.get('x-request-id'));
    expect(own).toMatchObject({ role: 'auditor', officer: 'auditor-01', outcome: 'ok', coordinates: expect.arrayContaining(['Query.auditChains']), serviceItem: null });
  });

  test('a service token cannot read audit data, and an auditor token cannot read citizen data', async () => {
    city.stack.resetCounts();
    const asService = await city.stack.query('{ auditChains { chainId ok } }', undefined, await enrolmentHeaders());
    expect({ status: asService.status, body: asService.body }).toEqual({
      status: 403, body: { errors: [{ message: 'only role auditor may read audit records', extensions: { code: 'FORBIDDEN' } }] },
    });
    const asAuditor = await city.stack.query(`{ citizen(idNumber: "${LI_NA}") { identity { name } } }`, undefined, await auditorHeaders());
    expect({ status: asAuditor.status, body: asAuditor.body }).toEqual({
      status: 403, body: { errors: [{ message: 'role auditor reads audit records, never citizen data', extensions: { code: 'FORBIDDEN' } }] },
    });
    expect(city.stack.subgraphRequests).toEqual({ household: 0, residence: 0, license: 0 });
  });

  test('a malformed filter is BAD_USER_INPUT with the reason', async () => {
    const response = await city.stack.query('{ auditRecords(first: 500) { records { sequence } } }', undefined, await auditorHeaders());
    expect(response.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors[0].message).toMatch(/first/);
  });
});

async function countRecords(): Promise<number> {
  let count = 0;
  for (const chainId of await city.stack.audit.store.listChains()) count += (await city.stack.audit.store.readChain(chainId, 0, 100000)).length;
  return count;
}

test('with PostgreSQL configured, two gateway instances write to one database, each its own verifiable chain', async () => {
  const schema = `audit_gw_${Date.now().toString(36)}`;
  const env = {
    PROOFLESS_AUDIT_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
    PROOFLESS_AUDIT_DATABASE_SCHEMA: schema,
    // A witness of this database's chains, not the data folder's default, which witnesses its SQLite store.
    PROOFLESS_AUDIT_WITNESS_FILE: path.join(city.dataDir, `${schema}-witness.jsonl`),
  };
  const first = await startStack({ dataDir: city.dataDir, env });
  const second = await startStack({ dataDir: city.dataDir, env });
  try {
    const a = await first.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`);
    const b = await second.query(`{ citizen(idNumber: "${LI_NA}") { identity { name } } }`);
    expect([a.status, b.status]).toEqual([200, 200]);
    const chains = await first.audit.store.listChains();
    expect(chains.length).toBe(2);
    const citizensByChain = await Promise.all(chains.map(async (chainId) => (await first.audit.store.readChain(chainId, 0, 100)).flatMap((record) => record.citizens)));
    expect(citizensByChain.flat().sort()).toEqual([LI_NA, ZHANG_WEI].sort());
    const auditor = { authorization: `Bearer ${await first.token({ role: 'auditor', serviceItems: [] })}` };
    const status = await second.query('{ auditChains { chainId ok records } }', undefined, auditor);
    expect(status.body.data.auditChains).toEqual(expect.arrayContaining(chains.map((chainId) => expect.objectContaining({ chainId, ok: true }))));
  } finally {
    await first.stop();
    await second.stop();
    const { Client } = await import('pg');
    const client = new Client({ connectionString: env.PROOFLESS_AUDIT_DATABASE_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
});

test('auditChains reports what audit:verify reports: a chain that must exist, the citizen index, a checkpoint the witness saw', async () => {
  const fixture = writeFixtureRegistries();
  const stack = await startStack({ dataDir: fixture.dataDir, env: { PROOFLESS_AUDIT_EXPECTED_CHAINS: 'gw-decommissioned' } });
  const db = new Database(path.join(fixture.dataDir, 'audit.sqlite'));
  try {
    const headers = { authorization: `Bearer ${await stack.token({ role: 'auditor', serviceItems: [], officer: 'auditor-01' })}` };
    const chains = async () => (await stack.query('{ auditChains { chainId ok firstBadSequence problem } }', undefined, headers)).body;
    const read = await stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`);
    expect(read.status).toBe(200);
    const [own] = await stack.audit.store.listChains();
    const { sequence } = (await stack.audit.store.readChain(own, 0, 100)).find((record) => record.citizens.includes(ZHANG_WEI)) as StoredRecord;
    const missing = {
      chainId: 'gw-decommissioned', ok: false, firstBadSequence: null,
      problem: 'chain missing: the store holds no record, checkpoint or anchor of it, but PROOFLESS_AUDIT_EXPECTED_CHAINS names it',
    };
    // Sorted by chain ID: gw-... before test-...
    expect(await chains()).toEqual({ data: { auditChains: [missing, { chainId: own, ok: true, firstBadSequence: null, problem: null }] } });

    const indexed = db.prepare('SELECT * FROM audit_record_citizen WHERE id_number = ?').all(ZHANG_WEI);
    db.prepare('DELETE FROM audit_record_citizen WHERE id_number = ?').run(ZHANG_WEI);
    const hidden = await chains();
    expect(hidden).toEqual({ data: { auditChains: [
      missing, { chainId: own, ok: false, firstBadSequence: sequence, problem: `citizen index lacks 1 of record ${sequence}'s citizens` },
    ] } });
    expect(JSON.stringify(hidden)).not.toContain(ZHANG_WEI);
    const insert = db.prepare('INSERT INTO audit_record_citizen (id_number, time, chain_id, sequence) VALUES (@id_number, @time, @chain_id, @sequence)');
    for (const row of indexed) insert.run(row);

    db.prepare('DELETE FROM audit_checkpoint WHERE chain_id = ? AND sequence = 0').run(own);
    expect(await chains()).toEqual({ data: { auditChains: [
      missing,
      { chainId: own, ok: false, firstBadSequence: 0, problem: `checkpoint at 0 is missing from the store: witness ${path.join(fixture.dataDir, 'audit-witness.jsonl')} saw it` },
    ] } });
  } finally {
    db.close();
    await stack.stop();
    fixture.remove();
  }
});

test('a gateway restarted on a store whose tail was cut while it was down logs it as an error, and its next checkpoint names what was lost', async () => {
  const fixture = writeFixtureRegistries();
  const env = { PROOFLESS_AUDIT_CHAIN_ID: 'gw-restarted' };
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('gateway', { level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const file = path.join(fixture.dataDir, 'audit.sqlite');
  let after: Awaited<ReturnType<typeof startStack>> | undefined;
  try {
    const before = await startStack({ dataDir: fixture.dataDir, env, logger });
    for (const idNumber of [ZHANG_WEI, LI_NA]) expect((await before.query(`{ citizen(idNumber: "${idNumber}") { identity { name } } }`)).status).toBe(200);
    // Stopped, it checkpoints record 2 in the store and in the witness.
    await before.stop();
    const db = new Database(file);
    db.exec(`DELETE FROM audit_record WHERE sequence = 2; DELETE FROM audit_record_citizen WHERE sequence = 2;
      DELETE FROM audit_checkpoint WHERE sequence = 2`);
    db.close();
    expect(lines).toEqual([]);

    after = await startStack({ dataDir: fixture.dataDir, env, logger });
    expect(lines.map(({ level, chainId, msg }) => ({ level, chainId, msg }))).toEqual([
      {
        level: 'error', chainId: 'gw-restarted',
        msg: `SQLite ${file} lacks checkpoint 2 of audit chain gw-restarted, which the witness ${path.join(fixture.dataDir, 'audit-witness.jsonl')} holds: ` +
          'records or checkpoints were removed from the store; the next checkpoint names the lost one',
      },
      { level: 'error', chainId: 'gw-restarted', msg: `audit chain gw-restarted in SQLite ${file} ends at record 1, but its checkpoint 2 vouches for more: records were removed from the store` },
    ]);
    await after.stop();
    after = undefined;
    const store = await openSqliteAuditStore(file);
    try {
      expect(await verifyChains(store, [loadPublicKey(path.join(fixture.dataDir, 'audit-signing-key.pem'))])).toEqual([{
        chainId: 'gw-restarted', ok: false, records: 1, lastSequence: 1, lastCheckpoint: 1, firstBadSequence: 1,
        problem: 'checkpoint at 2 is missing (checkpoint 1 follows it): records 1 to 2 may have been cut or rewritten',
      }]);
    } finally {
      await store.close();
    }
  } finally {
    await after?.stop();
    fixture.remove();
  }
});

test('a running gateway whose records were rewritten in the store signs its own, refuses every answer, says why, and /readyz is 503 until it is restarted', async () => {
  const fixture = writeFixtureRegistries();
  const env = { PROOFLESS_AUDIT_CHAIN_ID: 'gw-rewritten' };
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('gateway', { level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const file = path.join(fixture.dataDir, 'audit.sqlite');
  const witnessFile = path.join(fixture.dataDir, 'audit-witness.jsonl');
  const stack = await startStack({ dataDir: fixture.dataDir, env, logger });
  let isStopped = false;
  try {
    const read = () => stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { identity { name } } }`);
    expect((await read()).status).toBe(200);
    // Record 1, not yet checkpointed, rewritten so it no longer names the citizen, and a forged record 2 chained to it.
    const [record] = await stack.audit.store.readChain('gw-rewritten', 0, 1);
    const rewritten = { ...record, citizens: [] };
    rewritten.hash = recordHash(rewritten);
    const db = new Database(file);
    db.prepare("UPDATE audit_record SET citizens = '[]', hash = ? WHERE chain_id = 'gw-rewritten' AND sequence = 1").run(rewritten.hash);
    db.prepare("DELETE FROM audit_record_citizen WHERE chain_id = 'gw-rewritten'").run();
    db.close();
    const forged = { ...rewritten, sequence: 2, previousHash: rewritten.hash, requestId: 'forged' };
    forged.hash = recordHash(forged);
    await stack.audit.store.append([forged]);

    const AUDIT_UNAVAILABLE = {
      status: 503,
      body: { errors: [{ message: 'the audit log cannot be written; no data is released until it can', extensions: { code: 'AUDIT_UNAVAILABLE' } }] },
    };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const refused = await read();
      expect({ status: refused.status, body: refused.body }).toEqual(AUDIT_UNAVAILABLE);
    }
    const readiness = await fetch(new URL('/readyz', stack.gatewayUrl));
    expect({ status: readiness.status, body: await readiness.json() }).toMatchObject({
      status: 503, body: { status: 'unavailable', auditStore: { isReachable: true, isWritable: false } },
    });
    expect(lines.filter((line) => line.chainId === 'gw-rewritten').map(({ level, msg }) => ({ level, msg }))).toEqual([{
      level: 'error',
      msg: `audit chain gw-rewritten in SQLite ${file} does not hold record 1 as this gateway wrote it (the store's head is record 2): ` +
        `records were rewritten or added in the store; checkpoint 1 of record 1 as this gateway wrote it is signed into the witness ${witnessFile} and the store; ` +
        'this gateway refuses every record (503 AUDIT_UNAVAILABLE) until it is restarted',
    }]);
    await stack.stop();
    isStopped = true;
    const store = await openSqliteAuditStore(file);
    try {
      expect(await verifyChains(store, [loadPublicKey(path.join(fixture.dataDir, 'audit-signing-key.pem'))], { witnessed: await readWitnesses([witnessFile]) })).toEqual([{
        chainId: 'gw-rewritten', ok: false, records: 2, lastSequence: 2, lastCheckpoint: null, firstBadSequence: 1,
        problem: 'checkpoint at 1: record 1 differs from the one signed',
      }]);
    } finally {
      await store.close();
    }
  } finally {
    if (!isStopped) await stack.stop();
    fixture.remove();
  }
});

test('in production without a witness file the gateway starts, and warns that a cut while it is down would go unseen', async () => {
  const publicKeyFile = path.join(city.dataDir, 'witness-test-jwt.pub.pem');
  writeFileSync(publicKeyFile, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }));
  const pseudonymKeyFile = path.join(city.dataDir, 'witness-test-pseudonym-key');
  writeFileSync(pseudonymKeyFile, Buffer.alloc(32, 7).toString('base64url'));
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('gateway', { level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const production = await startStack({
    dataDir: city.dataDir,
    env: { NODE_ENV: 'production', PROOFLESS_JWT_PUBLIC_KEY_FILE: publicKeyFile, PROOFLESS_PSEUDONYM_KEY_FILE: pseudonymKeyFile },
    logger,
  });
  await production.stop();
  // Only the audit log's lines: other parts of the gateway may warn about their own settings in production.
  expect(lines.filter(({ msg }) => String(msg).includes('AUDIT')).map(({ level, msg }) => ({ level, msg }))).toEqual([{
    level: 'warn',
    msg: 'PROOFLESS_AUDIT_WITNESS_FILE is not set: audit records and checkpoints cut from the store while this gateway is down ' +
      'cannot be detected; set it to a file on storage that whoever can write to the audit store cannot',
  }]);
});

test('auditors list breached commitments through the gateway; service callers cannot', async () => {
  const query = '{ breachedCommitments(first: 5) { commitments { applicant proof state } hasNextPage } }';
  const asAuditor = await city.stack.query(query, undefined, { authorization: `Bearer ${await city.stack.token({ role: 'auditor', serviceItems: [] })}` });
  expect({ status: asAuditor.status, body: asAuditor.body }).toEqual({ status: 200, body: { data: { breachedCommitments: { commitments: [], hasNextPage: false } } } });
  const asService = await city.stack.query(query, undefined, await enrolmentHeaders());
  expect({ status: asService.status, body: asService.body }).toEqual({
    status: 403, body: { errors: [{ message: 'only role auditor may read audit records', extensions: { code: 'FORBIDDEN' } }] },
  });
});
