import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { checkTrafficPeriod, departmentLogLocationsFromEnv, departmentTrafficReader, DepartmentLogUnreadableError } from '../audit/department-traffic';
import type { AuditLog } from '../audit/log';
import { openAuditStore } from '../audit/open-store';
import { createLogger } from '../lib/logger';
import { auditEntry, TEST_DATABASE_URL } from './helpers/audit-stores';
import { openWorld, postgresStores, sqliteStores, type Stores } from './helpers/exchange-stores';

/**
 * What `departmentTraffic` reads: one department's access log, opened read-only where the
 * auditors' department's environment says it is, summed per application and service item
 * for a period; a log not there yet is no traffic, a log that cannot be read an error
 * naming the department and nothing of where it is.
 */

const CITIZEN = '330106199001011234';
const DEPARTMENTS = ['household', 'residence', 'license', 'service', 'audit'];
const WHOLE_DAY = { from: '2024-06-01T00:00:00.000Z', to: '2024-06-02T00:00:00.000Z' };

/** household's log: 3 answers to hz-social-security's pension-application (12, 40, 100 ms), one refused, one error to hz-housing, a witnessed checkpoint. */
async function writeHouseholdTraffic(stores: Stores): Promise<void> {
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
}

const WHOLE_DAY_FIGURES = [
  { application: 'hz-housing', serviceItem: 'housing-subsidy', requests: 1, refusals: 0, errors: 1, latencyP50Ms: 7, latencyP95Ms: 7 },
  { application: 'hz-social-security', serviceItem: 'pension-application', requests: 3, refusals: 1, errors: 0, latencyP50Ms: 40, latencyP95Ms: 100 },
];

/** A PostgreSQL role that may log in and read `schema` and nothing else: what a department grants the auditors' host. */
async function selectOnlyRole(schema: string | null): Promise<{ url: string; drop(): Promise<void> }> {
  const role = `traffic_reader_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new Pool({ connectionString: TEST_DATABASE_URL, max: 1 });
  await admin.query(`CREATE ROLE ${role} LOGIN`);
  if (schema) await admin.query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA "${schema}" TO ${role}`);
  const url = new URL(TEST_DATABASE_URL);
  url.username = role;
  return {
    url: url.toString(),
    async drop() {
      if (schema) await admin.query(`REVOKE ALL ON ALL TABLES IN SCHEMA "${schema}" FROM ${role}; REVOKE ALL ON SCHEMA "${schema}" FROM ${role}`);
      await admin.query(`DROP ROLE ${role}`);
      await admin.end();
    },
  };
}

