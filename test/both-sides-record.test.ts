import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { recordHash } from '../audit/canonical';
import type { StoredRecord } from '../audit/entry';
import type { DepartmentAnswerEvidence, DepartmentReceipt, GatewayCallsEvidence } from '../audit/exchange';
import { sha256Hex } from '../audit/receipt';
import { checkReceiptExport } from '../audit/receipt-export';
import { loadPublicKey, trustedKeys } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import { loadTrustList } from '../lib/trust-list';
import { CHEN_QIANG, LI_NA, writeFixtureRegistries, ZHANG_WEI, ZHANG_ZIHAN } from './fixtures/registries';
import { spawnDepartment, type DepartmentProcess } from './helpers/department-process';
import { runScript } from './helpers/exchange-stores';
import { transportEnv } from './helpers/federation-security';
import { spawnGateway, type GatewayProcess } from './helpers/gateway-process';
import { EVERY_FIELD_ITEM, startStack, type Stack } from './helpers/stack';

/**
 * Both sides keep the record (issue 18), end to end with real processes and real records:
 * a gateway process and a household department process of their own over the fixture
 * city, the other departments in this process (helpers/stack.ts), every call over mutual
 * TLS, signed, answered with a receipt and logged on both sides. Then the auditors'
 * commands, run as an operator runs them (the environment only), must agree with what
 * happened: after a department killed under load and restarted, `audit:verify` (the
 * gateway's store against the departments' witnesses), `audit:verify --department` and
 * `audit:reconcile` all pass, every difference the kill caused explained; a receipt of a
 * real answer exports and verifies offline, and fails whichever byte changes; and on
 * copies of that evidence, each record deleted, edited or cut on either side is named,
 * with its side and sequence, by the command that covers it. First, on a city of its own:
 * a department whose log cannot be written releases nothing through the gateway.
 */

const GATEWAY_CHAIN = 'gw-both-sides';
const HOUSEHOLD_CHAIN = 'household:both-sides';
const CITIZENS = [ZHANG_WEI, LI_NA, ZHANG_ZIHAN, CHEN_QIANG];
const ANSWERED = (citizen: string) => `{ citizen(idNumber: "${citizen}") { identity { name } residence { status } } }`;
/** Passes the gateway's purpose check (the gateway's catalog grants ethnicity) and is refused by household's, whose catalog does not. */
const REFUSED_BY_HOUSEHOLD = `{ citizen(idNumber: "${ZHANG_WEI}") { identity { name ethnicity } } }`;
/** An item the caller's token does not grant: refused at the gateway, no department called. */
const UNGRANTED_ITEM = '330100-GA-0001';
/** Each citizen's answer to ANSWERED, as the fixture city holds them. */
const FACTS: Record<string, unknown> = {
  [ZHANG_WEI]: { identity: { name: '张伟' }, residence: { status: 'HOUSEHOLD_ADDRESS' } },
  [LI_NA]: { identity: { name: '李娜' }, residence: { status: 'HOUSEHOLD_ADDRESS' } },
  [ZHANG_ZIHAN]: { identity: { name: '张子涵' }, residence: { status: 'HOUSEHOLD_ADDRESS' } },
  [CHEN_QIANG]: { identity: { name: '陈强' }, residence: { status: 'PERMIT_VALID' } },
};

let fixture: ReturnType<typeof writeFixtureRegistries>;
let stack: Stack;
let isStackRunning = false;
const scratch: string[] = [];
/** Processes a failed test may leave running: stopped after all. */
const running = new Set<{ child: { exitCode: number | null; kill(signal: NodeJS.Signals): boolean } }>();
function tracked<Spawned extends { child: { exitCode: number | null; kill(signal: NodeJS.Signals): boolean } }>(spawned: Spawned): Spawned {
  running.add(spawned);
  return spawned;
}

beforeAll(async () => {
  fixture = writeFixtureRegistries();
  stack = await startStack({ dataDir: fixture.dataDir });
  isStackRunning = true;
});

