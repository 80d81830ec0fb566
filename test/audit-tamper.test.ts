import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { recordHash } from '../audit/canonical';
import type { StoredRecord } from '../audit/entry';
import { openAuditLog } from '../audit/log';
import { RECORD_COLUMNS } from '../audit/record-columns';
import { keyIdOf, loadPublicKey, signCheckpoint } from '../audit/signing';
import { verifyChains, type ChainVerification } from '../audit/verify';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, type AuditStoreTarget } from './helpers/audit-stores';

/**
 * Tampering done directly in the database, as someone with write access to it could, is
 * detected and located: the exact first bad sequence and the words an auditor reads.
 * The chain under test: gw-1 with records 1 to 10 and checkpoints at 4 and 8; gw-2 with
 * records 1 to 3 and a checkpoint at 3, which must stay ok whatever happens to gw-1.
 */
const LIST_FIELDS = new Set(['coordinates', 'citizens', 'departments', 'errorCodes']);

describe.each(AUDIT_STORE_KINDS)('tampering with a $name store', (kind) => {
  let target: AuditStoreTarget;
  let keyFile: string;
  const GW2_OK: ChainVerification = { chainId: 'gw-2', ok: true, records: 3, lastSequence: 3, lastCheckpoint: 3 };

  beforeEach(async () => {
    target = await kind.create();
    keyFile = signingKeyFileIn(target.folder);
    const log = await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile: keyFile });
    for (let sequence = 1; sequence <= 10; sequence += 1) {
      await log.record(auditEntry({ requestId: `req-${sequence}`, time: `2024-06-01T09:${String(sequence).padStart(2, '0')}:00.000Z` }));
      if (sequence === 4 || sequence === 8) await log.checkpoint();
    }
    const other = await openAuditLog({ store: target.store, chainId: 'gw-2', signingKeyFile: keyFile });
    for (let i = 0; i < 3; i += 1) await other.record(auditEntry({ requestId: `other-${i}` }));
    await other.close();
  });
  afterEach(() => target.remove());

  const verify = async () => verifyChains(target.store, [loadPublicKey(keyFile)]);
  const bad = (firstBadSequence: number, problem: string, figures: Partial<ChainVerification> = {}): ChainVerification[] => [
    { chainId: 'gw-1', ok: false, records: 10, lastSequence: 10, lastCheckpoint: 8, firstBadSequence, problem, ...figures },
    GW2_OK,
  ];
  const records = () => target.store.readChain('gw-1', 0, 100);
  const sql = (text: string, params: unknown[] = []) => target.sql(text.replace(/\{(\w+)\}/g, (_, name) => target.table(name)), params);

  /** Writes `record`'s contents (every column but the key) over the row at `atSequence`, as an intruder would. */
  async function overwrite(atSequence: number, record: StoredRecord): Promise<void> {
    const columns = RECORD_COLUMNS.filter(([column]) => column !== 'chain_id' && column !== 'sequence');
    const values = columns.map(([, field]) => (LIST_FIELDS.has(field) ? target.listParameter(record[field] as string[]) : record[field]));
    await sql(`UPDATE {audit_record} SET ${columns.map(([column]) => `${column} = ?`).join(', ')} WHERE chain_id = 'gw-1' AND sequence = ?`, [...values, atSequence]);
  }

  /** Replaces record `from`'s officer and re-hashes it and, if `through` is later, every record after it: a careful intruder. */
  async function rewriteAndRehash(from: number, through: number): Promise<void> {
    const chain = await records();
    let previousHash = chain[from - 2]?.hash;
    for (const record of chain.slice(from - 1, through)) {
      const rewritten = { ...record, officer: record.sequence === from ? 'officer-999' : record.officer, previousHash: previousHash ?? record.previousHash };
      rewritten.hash = recordHash(rewritten);
      await overwrite(record.sequence, rewritten);
      previousHash = rewritten.hash;
    }
  }

  test('an untouched store verifies', async () => {
    expect(await verify()).toEqual([{ chainId: 'gw-1', ok: true, records: 10, lastSequence: 10, lastCheckpoint: 8 }, GW2_OK]);
  });

  test('a field edited in place', async () => {
    await sql(`UPDATE {audit_record} SET officer = 'officer-999' WHERE chain_id = 'gw-1' AND sequence = 6`);
    expect(await verify()).toEqual(bad(6, 'record 6: hash does not match its contents'));
  });

  test('a citizen removed from a record\'s list', async () => {
    await sql(`UPDATE {audit_record} SET citizens = ? WHERE chain_id = 'gw-1' AND sequence = 3`, [target.listParameter([])]);
    expect(await verify()).toEqual(bad(3, 'record 3: hash does not match its contents'));
  });

  test('a record deleted', async () => {
    await sql(`DELETE FROM {audit_record} WHERE chain_id = 'gw-1' AND sequence = 5`);
    expect(await verify()).toEqual(bad(5, 'record 5 missing: sequence jumps from 4 to 6', { records: 9 }));
  });

  test('two records deleted', async () => {
    await sql(`DELETE FROM {audit_record} WHERE chain_id = 'gw-1' AND sequence IN (5, 6)`);
    expect(await verify()).toEqual(bad(5, 'records 5 to 6 missing: sequence jumps from 4 to 7', { records: 8 }));
  });

  test('the first record deleted', async () => {
    await sql(`DELETE FROM {audit_record} WHERE chain_id = 'gw-1' AND sequence = 1`);
    expect(await verify()).toEqual(bad(1, 'record 1 missing: the chain starts at 2', { records: 9 }));
  });

  test('two records\' sequence numbers swapped', async () => {
    await sql(`UPDATE {audit_record} SET sequence = -1 WHERE chain_id = 'gw-1' AND sequence = 3`);
    await sql(`UPDATE {audit_record} SET sequence = 3 WHERE chain_id = 'gw-1' AND sequence = 7`);
    await sql(`UPDATE {audit_record} SET sequence = 7 WHERE chain_id = 'gw-1' AND sequence = -1`);
    expect(await verify()).toEqual(bad(3, 'record 3: hash does not match its contents'));
  });

  test('two records\' contents swapped, hashes included', async () => {
    const chain = await records();
    await overwrite(3, chain[6]);
    await overwrite(7, chain[2]);
    expect(await verify()).toEqual(bad(3, 'record 3: hash does not match its contents'));
  });

  test('a record rewritten and re-hashed: its successor still names the old hash', async () => {
    await rewriteAndRehash(6, 6);
    expect(await verify()).toEqual(bad(6, 'record 6 was rewritten: record 7 is chained to a different hash'));
  });

  test('a record rewritten and the whole chain after it re-hashed: the checkpoint signed before disagrees', async () => {
    await rewriteAndRehash(6, 10);
    expect(await verify()).toEqual(bad(5, 'checkpoint at 8: record 8 differs from the one signed: one of records 5 to 8 was rewritten', { lastCheckpoint: 4 }));
  });

  test('the limit: records after the last checkpoint, rewritten and re-hashed, cannot be told from the original', async () => {
    await rewriteAndRehash(9, 10);
    expect((await verify())[0]).toEqual({ chainId: 'gw-1', ok: true, records: 10, lastSequence: 10, lastCheckpoint: 8 });
  });

  test('the tail cut past a checkpoint', async () => {
    await sql(`DELETE FROM {audit_record} WHERE chain_id = 'gw-1' AND sequence >= 7`);
    expect(await verify()).toEqual(bad(7, 'checkpoint at 8 is past the last record 6: the tail was cut', { records: 6, lastSequence: 6, lastCheckpoint: 4 }));
  });

  test('every record of a chain deleted', async () => {
    await sql(`DELETE FROM {audit_record} WHERE chain_id = 'gw-1'`);
    expect(await verify()).toEqual(bad(1, 'checkpoint at 8 is past the last record: the chain has no records left', { records: 0, lastSequence: 0, lastCheckpoint: null }));
  });

  test('a checkpoint signature forged', async () => {
    await sql(`UPDATE {audit_checkpoint} SET signature = ? WHERE chain_id = 'gw-1' AND sequence = 8`, [randomBytes(64).toString('base64')]);
    expect(await verify()).toEqual(bad(8, 'checkpoint at 8: signature invalid', { lastCheckpoint: 4 }));
  });

  test('a checkpoint\'s hash changed to match a rewritten record', async () => {
    await rewriteAndRehash(8, 8);
    const [rewritten] = await target.store.readChain('gw-1', 7, 1);
    await sql(`UPDATE {audit_checkpoint} SET hash = ? WHERE chain_id = 'gw-1' AND sequence = 8`, [rewritten.hash]);
    expect(await verify()).toEqual(bad(8, 'checkpoint at 8: signature invalid', { lastCheckpoint: 4 }));
  });

  test('a checkpoint replaced by one signed with another key', async () => {
    const intruder = generateKeyPairSync('ed25519');
    const intruderKey = { privateKey: intruder.privateKey, keyId: keyIdOf(intruder.publicKey) };
    const [record8] = await target.store.readChain('gw-1', 7, 1);
    const forged = signCheckpoint({ chainId: 'gw-1', sequence: 8, hash: record8.hash, time: '2024-06-01T10:00:00.000Z' }, intruderKey);
    await sql(`UPDATE {audit_checkpoint} SET key_id = ?, signature = ? WHERE chain_id = 'gw-1' AND sequence = 8`, [forged.keyId, forged.signature]);
    expect(await verify()).toEqual(bad(8, `checkpoint at 8: signed by key ${intruderKey.keyId.slice(0, 16)}, which is not trusted`, { lastCheckpoint: 4 }));

    await sql(`UPDATE {audit_checkpoint} SET key_id = ? WHERE chain_id = 'gw-1' AND sequence = 8`, [keyIdOf(loadPublicKey(keyFile))]);
    expect(await verify()).toEqual(bad(8, 'checkpoint at 8: signature invalid', { lastCheckpoint: 4 }));
  });

  test('a row edited into something that is not a record', async () => {
    const unreadable = kind.name === 'SQLite' ? `'not a list'` : 'ARRAY[NULL]::text[]';
    await sql(`UPDATE {audit_record} SET citizens = ${unreadable} WHERE chain_id = 'gw-1' AND sequence = 4`);
    expect(await verify()).toEqual(bad(4, 'record 4: unreadable (citizens is not a list of text)'));
  });
});