describe('on SQLite, in the data folder as `npm start` keeps it', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await sqliteStores(['household']);
    await writeHouseholdTraffic(stores);
  });
  afterAll(() => stores.close());
  const reader = () => departmentTrafficReader(departmentLogLocationsFromEnv({ PROOFLESS_DATA_DIR: stores.dataDir }, DEPARTMENTS));

  test('the figures per application and service item, no citizen, officer or case in them; witnessed checkpoints are no requests', async () => {
    const traffic = await reader()('household', WHOLE_DAY);
    expect(traffic).toEqual({ department: 'household', ...WHOLE_DAY, hasLog: true, figures: WHOLE_DAY_FIGURES });
    expect(JSON.stringify(traffic)).not.toMatch(new RegExp(`${CITIZEN}|officer|case`));
  });

  test('only the records with from <= time < to count', async () => {
    expect(await reader()('household', { from: '2024-06-01T10:00:00.000Z', to: '2024-06-01T12:00:00.000Z' })).toEqual({
      department: 'household', from: '2024-06-01T10:00:00.000Z', to: '2024-06-01T12:00:00.000Z', hasLog: true,
      figures: [{ application: 'hz-social-security', serviceItem: 'pension-application', requests: 2, refusals: 1, errors: 0, latencyP50Ms: 40, latencyP95Ms: 100 }],
    });
  });

  test('a department with no log yet: no traffic, not an error', async () => {
    expect(await reader()('residence', WHOLE_DAY)).toEqual({ department: 'residence', ...WHOLE_DAY, hasLog: false, figures: [] });
  });

  test('a file that is not a log: DepartmentLogUnreadableError naming the department, not the path; the operators\' log says why', async () => {
    writeFileSync(path.join(stores.dataDir, 'access-log', 'license.sqlite'), 'not a database, whatever its name says. '.repeat(30));
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('audit', { level: 'warn', destination: { write: (line: string) => lines.push(JSON.parse(line)) } });
    const logged = departmentTrafficReader(departmentLogLocationsFromEnv({ PROOFLESS_DATA_DIR: stores.dataDir }, DEPARTMENTS), logger);
    const failure = await logged('license', WHOLE_DAY).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DepartmentLogUnreadableError);
    expect({ message: (failure as Error).message, department: (failure as DepartmentLogUnreadableError).department }).toEqual({
      message: "the license department's access log cannot be read", department: 'license',
    });
    expect(lines.map(({ level, department, reason, msg }) => ({ level, department, reason, msg }))).toEqual([{
      level: 'warn', department: 'license', reason: 'file is not a database', msg: "audit: cannot read the license department's access log for departmentTraffic",
    }]);
  });

  test('a store opened read-only writes nothing: a record is refused and the file keeps what it had', async () => {
    const store = await openAuditStore({ databaseUrl: null, sqliteFile: path.join(stores.dataDir, 'access-log', 'household.sqlite'), postgresSchema: 'unused' }, { readOnly: true });
    try {
      const [chainId] = await store.listChains();
      const before = await store.readChain(chainId, 0, 100);
      const [last] = before.slice(-1);
      await expect(store.append([{ ...last, sequence: last.sequence + 1, requestId: 'forged' }])).rejects.toThrow(/was opened read-only$/);
      expect(await store.readChain(chainId, 0, 100)).toEqual(before);
    } finally {
      await store.close();
    }
  });
});

describe('on PostgreSQL, under a role granted SELECT on the department\'s schema alone', () => {
  let stores: Stores;
  let schema: string;
  let role: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    stores = await postgresStores('household');
    await writeHouseholdTraffic(stores);
    schema = stores.env.PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA as string;
    role = await selectOnlyRole(schema);
  });
  afterAll(async () => {
    await role.drop();
    await stores.close();
  });

  test('PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_URL and _SCHEMA: the figures, read with SELECT alone', async () => {
    const reader = departmentTrafficReader(departmentLogLocationsFromEnv({
      PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_URL: role.url, PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_SCHEMA: schema,
    }, DEPARTMENTS));
    expect(await reader('household', WHOLE_DAY)).toEqual({ department: 'household', ...WHOLE_DAY, hasLog: true, figures: WHOLE_DAY_FIGURES });
  });

  test('a schema the database does not have: no traffic yet', async () => {
    const reader = departmentTrafficReader(departmentLogLocationsFromEnv({
      PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_URL: role.url, PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_SCHEMA: `${schema}_never_made`,
    }, DEPARTMENTS));
    expect(await reader('household', WHOLE_DAY)).toEqual({ department: 'household', ...WHOLE_DAY, hasLog: false, figures: [] });
  });

  test('a role the department granted nothing: DepartmentLogUnreadableError, no host, role or schema in the message', async () => {
    const stranger = await selectOnlyRole(null);
    try {
      const reader = departmentTrafficReader(departmentLogLocationsFromEnv({
        PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_URL: stranger.url, PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_SCHEMA: schema,
      }, DEPARTMENTS));
      const failure = await reader('household', WHOLE_DAY).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(DepartmentLogUnreadableError);
      expect((failure as Error).message).toBe("the household department's access log cannot be read");
      expect(((failure as Error).cause as Error).message).toBe(`permission denied for schema ${schema}`);
    } finally {
      await stranger.drop();
    }
  });

  test('opened read-only even with a role that may write: the session refuses every write', async () => {
    const store = await openAuditStore({ databaseUrl: TEST_DATABASE_URL, sqliteFile: 'unused', postgresSchema: schema }, { readOnly: true });
    try {
      const [chainId] = await store.listChains();
      const [last] = (await store.readChain(chainId, 0, 100)).slice(-1);
      await expect(store.append([{ ...last, sequence: last.sequence + 1, requestId: 'forged' }])).rejects.toThrow('cannot execute INSERT in a read-only transaction');
    } finally {
      await store.close();
    }
  });
});

