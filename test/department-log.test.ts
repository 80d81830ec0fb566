import type { StoredRecord } from '../audit/entry';
import type { AuditLog } from '../audit/log';
import { auditEntry } from './helpers/audit-stores';
import { openWorld, postgresStores, runScript, sqliteStores, type Stores } from './helpers/exchange-stores';

/**
 * department:log: a department's own traffic from its own access log, without the
 * gateway: its records as JSON Lines, or operational figures with no citizen in them.
 */

const CITIZEN = '330106199001011234';

describe.each([
  ['SQLite', () => sqliteStores(['household'])],
  ['PostgreSQL', () => postgresStores('household')],
])('department:log on %s', (_kind, create) => {
  let stores: Stores;
  let records: StoredRecord[];

  /** household's log: 3 answers to hz-social-security's pension-application (12, 40, 100 ms), one refused, one error to hz-housing, and a witnessed checkpoint. */
  beforeAll(async () => {
    stores = await create();
    const world = await openWorld(stores);
    const household = world.departments.get('household') as AuditLog;
    await world.exchange({ requestId: 'r-1', department: 'household', time: '2024-06-01T09:00:00.000Z', departmentEntry: { latencyMs: 12 } });
    await world.exchange({ requestId: 'r-2', department: 'household', time: '2024-06-01T10:00:00.000Z', departmentEntry: { latencyMs: 40 } });
    await world.exchange({ requestId: 'r-3', department: 'household', time: '2024-06-01T11:00:00.000Z', departmentEntry: { latencyMs: 100, outcome: 'refused', errorCodes: ['PURPOSE_REQUIRED'] } });
    const housing = { application: 'hz-housing', serviceItem: 'housing-subsidy' };
    await world.exchange({ requestId: 'r-4', department: 'household', time: '2024-06-01T12:00:00.000Z', gatewayEntry: housing, departmentEntry: { latencyMs: 7, outcome: 'error', errorCodes: ['INTERNAL'] } });
    const checkpoint = await world.gateway.checkpoint();
    await household.record(auditEntry({ requestId: 'witness-1', time: '2024-06-01T12:30:00.000Z', citizens: [], exchange: { kind: 'witnessed-checkpoint', gatewayKeyId: 'gateway-1', checkpoint: checkpoint! } }));
    await world.close();
    records = await stores.departments.household.readChain('household:host-1', 0, 100);
  });
  afterAll(() => stores.close());

  const lines = (stdout: string) => stdout.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as unknown);

  test('every record of the department\'s log, oldest first, as the store holds them, exit 0', () => {
    const result = runScript('department-log', stores, ['household']);
    expect({ status: result.status, stderr: result.stderr, records: lines(result.stdout) }).toEqual({ status: 0, stderr: '', records: JSON.parse(JSON.stringify(records)) });
    expect(records.map((record) => record.requestId)).toEqual(['r-1', 'r-2', 'r-3', 'r-4', 'witness-1']);
  });

  test('--from and --to: the records with from <= time < to', () => {
    const result = runScript('department-log', stores, ['household', '--from', '2024-06-01T10:00:00Z', '--to', '2024-06-01T12:00:00Z']);
    expect(lines(result.stdout)).toEqual(JSON.parse(JSON.stringify(records.slice(1, 3))));
  });

  test('--summary: requests, refusals, errors and latency per application and service item, no citizen, exit 0', () => {
    const result = runScript('department-log', stores, ['household', '--summary']);
    expect({ status: result.status, stderr: result.stderr, figures: lines(result.stdout) }).toEqual({
      status: 0,
      stderr: '',
      figures: [
        { application: 'hz-housing', serviceItem: 'housing-subsidy', requests: 1, refusals: 0, errors: 1, latencyP50Ms: 7, latencyP95Ms: 7 },
        { application: 'hz-social-security', serviceItem: 'pension-application', requests: 3, refusals: 1, errors: 0, latencyP50Ms: 40, latencyP95Ms: 100 },
      ],
    });
    expect(result.stdout).not.toContain(CITIZEN);
    expect(lines(runScript('department-log', stores, ['household']).stdout).some((record) => JSON.stringify(record).includes(CITIZEN))).toBe(true);
  });

  test.each([
    [[], 'department-log: the department is required\n'],
    [['treasury'], 'department-log: the department must be one of household, residence, license, service, audit (schema/departments.json), got "treasury"\n'],
    [['household', '--from', 'yesterday'], 'department-log: --from must be an ISO instant such as 2024-06-01T09:30:00Z, got "yesterday"\n'],
  ])('%j: a message, exit 2', (args, message) => {
    const result = runScript('department-log', stores, args);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr.split('usage:')[0] }).toEqual({ status: 2, stdout: '', stderr: message });
  });
});

test('a department whose log does not exist: exit 1, naming where it looked', async () => {
  const stores = await sqliteStores([]);
  try {
    expect(runScript('department-log', stores, ['residence'])).toEqual({
      status: 1, stdout: '', stderr: `department-log: no audit log at ${stores.dataDir}/access-log/residence.sqlite\n`,
    });
  } finally {
    await stores.close();
  }
});
