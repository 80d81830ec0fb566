import { sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { parse, print } from 'graphql';
import { canonicalJson, recordHash, type CanonicalValue } from '../audit/canonical';
import { AuditQueryError } from '../audit/errors';
import type { StoredRecord } from '../audit/entry';
import type { SignedCheckpoint } from '../audit/store';
import { READINESS_PROBE_QUERY, WITNESS_PATH } from '../audit/exchange';
import { sha256Hex } from '../audit/receipt';
import { reconcile } from '../audit/reconcile';
import { recordsOfRequest } from '../audit/review';
import { ATTESTATION_KIND, exportDigest, receiptExportText, type ReceiptExport } from '../audit/receipt-export';
import { loadSigningKey as loadAuditSigningKey, signCheckpoint } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import { DepartmentDataSource } from '../gateway/data-source';
import { departmentFetcher } from '../gateway/department-fetch';
import { departmentTransportFromEnv, openDepartmentTransport, type DepartmentTransport } from '../gateway/department-transport';
import { ensureDevelopmentSigningKey } from '../lib/trust-list';
import { writeFixtureRegistries, ZHANG_WEI } from './fixtures/registries';
import { auditEntry, signingKeyFileIn } from './helpers/audit-stores';
import { spawnDepartment, type DepartmentProcess } from './helpers/department-process';
import { useFixtureStack } from './helpers/stack';
import { openWorld, runScript, sqliteStores, type Stores } from './helpers/exchange-stores';
import { mutualTlsAgent, sendSignedAsGateway, transportEnv } from './helpers/federation-security';

/**
 * Issue 18, attacked from every side at once: the gateway's operator (its host, its audit
 * store, every key on it, none of the departments'), a department's operator, a caller,
 * and whoever reaches a department with some federation process's certificate. Each test
 * is one attack on a claim of README's "Both sides keep the record" or docs/security.md;
 * a `test.failing` is a hole still open, named so in its title.
 */

const CHAIN_ID = `household:${os.hostname().replace(/[^A-Za-z0-9._:-]/g, '-')}`.slice(0, 128);

describe('the gateway operator rewrites who asked in a receipt export', () => {
  let stores: Stores;
  let genuine: ReceiptExport;
  let file: string;

  /** r-1: household answered officer-007 of hz-social-security, with its receipt; the gateway's chain checkpointed after it. */
  beforeAll(async () => {
    stores = await sqliteStores(['household']);
    const world = await openWorld(stores);
    await world.exchange({ requestId: 'r-1', department: 'household' });
    await world.gateway.checkpoint();
    await world.close();
    const exported = runScript('audit-receipt', stores, ['r-1']);
    expect({ status: exported.status, stderr: exported.stderr }).toEqual({ status: 0, stderr: '' });
    genuine = JSON.parse(exported.stdout) as ReceiptExport;
    file = path.join(stores.dataDir, 'receipt.json');
  });
  afterAll(() => stores.close());

  /**
   * What the operator can make with the audit key on the gateway's host: the record's
   * members changed, its hash recomputed, its checkpoint and the export signed again (the
   * departments' witnessed copies of that checkpoint are not in the file: offline, only
   * the department's receipt is out of the operator's reach). The receipt names the
   * signature base the gateway signed, and that base names the real caller.
   */
  function rewritten(change: Partial<StoredRecord>): string {
    const [first] = genuine.records;
    const { hash: _old, ...members } = { ...first.record, ...change };
    const record = { ...members, hash: recordHash(members) } as StoredRecord;
    const key = loadAuditSigningKey(signingKeyFileIn(stores.dataDir));
    const { keyId: _keyId, signature: _signature, ...checkpointMembers } = first.checkpoint;
    const checkpoint = signCheckpoint({ ...checkpointMembers, hash: record.hash }, key);
    const unsigned = { format: genuine.format, requestId: genuine.requestId, records: [{ record, checkpoint }] };
    const time = genuine.attestation.time;
    const payload = Buffer.from(canonicalJson({ digest: exportDigest(unsigned), kind: ATTESTATION_KIND, time } as CanonicalValue), 'utf8');
    return receiptExportText({ ...unsigned, attestation: { time, keyId: key.keyId, signature: sign(null, payload, key.privateKey).toString('base64') } });
  }

  const verify = (text: string) => {
    writeFileSync(file, text);
    const result = runScript('audit-verify-receipt', stores, [file]);
    return { status: result.status, failures: result.stdout.split('\n').filter((line) => !line.startsWith('ok: ') && line !== '') };
  };

  test('the genuine export verifies', () => {
    expect(verify(receiptExportText(genuine))).toEqual({ status: 0, failures: [`${file}: verified`] });
  });

  test('HOLE (fixed): the record blames another officer of another application than the one the gateway signed for and household answered: verify-receipt names it, exit 1', () => {
    expect(verify(rewritten({ officer: 'officer-999', application: 'hz-other-bureau' }))).toEqual({
      status: 1,
      failures: [
        'FAIL: record 1 of chain gw-1: call 1 to household: the signed request and the record differ in application, officer',
        `${file}: NOT VERIFIED: 1 check failed`,
      ],
    });
  });

  /**
   * The citizens asked are in the request body, whose Content-Digest the signature base
   * covers; the export holds neither body, so nothing in it can tie the record's citizens
   * to what the department was asked or answered. A design change (the bodies, or a
   * commitment to the citizens in the signed request) is needed: see the report.
   */
  test.failing('HOLE (open, test.failing): the record names another citizen than the one household was asked about: verify-receipt names it, exit 1', () => {
    const result = verify(rewritten({ citizens: ['11010519491231002X'] }));
    expect(result.status).toBe(1);
  });
});

describe('a real household department and the gateway\'s own signed calls', () => {
  let city: ReturnType<typeof writeFixtureRegistries>;
  let household: DepartmentProcess;
  let transport: DepartmentTransport;
  const startedAt = new Date(Date.now() - 60_000).toISOString();

  beforeAll(async () => {
    city = writeFixtureRegistries();
    // Refusals of unverified requests are recorded together per window (subgraphs/shared/access-log.ts); a short one here, and the tests wait for its log line.
    household = await spawnDepartment('household', city.dataDir, { PROOFLESS_ACCESS_LOG_REFUSAL_WINDOW_MS: '1000' });
    transport = openDepartmentTransport(departmentTransportFromEnv({ ...transportEnv(), NODE_ENV: 'test' }));
  });

  afterAll(async () => {
    transport?.close();
    await household?.stop();
    city?.remove();
  });

  /** household's access-log records, read from its store as an auditor reads them. */
  async function householdRecords(): Promise<StoredRecord[]> {
    const store = await openSqliteAuditStore(path.join(city.dataDir, 'access-log', 'household.sqlite'), { mustExist: true });
    try {
      return await store.readChain(CHAIN_ID, 0, 100000);
    } finally {
      await store.close();
    }
  }

  /**
   * `/readyz` asks every department `{ __typename }`, signed like every call, and wants a
   * receipt back: the department logs an answer to a request the gateway signed. The
   * gateway writes no record of its probes, so reconciliation over any period with a
   * readiness probe in it (an orchestrator probes every few seconds) found a department
   * answer "the gateway store has no record of": what README calls tampering on the
   * gateway's side. Auditors who learn to ignore that line miss the real one.
   */
  test('HOLE (fixed): the gateway\'s readiness probe is counted as one, not reported as gateway tampering: audit:reconcile exits 0', async () => {
    const source = new DepartmentDataSource('household', household.url, {
      fetcher: departmentFetcher({ timeoutMs: 3000, tls: transport.tlsFor('household') }),
      sign: transport.sign,
      receipts: transport.receipts,
    });
    expect(await source.answersReadinessProbe()).toBe(true);
    const gateway = await openSqliteAuditStore(path.join(city.dataDir, 'audit.sqlite'));
    await gateway.close();
    const to = new Date(Date.now() + 60_000).toISOString();
    expect(runScript('audit-reconcile', { dataDir: city.dataDir, env: {} }, ['--from', startedAt, '--to', to, '--department', 'household'])).toEqual({
      status: 0,
      stdout: `agree: household and the gateway from ${startedAt} to ${to}: 0 answers matched, 0 explained, 0 mismatches; expected on one side only: ` +
        '0 refused by a department before signature verification, 0 gateway records calling no department, 0 witnessed checkpoints, 1 readiness probe of the gateway\n',
      stderr: '',
    });
  });

  /** HELD: the witness route checks the client certificate's name and the gateway's signature as /graphql does; the department records the refusal, never the checkpoint. */
  test('held: a checkpoint POSTed to the witness route with residence\'s certificate, or the gateway\'s certificate and a key the trust list lacks, is refused and never recorded as witnessed', async () => {
    const checkpoint = JSON.stringify({ chainId: 'gw-1', sequence: 900, hash: 'e'.repeat(64), time: '2026-01-01T00:00:00.000Z', previous: null, keyId: 'k'.repeat(64), signature: 'AAAA' });
    const witnessUrl = new URL(WITNESS_PATH, household.url).href;
    const residenceAgent = mutualTlsAgent('household', 'residence');
    const strangerKey = path.join(city.dataDir, 'stranger-pki');
    try {
      const asResidence = await sendSignedAsGateway(witnessUrl, { 'content-type': 'application/json', 'x-proofless-department': 'household', 'x-request-id': 'witness-forged-1' }, checkpoint, residenceAgent);
      const stranger = ensureDevelopmentSigningKey(strangerKey);
      const asStranger = await sendSignedAsGateway(witnessUrl, { 'content-type': 'application/json', 'x-proofless-department': 'household', 'x-request-id': 'witness-forged-2' }, checkpoint, mutualTlsAgent('household'), stranger);
      expect([asResidence.status, asResidence.body.errors[0].extensions.code, asStranger.status, asStranger.body.errors[0].extensions.code]).toEqual([403, 'FORBIDDEN', 401, 'SIGNATURE_KEY_UNKNOWN']);
    } finally {
      await residenceAgent.close();
    }
    // Neither verified: each refusal is recorded in its window's aggregate (different codes, so one each), after its log line.
    await household.lineMatching(/"firstRequestId":"witness-forged-1"/);
    await household.lineMatching(/"firstRequestId":"witness-forged-2"/);
    const records = (await householdRecords()).filter((record) => record.requestId.startsWith('witness-forged-'));
    expect(records.map((record) => ({ requestId: record.requestId, kind: record.exchange?.kind, gatewayKeyId: (record.exchange as { gatewayKeyId?: unknown } | null)?.gatewayKeyId, outcome: record.outcome, requests: record.requests }))).toEqual([
      { requestId: 'witness-forged-1', kind: 'department-answer', gatewayKeyId: null, outcome: 'refused', requests: 1 },
      { requestId: 'witness-forged-2', kind: 'department-answer', gatewayKeyId: null, outcome: 'refused', requests: 1 },
    ]);
  });

  /**
   * Anyone holding any federation process's certificate (a department's, a tool's) gets
   * past the TLS handshake; the department refuses the request (403: the certificate does
   * not name the gateway). It recorded the refusal one record per request, with no bound
   * and no one to blame: a loop filled the department's disk and drowned its log in
   * records reconciliation only counts. Refusals alike in a window are now one record.
   */
  test('HOLE (fixed): refusals of a client with a non-gateway certificate are recorded in aggregate: 300 requests leave fewer than 300 records, standing for 300 refusals', async () => {
    const before = new Set((await householdRecords()).map((record) => record.sequence));
    const agent = mutualTlsAgent('household', 'residence');
    try {
      for (let sent = 0; sent < 300; sent += 1) {
        const response = await request(household.url, {
          method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json', 'x-request-id': `flood-${String(sent).padStart(4, '0')}` }, body: '{"query":"{ __typename }"}',
        });
        expect(response.statusCode).toBe(403);
        await response.body.text();
      }
    } finally {
      await agent.close();
    }
    // A stop writes the window's aggregates not yet written.
    await household.stop();
    const flood = (await householdRecords()).filter((record) => !before.has(record.sequence) && record.exchange?.kind === 'department-answer');
    expect(flood.length).toBeLessThan(300);
    expect(flood.reduce((sum, record) => sum + record.requests, 0)).toBe(300);
    expect(new Set(flood.map((record) => JSON.stringify({
      requestId: /^flood-\d{4}$/.test(record.requestId), officer: record.officer, outcome: record.outcome, errorCodes: record.errorCodes,
      gatewayKeyId: (record.exchange as { gatewayKeyId?: unknown }).gatewayKeyId, status: (record.exchange as { status?: unknown }).status,
    })))).toEqual(new Set([JSON.stringify({ requestId: true, officer: null, outcome: 'refused', errorCodes: ['FORBIDDEN'], gatewayKeyId: null, status: 403 })]));
  });
});

describe('a department answer dressed as the readiness probe', () => {
  const probeHash = sha256Hex(print(parse(READINESS_PROBE_QUERY)));
  const answer = (requestId: string, sequence: number, members: Partial<StoredRecord>): StoredRecord => ({
    ...auditEntry({ requestId, time: '2024-06-01T09:30:00.000Z', documentHash: probeHash, coordinates: [], citizens: [], departments: ['household'] }),
    chainId: 'household:host-1', sequence, previousHash: '0'.repeat(64), hash: 'f'.repeat(64), requests: 1,
    exchange: { kind: 'department-answer', department: 'household', gatewayKeyId: 'gateway-1', requestDigest: 'd'.repeat(64), bodyDigest: 'b'.repeat(64), answerDigest: 'a'.repeat(64), status: 200 },
    ...members,
  });

  /** A department operator, or a gateway operator cutting its own record, cannot hide an answer that read a citizen behind the probe's document hash. */
  test('only an answer that disclosed nothing passes for a probe: one naming a citizen or a coordinate with no gateway record is a mismatch', () => {
    const result = reconcile({
      from: '2024-06-01T00:00:00.000Z', to: '2024-06-02T00:00:00.000Z', gatewayRecords: [],
      departmentRecords: new Map([['household', [
        answer('probe-0001', 1, {}),
        answer('cut-0002', 2, { citizens: ['330106199001011234'] }),
        answer('cut-0003', 3, { coordinates: ['Citizen.household'] }),
      ]]]),
    });
    expect(result).toEqual({
      findings: [
        { isExplained: false, text: 'department household answered request cut-0002 (its record 2 of chain household:host-1); the gateway store has no record of cut-0002' },
        { isExplained: false, text: 'department household answered request cut-0003 (its record 3 of chain household:host-1); the gateway store has no record of cut-0003' },
      ],
      matched: 0, refusedBeforeVerification: 0, gatewayOnly: 0, witnessRecords: 0, readinessProbes: 1,
    });
  });
});

describe('refusals before signature verification recorded in aggregate', () => {
  /** One record standing for 300 refusals of a non-gateway certificate: reconciliation counts the 300 as expected on the department's side, no mismatch. */
  test('audit:reconcile counts an aggregate record by the refusals it stands for', () => {
    const aggregate: StoredRecord = {
      ...auditEntry({ requestId: 'flood-0000', time: '2024-06-01T09:30:00.000Z', citizens: [], coordinates: [], departments: ['household'], outcome: 'refused', errorCodes: ['FORBIDDEN'] }),
      application: null, officer: null, role: null, serviceItem: null, caseNumber: null,
      chainId: 'household:host-1', sequence: 1, previousHash: '0'.repeat(64), hash: 'f'.repeat(64), requests: 300,
      exchange: { kind: 'department-answer', department: 'household', gatewayKeyId: null, requestDigest: null, bodyDigest: 'b'.repeat(64), answerDigest: 'a'.repeat(64), status: 403 },
    };
    expect(reconcile({ from: '2024-06-01T00:00:00.000Z', to: '2024-06-02T00:00:00.000Z', gatewayRecords: [], departmentRecords: new Map([['household', [aggregate]]]) })).toEqual({
      findings: [], matched: 0, refusedBeforeVerification: 300, gatewayOnly: 0, witnessRecords: 0, readinessProbes: 0,
    });
  });
});

describe('a department operator\'s log accuses the gateway\'s store with a checkpoint the gateway never signed', () => {
  let stores: Stores;

  /**
   * gw-1 has r-1 and its checkpoint, witnessed by household as the gateway sends it. Then
   * household's operator, who writes its own log with its own key, adds a record of a
   * "witnessed" checkpoint of a gateway chain gw-2 that never existed, at sequence 500,
   * signed with nothing the audit keys know.
   */
  beforeAll(async () => {
    stores = await sqliteStores(['household']);
    const world = await openWorld(stores, () => new Date('2024-06-01T10:00:00.000Z'));
    await world.exchange({ requestId: 'r-1', department: 'household' });
    const genuine = await world.gateway.checkpoint();
    const household = world.departments.get('household');
    const witnessed = (checkpoint: SignedCheckpoint, requestId: string) => household?.record(auditEntry({
      requestId, citizens: [], coordinates: [], exchange: { kind: 'witnessed-checkpoint', gatewayKeyId: 'gateway-1', checkpoint },
    }));
    await witnessed(genuine as SignedCheckpoint, 'witness-0001');
    await witnessed({ ...(genuine as SignedCheckpoint), chainId: 'gw-2', sequence: 500, hash: 'e'.repeat(64), previous: null }, 'witness-0002');
    await world.close();
  });
  afterAll(() => stores.close());

  test('HOLE (fixed): audit:verify does not report a whole gateway chain missing on the word of a checkpoint whose signature does not verify; it names the forged witness', () => {
    expect(runScript('audit-verify', stores, [])).toEqual({
      status: 1,
      stdout: 'witness the household department\'s access log: 2 checkpoints of 2 chains\n' +
        'chain gw-1: ok, 1 record, last sequence 1, last checkpoint 1\n' +
        'chain gw-2: BAD: not in the store, and witness the household department\'s access log, record 3 of chain household:host-1 holds checkpoint 500 of it, ' +
        'which does not verify (signature invalid): the witness is wrong, not the store (0 records, last sequence 0, no checkpoint)\n' +
        'household last witnessed checkpoint 1 of chain gw-1 at 2024-06-01T10:00:00.000Z: the latest the gateway\'s store holds\n',
      stderr: '',
    });
  });
});

describe('a department operator moves its rewritten record out of every period reconciled', () => {
  let stores: Stores;
  const period = ['--from', '2024-06-01T00:00:00.000Z', '--to', '2024-06-02T00:00:00.000Z'];

  /**
   * household answered r-1 at 09:30 and the gateway holds its receipt for record 1. Its
   * operator rewrites its own chain after its last checkpoint the gateway holds (here, all
   * of it), with its own key: record 1 now names another officer, and is dated 2031, out
   * of every period an auditor reconciles around the exchange. Edited in place, the officer
   * is caught (test/audit-reconcile.test.ts); moved away, only the gateway's side sees the
   * record, and it compared request IDs and digests alone.
   */
  beforeAll(async () => {
    stores = await sqliteStores(['household']);
    const world = await openWorld(stores);
    await world.exchange({ requestId: 'r-1', department: 'household', departmentEntry: { time: '2031-01-01T00:00:00.000Z', officer: 'officer-999' } });
    await world.close();
  });
  afterAll(() => stores.close());

  test('HOLE (fixed): the gateway\'s side compares the record its receipt names whatever its time: the officer and the time that differ from the receipt, exit 1', () => {
    expect(runScript('audit-reconcile', stores, period)).toEqual({
      status: 1,
      stdout: 'MISMATCH: the gateway\'s record 1 of chain gw-1 holds department household\'s receipt for request r-1 at its record 1 of chain household:host-1, ' +
        'but that record differs in time (2031-01-01T00:00:00.000Z, the receipt says 2024-06-01T09:30:00.000Z), officer\n' +
        'DISAGREE: household and the gateway from 2024-06-01T00:00:00.000Z to 2024-06-02T00:00:00.000Z: 0 answers matched, 0 explained, 1 mismatch; expected on one side only: ' +
        '0 refused by a department before signature verification, 0 gateway records calling no department, 0 witnessed checkpoints, 0 readiness probes of the gateway\n',
      stderr: '',
    });
  });
});

describe('a caller squats a request ID before the request it will name', () => {
  let stores: Stores;

  /**
   * Callers choose their request IDs (lib/request-id.ts). One who knows the ID another
   * caller's client will send (trace IDs that count up) sends 1000 requests under it
   * first, each refused and recorded by the gateway; then r-squat is answered for real,
   * with household's receipt. The export of r-squat must hold that answer.
   */
  beforeAll(async () => {
    stores = await sqliteStores(['household']);
    const world = await openWorld(stores);
    const refused = auditEntry({ requestId: 'r-squat', time: '2024-06-01T09:00:00.000Z', departments: [], citizens: [], coordinates: [], outcome: 'refused', errorCodes: ['FORBIDDEN'] });
    await Promise.all(Array.from({ length: 1000 }, () => world.gateway.record(refused)));
    await world.exchange({ requestId: 'r-squat', department: 'household', time: '2024-06-01T09:30:00.000Z' });
    // A squatter with fewer: 150 refusals under r-squat-150 before its answer, more than the old page of 100.
    await Promise.all(Array.from({ length: 150 }, () => world.gateway.record({ ...refused, requestId: 'r-squat-150' })));
    await world.exchange({ requestId: 'r-squat-150', department: 'household', time: '2024-06-01T09:40:00.000Z' });
    await world.gateway.checkpoint();
    await world.close();
  });
  afterAll(() => stores.close());

  /** auditReceipt(requestId), the auditors' GraphQL field, reads through recordsOfRequest: it returned at most 100 records, and nothing said there were more. */
  test('HOLE (fixed): auditReceipt(requestId) holds the answer after the squatter\'s 150 records; past its bound of 1000, it says how many there are and where to get them all', async () => {
    const records = await recordsOfRequest(stores.gateway, 'r-squat-150');
    expect({ records: records.length, withReceipt: records.filter((record) => record.exchange !== null).map((record) => record.sequence) }).toEqual({ records: 151, withReceipt: [1152] });
    await expect(recordsOfRequest(stores.gateway, 'r-squat')).rejects.toThrow(new AuditQueryError(
      'the gateway\'s store holds 1001 records of request r-squat, more than auditReceipt returns (1000): export them all with `npm run audit:receipt -- r-squat`',
    ));
  });

  test('HOLE (fixed): audit:receipt exports every record of the request, the answer after the squatter\'s 1000 included', () => {
    const exported = runScript('audit-receipt', stores, ['r-squat']);
    expect({ status: exported.status, stderr: exported.stderr.slice(0, 500) }).toEqual({ status: 0, stderr: '' });
    const records = (JSON.parse(exported.stdout) as ReceiptExport).records.map(({ record }) => record);
    expect({ records: records.length, withReceipt: records.filter((record) => record.exchange !== null).map((record) => record.sequence) }).toEqual({ records: 1001, withReceipt: [1001] });
  });
});

describe('the gateway\'s audit store refuses a record: nothing is released, and reconciliation afterwards', () => {
  const city = useFixtureStack();
  const from = new Date(Date.now() - 60_000).toISOString();

  /**
   * The gateway fails closed when its own record cannot be written (503, nothing of the
   * answer released), but the departments it called had answered and logged before that:
   * their answers have no gateway record. Reconciliation reports each as README's
   * "tampering on the gateway's side, or a gateway that released an answer it did not
   * record"; it was neither. Issue 18 asks for exit 0 after any mix of faults. Telling the
   * fault from a cut needs evidence the gateway writes before it calls (a design change:
   * see the report).
   */
  test.failing('HOLE (open, test.failing): after the gateway failed closed on its own audit write, audit:reconcile does not call the departments\' answers gateway tampering', async () => {
    const database = new Database(path.join(city.dataDir, 'audit.sqlite'));
    try {
      // The disk fills between the store's health probe (a record without exchange, rolled back) and the request's own record.
      database.exec(`CREATE TRIGGER refuse_records BEFORE INSERT ON audit_record WHEN NEW.exchange IS NOT NULL BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`);
      const answer = await city.stack.query(`{ citizen(idNumber: "${ZHANG_WEI}") { household { members { citizen { idNumber } } } } }`);
      expect({ status: answer.status, code: answer.body.errors?.[0]?.extensions?.code, data: answer.body.data ?? null }).toEqual({ status: 503, code: 'AUDIT_UNAVAILABLE', data: null });
    } finally {
      database.close();
    }
    const to = new Date(Date.now() + 60_000).toISOString();
    const result = runScript('audit-reconcile', { dataDir: city.dataDir, env: {} }, ['--from', from, '--to', to, '--department', 'household']);
    expect({ status: result.status, mismatches: result.stdout.split('\n').filter((line) => line.startsWith('MISMATCH')) }).toEqual({ status: 0, mismatches: [] });
  });
});
