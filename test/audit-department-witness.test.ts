import type { AuditLog } from '../audit/log';
import { auditEntry } from './helpers/audit-stores';
import { openWorld, postgresStores, runScript, sqliteStores, type Stores } from './helpers/exchange-stores';

/**
 * Both sides keep the record (issue 18): the gateway's checkpoints the departments
 * witnessed, held in their own access logs, make `audit:verify` find the gateway's tail
 * cut with its checkpoints, naming the department; and `audit:verify -- --department`
 * verifies a department's own log with the keys the departments' trust list holds for it.
 */

const CHECKPOINT_TIME = '2024-06-01T10:00:00.000Z';

/** The gateway's latest checkpoint, recorded in the department's log as the department records what the gateway sends it. */
async function witness(gateway: AuditLog, department: AuditLog, requestId: string): Promise<void> {
  const checkpoint = await gateway.checkpoint();
  if (!checkpoint) throw new Error('the gateway\'s head did not move');
  await department.record(auditEntry({ requestId, citizens: [], coordinates: [], departments: ['household'], exchange: { kind: 'witnessed-checkpoint', gatewayKeyId: 'gateway-1', checkpoint } }));
}

describe.each([
  ['SQLite', () => sqliteStores(['household']), [] as string[]],
  // One schema for every department in the environment: the department is named.
  ['PostgreSQL', () => postgresStores('household'), ['--department-log', 'household']],
])('department witnesses on %s', (_kind, create, logArgs) => {
  let stores: Stores;
  const verify = (args: string[] = []) => runScript('audit-verify', stores, [...logArgs, ...args]);

  /** gw-1: 5 records, checkpoints at 3 and 5, both sent to household; household's log: answers at 1 and 3, the witnessed checkpoints at 2 and 4, checkpointed at 4. */
  beforeEach(async () => {
    stores = await create();
    // The gateway's checkpoints are dated, so audit:verify's line on household's witness of them reads the same every run.
    const world = await openWorld(stores, () => new Date(CHECKPOINT_TIME));
    const household = world.departments.get('household') as AuditLog;
    await world.exchange({ requestId: 'r-1', department: 'household' });
    await world.gateway.record(auditEntry({ requestId: 'r-2', departments: [] }));
    await world.gateway.record(auditEntry({ requestId: 'r-3', departments: [] }));
    await witness(world.gateway, household, 'witness-1');
    await world.exchange({ requestId: 'r-4', department: 'household', isCheckpointSent: true });
    await world.gateway.record(auditEntry({ requestId: 'r-5', departments: [] }));
    await witness(world.gateway, household, 'witness-2');
    await world.close();
  });
  afterEach(() => stores.close());

  const witnessLine = "witness the household department's access log: 2 checkpoints of 1 chain\n";
  const lagLine = `household last witnessed checkpoint 5 of chain gw-1 at ${CHECKPOINT_TIME}`;
  const gatewayWitnessLine = "witness the gateway's audit store: 1 checkpoint of 1 chain\n";

  test('both stores as written: the gateway\'s verifies against the department\'s witness, the department\'s with its key, exit 0', () => {
    expect(verify()).toEqual({ status: 0, stdout: `${witnessLine}chain gw-1: ok, 5 records, last sequence 5, last checkpoint 5\n${lagLine}: the latest the gateway's store holds\n`, stderr: '' });
    expect(runScript('audit-verify', stores, ['--department', 'household'])).toEqual({
      status: 0, stdout: `${gatewayWitnessLine}the household department's access log: chain household:host-1: ok, 4 records, last sequence 4, last checkpoint 4\n`, stderr: '',
    });
  });

  test('the gateway\'s tail cut with its last checkpoint: the department\'s witness record names the cut, exit 1', async () => {
    // PostgreSQL keeps the citizen index in the record table; SQLite in a table of its own.
    const index = stores.env.PROOFLESS_AUDIT_DATABASE_URL ? '' : 'DELETE FROM audit_record_citizen WHERE sequence >= 4;';
    await stores.sql('gateway', `DELETE FROM audit_record WHERE sequence >= 4; ${index} DELETE FROM audit_checkpoint WHERE sequence >= 4`);
    expect(verify()).toEqual({
      status: 1,
      stdout: `${witnessLine}chain gw-1: BAD at record 4: checkpoint at 5 (witness the household department's access log, record 4 of chain household:host-1) ` +
        `is past the last record 3: the tail was cut (3 records, last sequence 3, last checkpoint 3)\n${lagLine}, beyond the latest the gateway's store holds (3)\n`,
      stderr: '',
    });
  });

  test('the gateway\'s last checkpoint deleted, its records kept: only the department\'s witness tells, exit 1', async () => {
    await stores.sql('gateway', 'DELETE FROM audit_checkpoint WHERE sequence = 5');
    expect(verify()).toEqual({
      status: 1,
      stdout: `${witnessLine}chain gw-1: BAD at record 5: checkpoint at 5 is missing from the store: witness the household department's access log, record 4 of chain household:host-1 saw it ` +
        `(5 records, last sequence 5, last checkpoint 3)\n${lagLine}, beyond the latest the gateway's store holds (3)\n`,
      stderr: '',
    });
  });

  test('a record of the department\'s log edited: its verification names the sequence, exit 1', async () => {
    await stores.sql('household', "UPDATE audit_record SET case_number = 'CASE-OTHER' WHERE sequence = 2");
    expect(runScript('audit-verify', stores, ['--department', 'household'])).toEqual({
      status: 1,
      stdout: `${gatewayWitnessLine}the household department's access log: chain household:host-1: BAD at record 2: record 2: hash does not match its contents (4 records, last sequence 4, last checkpoint 4)\n`,
      stderr: '',
    });
  });

  test('the department\'s tail cut with its checkpoints: the checkpoint its answer sent the gateway names the cut, exit 1', async () => {
    const index = stores.env.PROOFLESS_AUDIT_DATABASE_URL ? '' : 'DELETE FROM audit_record_citizen WHERE sequence >= 3;';
    await stores.sql('household', `DELETE FROM audit_record WHERE sequence >= 3; ${index} DELETE FROM audit_checkpoint WHERE sequence >= 3`);
    expect(runScript('audit-verify', stores, ['--department', 'household'])).toEqual({
      status: 1,
      stdout: `${gatewayWitnessLine}the household department's access log: chain household:host-1: BAD at record 3: checkpoint at 3 is missing from the store: ` +
        'witness the gateway\'s audit store, record 4 of chain gw-1 saw it (2 records, last sequence 2, no checkpoint)\n',
      stderr: '',
    });
  });

  test('a department the trust list holds no key of: nothing to verify its log with, exit 2', async () => {
    const result = runScript('audit-verify', stores, ['--department', 'residence']);
    expect({ status: result.status, stderr: result.stderr }).toEqual({
      status: 2, stderr: "audit-verify: the departments' trust list holds no key of residence: its log's checkpoints cannot be verified\n",
    });
  });
});
