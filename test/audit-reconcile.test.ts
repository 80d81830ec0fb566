import type { StoredRecord } from '../audit/entry';
import type { DepartmentAnswerEvidence, GatewayCallsEvidence } from '../audit/exchange';
import { reconcile } from '../audit/reconcile';
import { auditEntry } from './helpers/audit-stores';
import { openWorld, postgresStores, runScript, sqliteStores, type Stores } from './helpers/exchange-stores';

/**
 * audit:reconcile: the departments' access logs against the gateway's records, on both
 * stores the log runs on, the command run as an operator runs it (environment only).
 */

const PERIOD = { from: '2024-06-01T00:00:00.000Z', to: '2024-06-02T00:00:00.000Z' };

function run(stores: Stores, args: string[]) {
  // PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA names one schema for every department: the department must be named.
  return runScript('audit-reconcile', stores, stores.env.PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA && !args.includes('--department') ? [...args, '--department', 'household'] : args);
}

/** A department's refusal of a request whose signature it never verified: its record alone. */
function refusalBeforeVerification(): DepartmentAnswerEvidence {
  return { kind: 'department-answer', department: 'household', gatewayKeyId: null, requestDigest: null, bodyDigest: 'b'.repeat(64), answerDigest: 'c'.repeat(64), status: 401 };
}

const summary = (figures: { matched: number; explained: number; mismatches: number; refused?: number; gatewayOnly?: number }, departments = 'household') =>
  `${figures.mismatches === 0 ? 'agree' : 'DISAGREE'}: ${departments} and the gateway from ${PERIOD.from} to ${PERIOD.to}: ${figures.matched} answer${figures.matched === 1 ? '' : 's'} matched, ` +
  `${figures.explained} explained, ${figures.mismatches} mismatch${figures.mismatches === 1 ? '' : 'es'}; expected on one side only: ${figures.refused ?? 1} refused by a department before signature verification, ` +
  `${figures.gatewayOnly ?? 1} gateway record${(figures.gatewayOnly ?? 1) === 1 ? '' : 's'} calling no department, 0 witnessed checkpoints, 0 readiness probes of the gateway\n`;

const EXPLAINED_R2 = 'EXPLAINED: department household answered request r-2 (its record 2 of chain household:host-1) but the answer was never received by the gateway ' +
  '(its record 2 of chain gw-1 records the call failed with DEPARTMENT_TIMEOUT): the department stopped or the connection failed\n';

describe.each([
  ['SQLite', () => sqliteStores(['household'])],
  ['PostgreSQL', () => postgresStores('household')],
])('audit:reconcile on %s', (_kind, create) => {
  let stores: Stores;

  /**
   * The period holds: r-1 answered and received; r-2 answered by household but timed out
   * at the gateway; a request household refused before verifying its signature; a
   * request the gateway refused itself; and r-edge, recorded by the gateway just before
   * the period's end and by household just after it.
   */
  beforeEach(async () => {
    stores = await create();
    const world = await openWorld(stores);
    await world.exchange({ requestId: 'r-1', department: 'household', time: '2024-06-01T09:30:00.000Z' });
    await world.exchange({ requestId: 'r-2', department: 'household', time: '2024-06-01T09:31:00.000Z', failure: 'DEPARTMENT_TIMEOUT' });
    await world.departments.get('household')?.record(auditEntry({ requestId: 'r-3', time: '2024-06-01T09:32:00.000Z', citizens: [], outcome: 'refused', exchange: refusalBeforeVerification() }));
    await world.gateway.record(auditEntry({ requestId: 'r-4', time: '2024-06-01T09:33:00.000Z', departments: [], outcome: 'refused' }));
    await world.exchange({ requestId: 'r-edge', department: 'household', time: '2024-06-01T23:59:59.900Z', departmentEntry: { time: '2024-06-02T00:00:00.100Z' } });
    await world.close();
  });
  afterEach(() => stores.close());

  test('both sides agree; the answer the gateway never received is explained, exit 0', () => {
    expect(run(stores, ['--from', PERIOD.from, '--to', PERIOD.to])).toEqual({
      status: 0,
      stdout: EXPLAINED_R2 +
        summary({ matched: 1, explained: 1, mismatches: 0 }),
      stderr: '',
    });
  });

  test('the gateway\'s record of an answered request deleted: the department\'s record names it, exit 1', async () => {
    await stores.sql('gateway', "DELETE FROM audit_record WHERE request_id = 'r-1'");
    expect(run(stores, ['--from', PERIOD.from, '--to', PERIOD.to])).toEqual({
      status: 1,
      stdout: 'MISMATCH: department household answered request r-1 (its record 1 of chain household:host-1); the gateway store has no record of r-1\n' +
        EXPLAINED_R2 + summary({ matched: 0, explained: 1, mismatches: 1 }),
      stderr: '',
    });
  });

  test('the department\'s record of an answer the gateway holds a receipt for deleted: the gateway\'s record names it, exit 1', async () => {
    await stores.sql('household', "DELETE FROM audit_record WHERE request_id = 'r-1'");
    expect(run(stores, ['--from', PERIOD.from, '--to', PERIOD.to])).toEqual({
      status: 1,
      stdout: EXPLAINED_R2 +
        'MISMATCH: the gateway\'s record 1 of chain gw-1 holds department household\'s receipt for request r-1 at its record 1 of chain household:host-1; department household\'s log has no such record\n' +
        summary({ matched: 0, explained: 1, mismatches: 1 }),
      stderr: '',
    });
  });

  test('the purpose edited on the department\'s side: both records named, the members that differ, exit 1', async () => {
    await stores.sql('household', "UPDATE audit_record SET case_number = 'CASE-FORGED', officer = 'officer-999' WHERE request_id = 'r-1'");
    expect(run(stores, ['--from', PERIOD.from, '--to', PERIOD.to])).toEqual({
      status: 1,
      stdout: 'MISMATCH: request r-1: department household\'s record 1 of chain household:host-1 and the gateway\'s record 1 of chain gw-1 differ in officer, caseNumber\n' +
        EXPLAINED_R2 + summary({ matched: 0, explained: 1, mismatches: 1 }),
      stderr: '',
    });
  });
});