afterAll(async () => {
  for (const spawned of running) if (spawned.child.exitCode === null) spawned.child.kill('SIGKILL');
  if (isStackRunning) await stack.stop();
  fixture.remove();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** The gateway's catalog (helpers/stack.ts writes it) with household's own copy narrowed: EVERY_FIELD_ITEM without Identity.ethnicity, so household refuses a purpose the gateway let through. */
function narrowedCatalogFile(dataDir: string): string {
  const catalog = JSON.parse(readFileSync(path.join(dataDir, 'test-catalog.json'), 'utf8'));
  for (const item of catalog.serviceItems) {
    if (item.code !== EVERY_FIELD_ITEM) continue;
    for (const proof of item.proofs) proof.fields = proof.fields.filter((field: string) => field !== 'Identity.ethnicity');
  }
  const file = path.join(dataDir, 'household-catalog.json');
  writeFileSync(file, JSON.stringify(catalog));
  return file;
}

/** A gateway process generous enough for 200 requests at once from one officer, without a cache (every answer is a department call), and whose circuit never opens (every request during the outage is a call that fails). */
const gatewayEnv = (householdUrl: string, catalogDir: string): NodeJS.ProcessEnv => ({
  PROOFLESS_HOUSEHOLD_URL: householdUrl,
  PROOFLESS_CATALOG: path.join(catalogDir, 'test-catalog.json'),
  PROOFLESS_JWT_SECRET_FILE: path.join(catalogDir, 'dev-jwt-secret'),
  PROOFLESS_CACHE: 'off',
  PROOFLESS_MAX_CONCURRENT_PER_OFFICER: '1000',
  PROOFLESS_RATE_LIMIT_OFFICER_PER_MINUTE: '1000000',
  PROOFLESS_RATE_LIMIT_APPLICATION_PER_MINUTE: '1000000',
  PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '1000000',
  PROOFLESS_BREAKER_FAILURES: '1000',
  // Checkpoints on shutdown only, so every count below is known whatever the machine's speed.
  PROOFLESS_AUDIT_CHECKPOINT_SECONDS: '0',
});

async function post(gateway: GatewayProcess, query: string, headers: Record<string, string>) {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
  return { status: response.status, body: await response.json(), requestId: response.headers.get('x-request-id') as string };
}

/** The operator's environment: the data folder, the gateway's chain, the trust lists. Nothing else. */
function operator(dataDir: string) {
  const keys = transportEnv();
  return { dataDir, env: { PROOFLESS_AUDIT_CHAIN_ID: GATEWAY_CHAIN, PROOFLESS_GATEWAY_KEYS_FILE: keys.PROOFLESS_GATEWAY_KEYS_FILE, PROOFLESS_DEPARTMENT_KEYS_FILE: keys.PROOFLESS_DEPARTMENT_KEYS_FILE } };
}

async function readAll(file: string, chainId: string): Promise<StoredRecord[]> {
  const store = await openSqliteAuditStore(file);
  try {
    return await store.readChain(chainId, 0, 1_000_000);
  } finally {
    await store.close();
  }
}

async function lastCheckpointTime(file: string, chainId: string): Promise<string | undefined> {
  const store = await openSqliteAuditStore(file);
  try {
    return (await store.lastCheckpoint(chainId))?.time;
  } finally {
    await store.close();
  }
}

const gatewayFile = (dataDir: string) => path.join(dataDir, 'audit.sqlite');
const householdFile = (dataDir: string) => path.join(dataDir, 'access-log', 'household.sqlite');
const callsOf = (record: StoredRecord) => (record.exchange?.kind === 'gateway-calls' ? (record.exchange as GatewayCallsEvidence).calls : []);

describe('a department whose log cannot be written releases nothing through the gateway', () => {
  test('the caller gets household\'s facts null with DEPARTMENT_UNAVAILABLE, and the gateway\'s record shows the call failed without a receipt', async () => {
    const city = writeFixtureRegistries();
    scratch.push(city.dataDir);
    const household = tracked(await spawnDepartment('household', city.dataDir, { PROOFLESS_CATALOG: path.join(fixture.dataDir, 'test-catalog.json'), PROOFLESS_ACCESS_LOG_TIMEOUT_MS: '1000' }));
    const gateway = tracked(await spawnGateway(stack, city.dataDir, GATEWAY_CHAIN, gatewayEnv(household.url, fixture.dataDir)));
    try {
      const database = new Database(householdFile(city.dataDir));
      database.exec(`CREATE TRIGGER refuse_records BEFORE INSERT ON audit_record BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`);
      database.close();
      const answer = await post(gateway, ANSWERED(ZHANG_WEI), await stack.serviceHeaders());
      expect({ status: answer.status, body: answer.body }).toEqual({
        status: 200,
        body: {
          data: { citizen: null },
          errors: [{ message: 'the household department could not answer', extensions: { code: 'DEPARTMENT_UNAVAILABLE', department: 'household' } }],
        },
      });
      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
      const [record] = (await readAll(gatewayFile(city.dataDir), GATEWAY_CHAIN)).filter((r) => r.requestId === answer.requestId);
      expect({ outcome: record.outcome, errorCodes: record.errorCodes, calls: callsOf(record).map((call) => [call.department, call.failure, call.receipt === null]) }).toEqual({
        outcome: 'error',
        errorCodes: ['DEPARTMENT_UNAVAILABLE'],
        calls: [['household', 'DEPARTMENT_UNAVAILABLE', true]],
      });
      expect((await readAll(householdFile(city.dataDir), (await household.lineMatching(/listening/)).match(/"accessLogChain":"([^"]+)"/)?.[1] as string)).map((r) => r.requestId)).toEqual([]);
    } finally {
      if (gateway.child.exitCode === null) gateway.child.kill('SIGTERM');
      await household.stop();
    }
  });
});

describe('both sides after a department killed under load', () => {
  let from: string;
  let to: string;
  let gatewayRecords: StoredRecord[];
  let householdRecords: StoredRecord[];
  /** Every department's access log, every chain. */
  let departmentRecords: StoredRecord[];
  let reconcileOutput: string;
  /** Request IDs of the requests household refused for their purpose (403, logged with a receipt). */
  const refusedByHousehold = new Set<string>();
  /** A request answered whole after household's restart. */
  let answeredAfterRestart: string;

  test('killed mid-load and restarted on its port: audit:verify, audit:verify --department household and audit:reconcile all pass, every difference explained', async () => {
    const { dataDir } = fixture;
    // Household checkpoints its log on a clean stop only (as with the gateway, every count is then known): killed, it signs none.
    const householdEnv = { PROOFLESS_CATALOG: narrowedCatalogFile(dataDir), PROOFLESS_ACCESS_LOG_CHAIN_ID: HOUSEHOLD_CHAIN, PROOFLESS_ACCESS_LOG_CHECKPOINT_SECONDS: '0' };
    from = new Date().toISOString();
    let household: DepartmentProcess = tracked(await spawnDepartment('household', dataDir, householdEnv));
    const port = new URL(household.url).port;
    const gateway = tracked(await spawnGateway(stack, dataDir, GATEWAY_CHAIN, gatewayEnv(household.url, dataDir)));
    const service = await stack.serviceHeaders();
    const ungranted = { ...service, 'x-service-item': UNGRANTED_ITEM };

    // 200 requests, 25 in flight at a time: answered facts, refusals at the gateway (purpose), refusals at household (its own purpose check);
    // household SIGKILLed once 80 have their answer, so the rest meet it answering, dying, and gone.
    const killed = new Promise((resolve) => household.child.once('exit', resolve));
    const answers: Array<{ kind: string; status: number; body: any; requestId: string }> = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < 200; i = next++) {
        const kind = i % 10 === 0 ? 'gateway-refused' : i % 10 === 5 ? 'household-refused' : 'answered';
        const query = kind === 'household-refused' ? REFUSED_BY_HOUSEHOLD : ANSWERED(CITIZENS[i % CITIZENS.length]);
        answers.push({ kind, ...(await post(gateway, query, kind === 'gateway-refused' ? ungranted : service)) });
        if (answers.length === 80) household.child.kill('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 25 }, worker));
    await killed;
    for (const answer of answers) if (answer.kind === 'household-refused') refusedByHousehold.add(answer.requestId);
    const householdDown = { message: 'the household department could not answer', extensions: { code: 'DEPARTMENT_UNAVAILABLE', department: 'household' } };
    // Whole answers are told apart from the rest only: which citizen each was is ANSWERED's business, checked after the restart.
    const shapes = answers.map(({ kind, status, body }) => ({ kind, status, body: kind === 'answered' && !body.errors ? 'answered whole' : body }));
    // Every answer is one of three: whole, household's facts withheld as unavailable (it was down, or it refused), or the gateway's refusal.
    expect(new Set(shapes.map((shape) => JSON.stringify(shape)))).toEqual(new Set([
      { kind: 'answered', status: 200, body: 'answered whole' },
      { kind: 'answered', status: 200, body: { errors: [householdDown], data: { citizen: null } } },
      { kind: 'household-refused', status: 200, body: { errors: [householdDown], data: { citizen: null } } },
      { kind: 'gateway-refused', status: 403, body: { errors: [{ message: `application test-window is not granted service item ${UNGRANTED_ITEM}`, extensions: { code: 'FORBIDDEN' } }] } },
    ].map((shape) => JSON.stringify(shape))));
    const outage = shapes.filter((shape) => shape.kind === 'answered' && shape.body !== 'answered whole').length;
    expect(outage).toBeGreaterThan(0);

    household = tracked(await spawnDepartment('household', dataDir, { ...householdEnv, PROOFLESS_HOUSEHOLD_PORT: port }));
    const after = await Promise.all(CITIZENS.map((citizen) => post(gateway, ANSWERED(citizen), service)));
    expect(after.map(({ status, body }) => ({ status, body }))).toEqual(CITIZENS.map((citizen) => ({ status: 200, body: { data: { citizen: FACTS[citizen] } } })));
    answeredAfterRestart = after[0].requestId;
    // The gateway stops: its last checkpoint is signed and sent to the departments it called since the one before.
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    await household.stop();
    await stack.stop();
    isStackRunning = false;
    to = new Date().toISOString();

    gatewayRecords = await readAll(gatewayFile(dataDir), GATEWAY_CHAIN);
    householdRecords = await readAll(householdFile(dataDir), HOUSEHOLD_CHAIN);
    departmentRecords = await readEveryChain(path.join(dataDir, 'access-log'));
    const receipts = gatewayRecords.flatMap((record) => callsOf(record).filter((call) => call.receipt !== null).map((call) => ({ record, call })));

    // Every receipt the gateway holds from household is a record in household's log, of that request, with the digests the receipt names.
    const householdByPlace = new Map(householdRecords.map((record) => [`${record.chainId}\n${record.sequence}`, record]));
    const unmatched = receipts.filter(({ call }) => call.department === 'household').filter(({ record, call }) => {
      const held = householdByPlace.get(`${call.receipt?.chainId}\n${call.receipt?.sequence}`);
      const evidence = held?.exchange as DepartmentAnswerEvidence | undefined;
      return !(held && held.requestId === record.requestId && evidence?.requestDigest === sha256Hex(call.signatureBase) && evidence.answerDigest === call.receipt?.answerDigest);
    });
    expect(unmatched).toEqual([]);

    const run = (script: string, args: string[]) => runScript(script, operator(dataDir), args);
    const witnessedBy = (records: StoredRecord[]) => records.filter((record) => record.exchange?.kind === 'witnessed-checkpoint').length;
    const verify = run('audit-verify', []);
    const gatewayCheckpointTime = await lastCheckpointTime(gatewayFile(dataDir), GATEWAY_CHAIN);
    expect({ status: verify.status, stderr: verify.stderr, lines: verify.stdout.split('\n') }).toEqual({
      status: 0, stderr: '', lines: [
        expect.stringMatching(/^witness \S+audit-witness\.jsonl: \d+ checkpoints of 2 chains$/),
        `witness the household department's access log: ${witnessedBy(householdRecords)} checkpoint${witnessedBy(householdRecords) === 1 ? '' : 's'} of 1 chain`,
        "witness the residence department's access log: 1 checkpoint of 1 chain",
        "witness the license department's access log: 0 checkpoints of 0 chains",
        "witness the service department's access log: 0 checkpoints of 0 chains",
        "witness the audit department's access log: 0 checkpoints of 0 chains",
        `chain ${GATEWAY_CHAIN}: ok, ${gatewayRecords.length} records, last sequence ${gatewayRecords.length}, last checkpoint ${gatewayRecords.length}`,
        expect.stringMatching(/^chain test-[0-9a-f-]+: ok, 0 records, last sequence 0, no checkpoint$/),
        // How far each department's witnessing is behind the gateway's store, per gateway chain: the two it was sent are up to date.
        `household last witnessed checkpoint ${gatewayRecords.length} of chain ${GATEWAY_CHAIN} at ${gatewayCheckpointTime}: the latest the gateway's store holds`,
        expect.stringMatching(/^household witnessed no checkpoint of chain test-[0-9a-f-]+; .*household was not called after it, so none was owed to it$/),
        `residence last witnessed checkpoint ${gatewayRecords.length} of chain ${GATEWAY_CHAIN} at ${gatewayCheckpointTime}: the latest the gateway's store holds`,
        expect.stringMatching(/^residence witnessed no checkpoint of chain test-[0-9a-f-]+; .*residence was not called after it, so none was owed to it$/),
        ...['license', 'service', 'audit'].flatMap((department) => [
          `${department} witnessed no checkpoint of chain ${GATEWAY_CHAIN}; the gateway's store holds checkpoint ${gatewayRecords.length} at ${gatewayCheckpointTime}: none of its records is witnessed; ${department} was not called after it, so none was owed to it`,
          expect.stringMatching(new RegExp(`^${department} witnessed no checkpoint of chain test-[0-9a-f-]+; .*${department} was not called after it, so none was owed to it$`)),
        ]),
        '',
      ],
    });
    const verifyHousehold = run('audit-verify', ['--department', 'household']);
    expect({ status: verifyHousehold.status, stderr: verifyHousehold.stderr, lines: verifyHousehold.stdout.split('\n') }).toEqual({
      status: 0, stderr: '', lines: [
        expect.stringMatching(/^witness the gateway's audit store: \d+ checkpoints? of 1 chain$/),
        `the household department's access log: chain ${HOUSEHOLD_CHAIN}: ok, ${householdRecords.length} records, last sequence ${householdRecords.length}, last checkpoint ${householdRecords.length}`,
        expect.stringMatching(/^the household department's access log: chain household:test-[0-9a-f-]+: ok, 0 records, last sequence 0, no checkpoint$/),
        '',
      ],
    });

    const reconcile = run('audit-reconcile', ['--from', from, '--to', to]);
    reconcileOutput = reconcile.stdout;
    const lines = reconcile.stdout.trim().split('\n');
    // Household's answers the gateway holds no receipt for: logged, then never received (killed before or while sending, or refused: see below).
    const received = new Set(receipts.map(({ call }) => `${call.receipt?.chainId}\n${call.receipt?.sequence}`));
    const neverReceived = householdRecords.filter((record) => record.exchange?.kind === 'department-answer' && !received.has(`${record.chainId}\n${record.sequence}`));
    expect({ status: reconcile.status, stderr: reconcile.stderr, findings: lines.slice(0, -1).map((line) => line.replace(/^EXPLAINED: department household answered request (\S+) \(its record (\d+) of chain (\S+)\) but the answer was never received by the gateway \(its record \d+ of chain (\S+) records the call failed with DEPARTMENT_UNAVAILABLE\): the department stopped or the connection failed$/, '$1 $2 $3 $4')) }).toEqual({
      status: 0, stderr: '', findings: neverReceived.map((record) => `${record.requestId} ${record.sequence} ${HOUSEHOLD_CHAIN} ${GATEWAY_CHAIN}`),
    });
    const gatewayOnly = gatewayRecords.filter((record) => callsOf(record).length === 0).length;
    expect(gatewayOnly).toBe(answers.filter((answer) => answer.kind === 'gateway-refused').length);
    expect(lines.at(-1)).toBe(
      `agree: household, residence, license, service, audit and the gateway from ${from} to ${to}: ${receipts.length} answers matched, ${neverReceived.length} explained, 0 mismatches; ` +
        `expected on one side only: 0 refused by a department before signature verification, ${gatewayOnly} gateway records calling no department, ${witnessedBy(departmentRecords)} witnessed checkpoints, ` +
        // Nobody asked this gateway's /readyz: no department logged a probe.
        '0 readiness probes of the gateway',
    );
  });

  // Found by this test: the gateway kept a receipt only for a 2xx or bad-input 400 answer, so household's logged and signed 403 was
  // recorded as a failed call without a receipt, and reconciliation explained it as an answer "never received by the gateway".
  test('a department\'s purpose refusal: the gateway keeps its receipt, and reconciliation matches it instead of explaining it as never received', () => {
    const explainedRefusals = reconcileOutput.split('\n').filter((line) => line.startsWith('EXPLAINED') && [...refusedByHousehold].some((requestId) => line.includes(requestId)));
    const refusalReceipts = gatewayRecords.filter((record) => refusedByHousehold.has(record.requestId)).flatMap(callsOf).filter((call) => call.failure === 'DEPARTMENT_UNAVAILABLE' && call.receipt?.status === 403);
    expect(refusalReceipts.length).toBeGreaterThan(0);
    expect(explainedRefusals).toEqual([]);
  });

  test('a receipt exported from a real answer verifies offline with the public keys only, and fails whichever single byte of it changes', () => {
    const operatorEnv = operator(fixture.dataDir);
    const exported = runScript('audit-receipt', operatorEnv, [answeredAfterRestart]);
    expect({ status: exported.status, stderr: exported.stderr }).toEqual({ status: 0, stderr: '' });
    const file = path.join(fixture.dataDir, 'receipt.json');
    writeFileSync(file, exported.stdout);
    const verified = runScript('audit-verify-receipt', operatorEnv, [file]);
    expect({ status: verified.status, failed: verified.stdout.split('\n').filter((line) => line.startsWith('FAIL')), last: verified.stdout.trim().split('\n').at(-1) }).toEqual({ status: 0, failed: [], last: `${file}: verified` });
    expect(verified.stdout.split('\n').filter((line) => line.includes('receipt verifies'))).toEqual([
      expect.stringMatching(new RegExp(`: call 1 to household: household's receipt verifies: it answered with status 200 and logged it as record \\d+ of chain ${HOUSEHOLD_CHAIN} at `)),
      expect.stringMatching(/: call 2 to residence: residence's receipt verifies: it answered with status 200 and logged it as record \d+ of chain residence:test-/),
    ]);

    const keys = transportEnv();
    const trust = {
      auditKeys: trustedKeys([loadPublicKey(path.join(fixture.dataDir, 'audit-signing-key.pem'))]),
      gatewayKeys: loadTrustList(keys.PROOFLESS_GATEWAY_KEYS_FILE),
      departmentKeys: loadTrustList(keys.PROOFLESS_DEPARTMENT_KEYS_FILE),
    };
    const bytes = Buffer.from(exported.stdout, 'utf8');
    expect(checkReceiptExport(bytes, trust).filter((line) => !line.ok)).toEqual([]);
    const stillVerifying: number[] = [];
    for (let index = 0; index < bytes.length; index += 1) {
      const changed = Buffer.from(bytes);
      changed[index] ^= 0x01;
      if (checkReceiptExport(changed, trust).every((line) => line.ok)) stillVerifying.push(index);
    }
    expect(stillVerifying).toEqual([]);
  });

  describe('tampering, on a copy of that evidence each time: the command that covers it names the side and the sequence', () => {
    let copy: string;
    /** The first gateway record that holds a household receipt, and the household record it names. */
    let victim: { gateway: StoredRecord; household: StoredRecord; residenceChain: string; residenceSequence: number };
    const run = (script: string, args: string[] = []) => runScript(script, operator(copy), args);
    const sql = (file: string, text: string) => {
      const database = new Database(file);
      database.exec(text);
      database.close();
    };
    const mismatches = (output: string) => output.split('\n').filter((line) => line.startsWith('MISMATCH'));
    const chainLine = (output: string, chainId: string) => output.split('\n').find((line) => line.startsWith(`chain ${chainId}: `) || line.includes(`: chain ${chainId}: `));

    beforeAll(() => {
      // An answer of both household and residence, in the middle of household's chain (a first record deleted reads as a chain starting later).
      const gateway = gatewayRecords.find((record) => callsOf(record).some((call) => call.department === 'household' && (call.receipt?.sequence ?? 0) > 10) &&
        callsOf(record).some((call) => call.department === 'residence' && call.receipt !== null)) as StoredRecord;
      const receiptOf = (department: string) => callsOf(gateway).find((call) => call.department === department)?.receipt;
      victim = {
        gateway,
        household: householdRecords.find((record) => record.sequence === receiptOf('household')?.sequence) as StoredRecord,
        residenceChain: receiptOf('residence')?.chainId as string,
        residenceSequence: receiptOf('residence')?.sequence as number,
      };
    });
    beforeEach(() => {
      copy = mkdtempSync(path.join(os.tmpdir(), 'proofless-both-sides-'));
      scratch.push(copy);
      cpSync(fixture.dataDir, copy, { recursive: true });
    });

    test('a gateway record deleted: audit:verify names the gap in the gateway\'s chain; audit:reconcile the departments\' answers it no longer has', () => {
      const { gateway, household } = victim;
      sql(gatewayFile(copy), `DELETE FROM audit_record WHERE chain_id = '${GATEWAY_CHAIN}' AND sequence = ${gateway.sequence}; DELETE FROM audit_record_citizen WHERE chain_id = '${GATEWAY_CHAIN}' AND sequence = ${gateway.sequence}`);
      const verify = run('audit-verify');
      const n = gatewayRecords.length;
      expect({ status: verify.status, line: chainLine(verify.stdout, GATEWAY_CHAIN) }).toEqual({
        status: 1,
        line: `chain ${GATEWAY_CHAIN}: BAD at record ${gateway.sequence}: record ${gateway.sequence} missing: sequence jumps from ${gateway.sequence - 1} to ${gateway.sequence + 1} (${n - 1} records, last sequence ${n}, last checkpoint ${n})`,
      });
      const reconcile = run('audit-reconcile', ['--from', from, '--to', to]);
      expect({ status: reconcile.status, mismatches: mismatches(reconcile.stdout) }).toEqual({
        status: 1,
        mismatches: [
          `MISMATCH: department household answered request ${gateway.requestId} (its record ${household.sequence} of chain ${HOUSEHOLD_CHAIN}); the gateway store has no record of ${gateway.requestId}`,
          `MISMATCH: department residence answered request ${gateway.requestId} (its record ${victim.residenceSequence} of chain ${victim.residenceChain}); the gateway store has no record of ${gateway.requestId}`,
        ],
      });
    });

    test('a gateway record\'s purpose edited, its hash recomputed and the chain re-linked after it: audit:verify catches it through the signed checkpoint; audit:reconcile through the purpose', () => {
      const { gateway, household } = victim;
      let previousHash = gateway.previousHash;
      const updates = gatewayRecords.filter((record) => record.sequence >= gateway.sequence).map((record) => {
        const { hash: _old, ...rest } = record;
        const edited = { ...rest, previousHash, caseNumber: record.sequence === gateway.sequence ? 'CASE-2026-9999' : record.caseNumber };
        previousHash = recordHash(edited);
        return `UPDATE audit_record SET case_number = '${edited.caseNumber}', previous_hash = '${edited.previousHash}', hash = '${previousHash}' WHERE chain_id = '${GATEWAY_CHAIN}' AND sequence = ${record.sequence};`;
      });
      sql(gatewayFile(copy), updates.join('\n'));
      const verify = run('audit-verify');
      const n = gatewayRecords.length;
      // The only checkpoint before the one at n is the chain's opening one: the rewrite is placed between them, from record 1.
      expect({ status: verify.status, line: chainLine(verify.stdout, GATEWAY_CHAIN) }).toEqual({
        status: 1,
        line: `chain ${GATEWAY_CHAIN}: BAD at record 1: checkpoint at ${n}: record ${n} differs from the one signed: one of records 1 to ${n} was rewritten (${n} records, last sequence ${n}, no checkpoint)`,
      });
      const reconcile = run('audit-reconcile', ['--from', from, '--to', to]);
      expect({ status: reconcile.status, mismatches: mismatches(reconcile.stdout) }).toEqual({
        status: 1,
        mismatches: [
          `MISMATCH: request ${gateway.requestId}: department household's record ${household.sequence} of chain ${HOUSEHOLD_CHAIN} and the gateway's record ${gateway.sequence} of chain ${GATEWAY_CHAIN} differ in caseNumber`,
          `MISMATCH: request ${gateway.requestId}: department residence's record ${victim.residenceSequence} of chain ${victim.residenceChain} and the gateway's record ${gateway.sequence} of chain ${GATEWAY_CHAIN} differ in caseNumber`,
        ],
      });
    });

    test('the gateway\'s tail cut with its last checkpoint (and the witness file beside it): audit:verify names the department that witnessed the checkpoint; audit:reconcile the answers the gateway lost', () => {
      const n = gatewayRecords.length;
      const cut = n - 3;
      sql(gatewayFile(copy), `DELETE FROM audit_record WHERE chain_id = '${GATEWAY_CHAIN}' AND sequence >= ${cut}; DELETE FROM audit_record_citizen WHERE chain_id = '${GATEWAY_CHAIN}' AND sequence >= ${cut}; DELETE FROM audit_checkpoint WHERE chain_id = '${GATEWAY_CHAIN}' AND sequence = ${n}`);
      rmSync(path.join(copy, 'audit-witness.jsonl'));
      const verify = run('audit-verify');
      const witness = householdRecords.find((record) => record.exchange?.kind === 'witnessed-checkpoint' && (record.exchange as { checkpoint: { sequence: number } }).checkpoint.sequence === n) as StoredRecord;
      expect({ status: verify.status, line: chainLine(verify.stdout, GATEWAY_CHAIN) }).toEqual({
        status: 1,
        line: `chain ${GATEWAY_CHAIN}: BAD at record ${cut}: checkpoint at ${n} (witness the household department's access log, record ${witness.sequence} of chain ${HOUSEHOLD_CHAIN}) is past the last record ${cut - 1}: the tail was cut (${cut - 1} records, last sequence ${cut - 1}, no checkpoint)`,
      });
      const reconcile = run('audit-reconcile', ['--from', from, '--to', to]);
      const lost = new Set(gatewayRecords.filter((record) => record.sequence >= cut).map((record) => record.requestId));
      const answeredLost = departmentRecords.filter((record) => lost.has(record.requestId) && record.exchange?.kind === 'department-answer');
      // Sorted: a log's records are read in the order of their arrival times, which under load is not always their sequence's.
      expect({ status: reconcile.status, mismatches: mismatches(reconcile.stdout).sort() }).toEqual({
        status: 1,
        mismatches: answeredLost.map((record) => `MISMATCH: department ${(record.exchange as DepartmentAnswerEvidence).department} answered request ${record.requestId} (its record ${record.sequence} of chain ${record.chainId}); the gateway store has no record of ${record.requestId}`).sort(),
      });
      expect(answeredLost.length).toBe(8);
    });

    test('a household record deleted: audit:verify --department household names the gap; audit:reconcile the gateway receipt naming it', () => {
      const { gateway, household } = victim;
      sql(householdFile(copy), `DELETE FROM audit_record WHERE chain_id = '${HOUSEHOLD_CHAIN}' AND sequence = ${household.sequence}; DELETE FROM audit_record_citizen WHERE chain_id = '${HOUSEHOLD_CHAIN}' AND sequence = ${household.sequence}`);
      const verify = run('audit-verify', ['--department', 'household']);
      const m = householdRecords.length;
      expect({ status: verify.status, line: chainLine(verify.stdout, HOUSEHOLD_CHAIN) }).toEqual({
        status: 1,
        line: `the household department's access log: chain ${HOUSEHOLD_CHAIN}: BAD at record ${household.sequence}: record ${household.sequence} missing: sequence jumps from ${household.sequence - 1} to ${household.sequence + 1} (${m - 1} records, last sequence ${m}, last checkpoint ${m})`,
      });
      const reconcile = run('audit-reconcile', ['--from', from, '--to', to]);
      expect({ status: reconcile.status, mismatches: mismatches(reconcile.stdout) }).toEqual({
        status: 1,
        mismatches: [`MISMATCH: the gateway's record ${gateway.sequence} of chain ${GATEWAY_CHAIN} holds department household's receipt for request ${gateway.requestId} at its record ${household.sequence} of chain ${HOUSEHOLD_CHAIN}; department household's log has no such record`],
      });
    });

    test('a household record edited: audit:verify --department household names it; audit:reconcile the purpose the sides disagree on', () => {
      const { gateway, household } = victim;
      sql(householdFile(copy), `UPDATE audit_record SET case_number = 'CASE-2026-9999' WHERE chain_id = '${HOUSEHOLD_CHAIN}' AND sequence = ${household.sequence}`);
      const verify = run('audit-verify', ['--department', 'household']);
      const m = householdRecords.length;
      expect({ status: verify.status, line: chainLine(verify.stdout, HOUSEHOLD_CHAIN) }).toEqual({
        status: 1,
        line: `the household department's access log: chain ${HOUSEHOLD_CHAIN}: BAD at record ${household.sequence}: record ${household.sequence}: hash does not match its contents (${m} records, last sequence ${m}, last checkpoint ${m})`,
      });
      const reconcile = run('audit-reconcile', ['--from', from, '--to', to]);
      expect({ status: reconcile.status, mismatches: mismatches(reconcile.stdout) }).toEqual({
        status: 1,
        mismatches: [`MISMATCH: request ${gateway.requestId}: department household's record ${household.sequence} of chain ${HOUSEHOLD_CHAIN} and the gateway's record ${gateway.sequence} of chain ${GATEWAY_CHAIN} differ in caseNumber`],
      });
    });

    test('household\'s tail cut with its closing checkpoint: audit:reconcile names every receipt the gateway holds for a record cut; audit:verify --department alone cannot see it', () => {
      const m = householdRecords.length;
      const cut = m - 6;
      sql(householdFile(copy), `DELETE FROM audit_record WHERE chain_id = '${HOUSEHOLD_CHAIN}' AND sequence >= ${cut}; DELETE FROM audit_record_citizen WHERE chain_id = '${HOUSEHOLD_CHAIN}' AND sequence >= ${cut}; DELETE FROM audit_checkpoint WHERE chain_id = '${HOUSEHOLD_CHAIN}' AND sequence >= ${cut}`);
      // The only checkpoint of household's the gateway ever recorded is its chain's opening one: household checkpoints on a clean stop only
      // here (every 60 s by default), and it was killed, then stopped after the gateway. The cut is inside the window README states for a
      // department's own verification: after the last of its checkpoints the gateway holds.
      const seen = gatewayRecords.flatMap((record) => (record.exchange as GatewayCallsEvidence | null)?.departmentCheckpoints ?? []).filter((checkpoint) => checkpoint.chainId === HOUSEHOLD_CHAIN);
      expect(new Set(seen.map((checkpoint) => checkpoint.sequence))).toEqual(new Set([0]));
      const verify = run('audit-verify', ['--department', 'household']);
      expect({ status: verify.status, line: chainLine(verify.stdout, HOUSEHOLD_CHAIN) }).toEqual({
        status: 0, line: `the household department's access log: chain ${HOUSEHOLD_CHAIN}: ok, ${cut - 1} records, last sequence ${cut - 1}, no checkpoint`,
      });
      const reconcile = run('audit-reconcile', ['--from', from, '--to', to]);
      const cutReceipts = gatewayRecords.flatMap((record) => callsOf(record).filter((call) => call.department === 'household' && (call.receipt?.sequence ?? 0) >= cut).map((call) => ({ record, receipt: call.receipt as DepartmentReceipt })));
      expect(cutReceipts.length).toBeGreaterThan(0);
      // Sorted: reconcile goes through the gateway's records in the order of their arrival times, which is not the order of their sequence under load.
      expect({ status: reconcile.status, mismatches: mismatches(reconcile.stdout).sort() }).toEqual({
        status: 1,
        mismatches: cutReceipts.map(({ record, receipt }) => `MISMATCH: the gateway's record ${record.sequence} of chain ${GATEWAY_CHAIN} holds department household's receipt for request ${record.requestId} at its record ${receipt.sequence} of chain ${HOUSEHOLD_CHAIN}; department household's log has no such record`).sort(),
      });
    });
  });
});

/** Every record of every chain in every SQLite store in `folder`. */
async function readEveryChain(folder: string): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  for (const name of readdirSync(folder).filter((file) => file.endsWith('.sqlite'))) {
    const store = await openSqliteAuditStore(path.join(folder, name));
    try {
      for (const chainId of await store.listChains()) records.push(...(await store.readChain(chainId, 0, 1_000_000)));
    } finally {
      await store.close();
    }
  }
  return records;
}
