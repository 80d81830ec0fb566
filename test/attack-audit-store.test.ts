import path from 'node:path';
import { recordHash } from '../audit/canonical';
import type { StoredRecord } from '../audit/entry';
import { openAuditLog, type AuditLog } from '../audit/log';
import { RECORD_COLUMNS } from '../audit/record-columns';
import { loadPublicKey } from '../audit/signing';
import { verifyChains } from '../audit/verify';
import { readWitnesses } from '../audit/witness';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, type AuditStoreTarget } from './helpers/audit-stores';

/**
 * Red team, issue 16, area 5: the audit store. docs/security.md says a writer of the store,
 * without the signing key, cannot "cut or rewrite the tail of a running gateway's chain for
 * more than a moment (its next record or checkpoint shows it)". It can: rewrite the records
 * after the last checkpoint (here: empty their citizens, re-hash them) and add one forged
 * record at head + 1. The running gateway's next write collides with the forged record
 * (that one request gets 503), the log reads the head back, tells `onStoreDisagrees` that
 * "records were added", and chains onto the forged head. Its next checkpoint then signs the
 * rewritten tail, and the witness holds that checkpoint: `audit:verify --witness` is ok,
 * while the records of answers that already left no longer name the citizens they
 * disclosed. Tried against a real `npm start` gateway too (report, area 5).
 */
const LIST_FIELDS = new Set(['coordinates', 'citizens', 'departments', 'errorCodes']);

describe.each(AUDIT_STORE_KINDS)('red team: rewriting a running gateway\'s tail in a $name store', (kind) => {
  let target: AuditStoreTarget;
  let keyFile: string;
  let witnessFile: string;
  let log: AuditLog;
  const warnings: string[] = [];

  beforeEach(async () => {
    warnings.length = 0;
    target = await kind.create();
    keyFile = signingKeyFileIn(target.folder);
    witnessFile = path.join(target.folder, 'audit-witness.jsonl');
    // The gateway, running: records 1 to 10, its last checkpoint (in the store and the witness) at 8.
    log = await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile: keyFile, witnessFile, onStoreDisagrees: (message) => warnings.push(message) });
    for (let sequence = 1; sequence <= 10; sequence += 1) {
      await log.record(auditEntry({ requestId: `req-${sequence}`, time: `2024-06-01T09:${String(sequence).padStart(2, '0')}:00.000Z` }));
      if (sequence === 8) await log.checkpoint();
    }
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await target.remove();
  });

  const sql = (text: string, params: unknown[] = []) => target.sql(text.replace(/\{(\w+)\}/g, (_, name) => target.table(name)), params);

  async function overwrite(record: StoredRecord): Promise<void> {
    const columns = RECORD_COLUMNS.filter(([column]) => column !== 'chain_id' && column !== 'sequence');
    const values = columns.map(([, field]) => (LIST_FIELDS.has(field) ? target.listParameter(record[field] as string[]) : record[field]));
    await sql(`UPDATE {audit_record} SET ${columns.map(([column]) => `${column} = ?`).join(', ')} WHERE chain_id = 'gw-1' AND sequence = ?`, [...values, record.sequence]);
  }

  test('records after the last checkpoint rewritten while the gateway runs, and a forged record added so that it adopts them: verification with the witness finds the rewrite', async () => {
    const chain = await target.store.readChain('gw-1', 0, 100);
    let previousHash = chain[7].hash;
    for (const record of chain.slice(8)) {
      const rewritten = { ...record, citizens: [], previousHash };
      rewritten.hash = recordHash(rewritten);
      await overwrite(rewritten);
      previousHash = rewritten.hash;
    }
    if (kind.name === 'SQLite') await sql('DELETE FROM audit_record_citizen WHERE chain_id = \'gw-1\' AND sequence > 8');
    const forged = { ...chain[9], sequence: 11, previousHash, requestId: 'forged', citizens: [], hash: '' };
    forged.hash = recordHash(forged);
    await target.store.append([forged]);

    // The gateway goes on answering. Today its next record collides with the forged one (that request gets 503), it logs
    // "has a record 11 this gateway did not write: ... records were added to the store", chains record 12 onto the
    // forged head, and its final checkpoint (store and witness) signs the rewritten tail; review by CITIZEN no longer
    // finds records 9 and 10, whose answers disclosed them.
    await log.record(auditEntry({ requestId: 'req-11' })).catch(() => undefined);
    await log.record(auditEntry({ requestId: 'req-12' })).catch(() => undefined);
    await log.close().catch(() => undefined);

    // The claim under attack: the rewrite of a running gateway's tail shows at its next record or checkpoint.
    const verified = await verifyChains(target.store, [loadPublicKey(keyFile)], { witnessed: await readWitnesses([witnessFile]), expectedChains: new Map([['gw-1', '--chains names it']]) });
    expect(verified).toEqual([expect.objectContaining({ chainId: 'gw-1', ok: false, firstBadSequence: 9 })]);
  });
});