describe('audit:reconcile without the slack, and its usage', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await sqliteStores(['household', 'residence']);
    const world = await openWorld(stores);
    await world.exchange({ requestId: 'r-edge', department: 'household', time: '2024-06-01T23:59:59.900Z', departmentEntry: { time: '2024-06-02T00:00:00.100Z' } });
    await world.exchange({ requestId: 'r-res', department: 'residence', time: '2024-06-01T10:00:00.000Z' });
    await world.close();
  });
  afterAll(() => stores.close());

  test('every department whose log exists by default; a call near the period\'s start is matched across it, but not without slack', () => {
    const figures = { matched: 1, explained: 0, mismatches: 0, refused: 0, gatewayOnly: 0 };
    expect(run(stores, ['--from', PERIOD.from, '--to', PERIOD.to])).toEqual({ status: 0, stdout: summary(figures, 'household, residence'), stderr: '' });
    // r-edge called household: with residence alone, the gateway's record of it is one calling none of the departments compared.
    expect(run(stores, ['--from', PERIOD.from, '--to', PERIOD.to, '--department', 'residence'])).toEqual({ status: 0, stdout: summary({ ...figures, gatewayOnly: 1 }, 'residence'), stderr: '' });
    // household recorded r-edge just after midnight, the gateway just before: matched across the edge by the default slack.
    const nextDay = (text: string) => text.replace(`from ${PERIOD.from} to ${PERIOD.to}`, 'from 2024-06-02T00:00:00.000Z to 2024-06-03T00:00:00.000Z');
    const next = ['--from', '2024-06-02T00:00:00Z', '--to', '2024-06-03T00:00:00Z', '--department', 'household'];
    expect(run(stores, next)).toEqual({ status: 0, stdout: nextDay(summary(figures)), stderr: '' });
    expect(run(stores, [...next, '--slack-seconds', '0'])).toEqual({
      status: 1,
      stdout: 'MISMATCH: department household answered request r-edge (its record 1 of chain household:host-1); the gateway store has no record of r-edge\n' +
        nextDay(summary({ ...figures, matched: 0, mismatches: 1 })),
      stderr: '',
    });
  });

  test.each([
    [['--from', PERIOD.from], 'audit-reconcile: --to is required\n'],
    [['--from', PERIOD.to, '--to', PERIOD.from], `audit-reconcile: --from must be before --to, got --from ${PERIOD.to} and --to ${PERIOD.from}\n`],
    [['--from', PERIOD.from, '--to', PERIOD.to, '--department', 'treasury'], 'audit-reconcile: --department must be one of household, residence, license, service, audit (schema/departments.json), got "treasury"\n'],
    [['--from', PERIOD.from, '--to', PERIOD.to, '--slack-seconds', '1.5'], 'audit-reconcile: --slack-seconds must be a whole number of seconds from 0 to 86400, got "1.5"\n'],
  ])('%j: a message, exit 2', (args, message) => {
    const result = run(stores, args);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr.split('usage:')[0] }).toEqual({ status: 2, stdout: '', stderr: message });
  });
});

