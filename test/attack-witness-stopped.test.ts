import type { AuditLog } from '../audit/log';
import { auditEntry } from './helpers/audit-stores';
import { openWorld, runScript, sqliteStores, type Stores } from './helpers/exchange-stores';

/**
 * Red-team finding 11 (issue 18): the gateway's operator stops pushing checkpoints to the
 * departments (a firewall on their `/audit/witness`). Everything still verifies: the
 * departments' logs simply stop growing, and records after the last witnessed checkpoint
 * can be cut with their checkpoints and nobody holds a copy to tell. `audit:verify` must
 * say, for each department log, the last checkpoint it witnessed and how far the gateway's
 * store is beyond it; with `--max-unwitnessed-seconds`, exit 1 past the bound.
 */
describe('the gateway operator stops pushing checkpoints to household', () => {
  let stores: Stores;
  const times = ['2024-06-01T09:00:00.000Z', '2024-06-01T09:10:00.000Z', '2024-06-01T10:00:00.000Z'];

  /**
   * gw-1: r-1 called household, checkpoint 1 at 09:00, sent and witnessed. Then the pushes
   * stop: r-2 called household, checkpoint 2 at 09:10 (owed to household, not sent); r-3
   * called no department, checkpoint 3 at 10:00.
   */
  beforeAll(async () => {
    stores = await sqliteStores(['household']);
    let now = times[0];
    const world = await openWorld(stores, () => new Date(now));
    const household = world.departments.get('household') as AuditLog;
    await world.exchange({ requestId: 'r-1', department: 'household' });
    const first = await world.gateway.checkpoint();
    if (!first) throw new Error('the gateway\'s head did not move');
    await household.record(auditEntry({ requestId: 'witness-1', citizens: [], coordinates: [], departments: ['household'], exchange: { kind: 'witnessed-checkpoint', gatewayKeyId: 'gateway-1', checkpoint: first } }));
    now = times[1];
    await world.exchange({ requestId: 'r-2', department: 'household' });
    await world.gateway.checkpoint();
    now = times[2];
    await world.gateway.record(auditEntry({ requestId: 'r-3', departments: [] }));
    await world.gateway.checkpoint();
    await world.close();
  });
  afterAll(() => stores.close());

  const head = 'witness the household department\'s access log: 1 checkpoint of 1 chain\n' +
    'chain gw-1: ok, 3 records, last sequence 3, last checkpoint 3\n' +
    'household last witnessed checkpoint 1 of chain gw-1 at 2024-06-01T09:00:00.000Z; the gateway\'s store holds checkpoint 3 at 2024-06-01T10:00:00.000Z: ' +
    'records after checkpoint 1 are not witnessed; household was called after it and owed checkpoint 2 of 2024-06-01T09:10:00.000Z, 3000 s before the latest';

  test('HOLE (fixed): audit:verify says how far household\'s witness is behind the gateway\'s store', () => {
    expect(runScript('audit-verify', stores, [])).toEqual({ status: 0, stdout: `${head}\n`, stderr: '' });
  });

  test('HOLE (fixed): with --max-unwitnessed-seconds below the gap, audit:verify exits 1; at or above it, 0', () => {
    expect(runScript('audit-verify', stores, ['--max-unwitnessed-seconds', '600'])).toEqual({ status: 1, stdout: `${head}: more than --max-unwitnessed-seconds 600\n`, stderr: '' });
    expect(runScript('audit-verify', stores, ['--max-unwitnessed-seconds', '3000'])).toEqual({ status: 0, stdout: `${head}\n`, stderr: '' });
  });

  test('a bad bound is a usage error, exit 2', () => {
    const result = runScript('audit-verify', stores, ['--max-unwitnessed-seconds', 'soon']);
    expect({ status: result.status, stderr: result.stderr.split('\n')[0] }).toEqual({ status: 2, stderr: 'audit-verify: --max-unwitnessed-seconds must be a whole number of seconds, got "soon"' });
  });
});