describe('where the auditors\' department looks (departmentLogLocationsFromEnv)', () => {
  test('by default each department\'s own file in the data folder, or its default schema in the shared database; the audit department\'s own schema setting is its own', () => {
    const locations = departmentLogLocationsFromEnv({
      PROOFLESS_DATA_DIR: '/srv/proofless', PROOFLESS_ACCESS_LOG_DATABASE_URL: TEST_DATABASE_URL, PROOFLESS_ACCESS_LOG_DATABASE_SCHEMA: 'audit_own_log',
      PROOFLESS_LICENSE_ACCESS_LOG_READ_URL: 'postgres://auditors@license-db.internal/license', PROOFLESS_LICENSE_ACCESS_LOG_READ_SCHEMA: 'license_log',
    }, ['household', 'license', 'audit']);
    expect(Object.fromEntries(locations)).toEqual({
      household: { databaseUrl: TEST_DATABASE_URL, sqliteFile: '/srv/proofless/access-log/household.sqlite', postgresSchema: 'proofless_access_household' },
      license: { databaseUrl: 'postgres://auditors@license-db.internal/license', sqliteFile: '/srv/proofless/access-log/license.sqlite', postgresSchema: 'license_log' },
      audit: { databaseUrl: TEST_DATABASE_URL, sqliteFile: '/srv/proofless/access-log/audit.sqlite', postgresSchema: 'audit_own_log' },
    });
  });

  test.each([
    [{ PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_URL: 'mysql://auditors@db/household' }, 'PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_URL must be a postgres or postgresql URL'],
    [{ PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_SCHEMA: 'Household Log' }, 'PROOFLESS_HOUSEHOLD_ACCESS_LOG_READ_SCHEMA must be a lower-case SQL identifier, got "Household Log"'],
  ])('%j: refused at start', (env, message) => {
    expect(() => departmentLogLocationsFromEnv({ PROOFLESS_DATA_DIR: '/srv/proofless', ...env }, ['household'])).toThrow(message);
  });
});

describe('the period (checkTrafficPeriod)', () => {
  test('ISO instants as the auditor may write them, returned as stored', () => {
    expect(checkTrafficPeriod('2024-06-01', '2024-07-02T00:00:00+00:00')).toEqual({ from: '2024-06-01T00:00:00.000Z', to: '2024-07-02T00:00:00.000Z' });
  });

  test.each([
    ['yesterday', '2024-06-02', 'from must be an ISO instant such as 2024-06-01T09:30:00Z, got "yesterday"'],
    ['2024-06-01', 42, 'to must be an ISO instant such as 2024-06-01T09:30:00Z, got 42'],
    ['2024-06-02', '2024-06-01', 'from must be before to, got from 2024-06-02T00:00:00.000Z and to 2024-06-01T00:00:00.000Z'],
    ['2024-06-01', '2024-06-01', 'from must be before to, got from 2024-06-01T00:00:00.000Z and to 2024-06-01T00:00:00.000Z'],
    ['2024-06-01', '2024-07-02T00:00:01Z', 'the period from 2024-06-01T00:00:00.000Z to 2024-07-02T00:00:01.000Z is longer than 31 days: ask for at most 31 days at a time'],
  ])('from %j, to %j: "%s"', (from, to, message) => {
    expect(() => checkTrafficPeriod(from, to)).toThrow(message);
  });
});