describe('reconcile(): what each side can hold that the other does not', () => {
  let stores: Stores;
  let gateway: StoredRecord[];
  let household: StoredRecord[];
  beforeAll(async () => {
    stores = await sqliteStores(['household']);
    const world = await openWorld(stores);
    await world.exchange({ requestId: 'r-1', department: 'household' });
    await world.close();
    gateway = await stores.gateway.readChain('gw-1', 0, 10);
    household = await stores.departments.household.readChain('household:host-1', 0, 10);
  });
  afterAll(() => stores.close());

  const texts = (gatewayRecords: StoredRecord[], departmentRecords: StoredRecord[]) =>
    reconcile({ ...PERIOD, gatewayRecords, departmentRecords: new Map([['household', departmentRecords]]) }).findings.map((finding) => finding.text);
  const calls = (record: StoredRecord) => (record.exchange as GatewayCallsEvidence).calls;
  const answer = (record: StoredRecord) => record.exchange as DepartmentAnswerEvidence;

  test('agreeing sides: no finding', () => {
    expect(texts(gateway, household)).toEqual([]);
  });

  test('a different answer digest on the department\'s side, and citizens the gateway\'s record does not name', () => {
    const edited = { ...household[0], citizens: ['110101199003074477', '330106199001011234'], exchange: { ...answer(household[0]), answerDigest: 'e'.repeat(64) } };
    expect(texts(gateway, [edited])).toEqual([
      "request r-1: department household's record 1 of chain household:host-1 and the gateway's record 1 of chain gw-1 differ in answerDigest, citizens (1 the department names that the gateway's record does not)",
    ]);
  });

  test('the gateway\'s receipt names another record of the department\'s log, which is another request', () => {
    const other = { ...household[0], sequence: 2, requestId: 'r-9' };
    const moved = { ...gateway[0], exchange: { kind: 'gateway-calls' as const, departmentCheckpoints: [], calls: [{ ...calls(gateway[0])[0], receipt: { ...calls(gateway[0])[0].receipt!, sequence: 2 } }] } };
    expect(texts([moved], [household[0], other])).toEqual([
      "request r-1: the gateway's record 1 of chain gw-1 holds department household's receipt for record 2 of chain household:host-1, not for its record 1 of chain household:host-1",
      'department household answered request r-9 (its record 2 of chain household:host-1); the gateway store has no record of r-9',
      "the gateway's record 1 of chain gw-1 holds department household's receipt for request r-1 at its record 2 of chain household:host-1, but that record differs in request ID",
    ]);
  });

  test('the request the department answered is not the one the gateway signed', () => {
    const edited = { ...household[0], exchange: { ...answer(household[0]), requestDigest: 'f'.repeat(64) } };
    expect(texts(gateway, [edited])).toEqual([
      "department household answered request r-1 (its record 1 of chain household:host-1) with a request digest the gateway's record 1 of chain gw-1 did not sign: the request differs between the sides",
      "the gateway's record 1 of chain gw-1 holds department household's receipt for request r-1 at its record 1 of chain household:host-1, but that record differs in requestDigest",
    ]);
  });

  test('an answer of another department in household\'s log', () => {
    expect(texts(gateway, [{ ...household[0], exchange: { ...answer(household[0]), department: 'residence' } }])).toEqual([
      "department household's record 1 of chain household:host-1 (request r-1) is an answer of another department: it was written into the wrong log",
      "the gateway's record 1 of chain gw-1 holds department household's receipt for request r-1 at its record 1 of chain household:host-1, but that record differs in department",
    ]);
  });

  test('a gateway record without the call: the department\'s answer is unexplained', () => {
    expect(texts([{ ...gateway[0], exchange: null }], household)).toEqual([
      "department household answered request r-1 (its record 1 of chain household:host-1); the gateway's record 1 of chain gw-1 of r-1 names no call to household",
    ]);
  });
});
