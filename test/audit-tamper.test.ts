import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { recordHash } from '../audit/canonical';
import type { StoredRecord } from '../audit/entry';
import { AuditUnavailableError } from '../audit/errors';
import { openAuditLog, type AuditLog } from '../audit/log';
import { RECORD_COLUMNS } from '../audit/record-columns';
import { reviewRecords } from '../audit/review';
import { keyIdOf, loadPublicKey, loadSigningKey, signCheckpoint } from '../audit/signing';
import { verifyChains, type ChainVerification, type VerifyOptions } from '../audit/verify';
import { readWitnesses } from '../audit/witness';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, type AuditStoreTarget } from './helpers/audit-stores';

/**
 * Tampering done directly in the database, as someone with write access to it could, is
 * detected and located: the exact first bad sequence and the words an auditor reads.
 * The chain under test: gw-1 with records 1 to 10 and checkpoints at 0 (its opening), 4
 * and 8, its gateway still running; gw-2 with records 1 to 3 and checkpoints at 0 and 3
 * (closed), which must stay ok whatever happens to gw-1. Both write every checkpoint to
 * a witness file too, outside the store.
 */
const LIST_FIELDS = new Set(['coordinates', 'citizens', 'departments', 'errorCodes']);

describe.each(AUDIT_STORE_KINDS)('tampering with a $name store', (kind) => {
  let target: AuditStoreTarget;
  let keyFile: string;
  let witnessFile: string;
  /** gw-1's gateway, still running. */
  let log: AuditLog;
  /** What gw-1's gateway said about the store (`onStoreDisagrees`), in order. */
  let warnings: string[];
  const GW2_OK: ChainVerification = { chainId: 'gw-2', ok: true, records: 3, lastSequence: 3, lastCheckpoint: 3 };
  const CITIZEN = auditEntry().citizens[0];

  beforeEach(async () => {
    target = await kind.create();
    keyFile = signingKeyFileIn(target.folder);
    witnessFile = path.join(target.folder, 'audit-witness.jsonl');
    warnings = [];
    log = await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile: keyFile, witnessFile, onStoreDisagrees: (message) => warnings.push(message) });
    for (let sequence = 1; sequence <= 10; sequence += 1) {
      await log.record(auditEntry({ requestId: `req-${sequence}`, time: `2024-06-01T09:${String(sequence).padStart(2, '0')}:00.000Z` }));
      if (sequence === 4 || sequence === 8) await log.checkpoint();
    }
    const other = await openAuditLog({ store: target.store, chainId: 'gw-2', signingKeyFile: keyFile, witnessFile });
    for (let i = 0; i < 3; i += 1) await other.record(auditEntry({ requestId: `other-${i}` }));
    await other.close();
  });
  afterEach(async () => {
    await log.close().catch(() => undefined);
    await target.remove();
  });

  const verify = async (options: VerifyOptions = {}) => verifyChains(target.store, [loadPublicKey(keyFile)], options);
  const verifyWithWitness = async () => verify({ witnessed: await readWitnesses([witnessFile]) });
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

  test('the limit: records after the last checkpoint, rewritten and re-hashed, cannot be told from the original, until the gateway writes again', async () => {
    await rewriteAndRehash(9, 10);
    expect((await verify())[0]).toEqual({ chainId: 'gw-1', ok: true, records: 10, lastSequence: 10, lastCheckpoint: 8 });
    expect((await verifyWithWitness())[0]).toEqual({ chainId: 'gw-1', ok: true, records: 10, lastSequence: 10, lastCheckpoint: 8 });
    // The running gateway chains its next record to the record 10 it wrote, not to the rewritten one.
    await log.record(auditEntry({ requestId: 'req-11' }));
    expect(await verify()).toEqual(bad(10, 'record 10 was rewritten: record 11 is chained to a different hash', { records: 11, lastSequence: 11 }));
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
    const [checkpoint8] = (await target.store.readCheckpoints('gw-1')).filter((c) => c.sequence === 8);
    const forged = signCheckpoint({ chainId: 'gw-1', sequence: 8, hash: record8.hash, time: '2024-06-01T10:00:00.000Z', previous: checkpoint8.previous }, intruderKey);
    await sql(`UPDATE {audit_checkpoint} SET key_id = ?, signature = ? WHERE chain_id = 'gw-1' AND sequence = 8`, [forged.keyId, forged.signature]);
    expect(await verify()).toEqual(bad(8, `checkpoint at 8: signed by key ${intruderKey.keyId.slice(0, 16)}, which is not trusted`, { lastCheckpoint: 4 }));

    await sql(`UPDATE {audit_checkpoint} SET key_id = ? WHERE chain_id = 'gw-1' AND sequence = 8`, [keyIdOf(loadPublicKey(keyFile))]);
    expect(await verify()).toEqual(bad(8, 'checkpoint at 8: signature invalid', { lastCheckpoint: 4 }));
  });

  /** Deletes gw-1's records from `from` on with their citizen index rows and checkpoints: a careful intruder leaves nothing pointing at them. */
  async function cutTail(from: number): Promise<void> {
    await sql(`DELETE FROM {audit_record} WHERE chain_id = 'gw-1' AND sequence >= ?`, [from]);
    if (kind.name === 'SQLite') await sql(`DELETE FROM audit_record_citizen WHERE chain_id = 'gw-1' AND sequence >= ?`, [from]);
    await sql(`DELETE FROM {audit_checkpoint} WHERE chain_id = 'gw-1' AND sequence >= ?`, [from]);
  }

  /** gw-1's gateway started again on the store (after `log.close()`), with its witness; what it said about the store at open. */
  async function restartGateway(): Promise<{ restarted: AuditLog; warnings: string[] }> {
    const warnings: string[] = [];
    const restarted = await openAuditLog({
      store: await target.reopen(), chainId: 'gw-1', signingKeyFile: keyFile, witnessFile, onStoreDisagrees: (message) => warnings.push(message),
    });
    log = restarted;
    return { restarted, warnings };
  }

  describe('the attacks that verified ok before (issue 16)', () => {
    test('the tail cut together with its checkpoints: the witness saw the cut checkpoint', async () => {
      await cutTail(7);
      // The store alone cannot tell: this is the window README states.
      expect((await verify())[0]).toEqual({ chainId: 'gw-1', ok: true, records: 6, lastSequence: 6, lastCheckpoint: 4 });
      expect(await verifyWithWitness()).toEqual([
        { chainId: 'gw-1', ok: false, records: 6, lastSequence: 6, lastCheckpoint: 4, firstBadSequence: 7, problem: `checkpoint at 8 (witness ${witnessFile}) is past the last record 6: the tail was cut` },
        GW2_OK,
      ]);
    });

    test('the tail cut while the gateway runs: its next record and checkpoint show the gap', async () => {
      await cutTail(7);
      await log.record(auditEntry({ requestId: 'req-11' }));
      await log.checkpoint();
      expect(await verify()).toEqual([
        {
          chainId: 'gw-1', ok: false, records: 7, lastSequence: 11, lastCheckpoint: 11, firstBadSequence: 5,
          problem: 'checkpoint at 8 is missing (checkpoint 11 follows it): records 5 to 8 may have been cut or rewritten',
        },
        GW2_OK,
      ]);
    });

    test('the tail cut while the gateway was down: restarted, it says so and its next checkpoint names the lost one', async () => {
      await log.close();
      await cutTail(7);
      const { restarted, warnings } = await restartGateway();
      expect(warnings).toEqual([
        `${target.store.location} lacks checkpoint 10 of audit chain gw-1, which the witness ${witnessFile} holds: ` +
          'records or checkpoints were removed from the store; the next checkpoint names the lost one',
        `audit chain gw-1 in ${target.store.location} ends at record 6, but its checkpoint 10 vouches for more: records were removed from the store`,
      ]);
      await restarted.record(auditEntry({ requestId: 'req-7-again' }));
      await restarted.close();
      expect(await verify()).toEqual([
        {
          chainId: 'gw-1', ok: false, records: 7, lastSequence: 7, lastCheckpoint: 7, firstBadSequence: 5,
          problem: 'checkpoint at 10 is missing (checkpoint 7 follows it): records 5 to 10 may have been cut or rewritten',
        },
        GW2_OK,
      ]);
    });

    test('a record edited, every later hash recomputed and the checkpoints from there on deleted: no key needed, and still found', async () => {
      await log.close();
      await rewriteAndRehash(6, 10);
      await sql(`DELETE FROM {audit_checkpoint} WHERE chain_id = 'gw-1' AND sequence >= 6`);
      expect((await verify())[0]).toEqual({ chainId: 'gw-1', ok: true, records: 10, lastSequence: 10, lastCheckpoint: 4 });
      expect(await verifyWithWitness()).toEqual(bad(5, `checkpoint at 8 (witness ${witnessFile}): record 8 differs from the one signed: one of records 5 to 8 was rewritten`, { lastCheckpoint: 4 }));

      const { restarted, warnings } = await restartGateway();
      expect(warnings).toEqual([
        `${target.store.location} lacks checkpoint 10 of audit chain gw-1, which the witness ${witnessFile} holds: ` +
          'records or checkpoints were removed from the store; the next checkpoint names the lost one',
        `audit chain gw-1 in ${target.store.location} does not hold record 10 as its checkpoint 10 vouches for it: records were rewritten in the store`,
      ]);
      await restarted.record(auditEntry({ requestId: 'req-11' }));
      await restarted.checkpoint();
      expect(await verify()).toEqual(bad(5, 'checkpoint at 10 is missing (checkpoint 11 follows it): records 5 to 10 may have been cut or rewritten', {
        records: 11, lastSequence: 11, lastCheckpoint: 11,
      }));
    });

    test('a whole chain deleted: missing, by the expected list or by the witness', async () => {
      await sql(`DELETE FROM {audit_record} WHERE chain_id = 'gw-2'`);
      if (kind.name === 'SQLite') await sql(`DELETE FROM audit_record_citizen WHERE chain_id = 'gw-2'`);
      await sql(`DELETE FROM {audit_checkpoint} WHERE chain_id = 'gw-2'`);
      const GW1_OK = { chainId: 'gw-1', ok: true, records: 10, lastSequence: 10, lastCheckpoint: 8 };
      const gone = (why: string) => ({
        chainId: 'gw-2', ok: false, records: 0, lastSequence: 0, lastCheckpoint: null,
        problem: `chain missing: the store holds no record, checkpoint or anchor of it, but ${why}`,
      });
      expect(await verify()).toEqual([GW1_OK]);
      expect(await verify({ expectedChains: new Map([['gw-1', '--chains names it'], ['gw-2', '--chains names it']]) })).toEqual([GW1_OK, gone('--chains names it')]);
      expect(await verifyWithWitness()).toEqual([GW1_OK, gone(`witness ${witnessFile} saw checkpoint 3 of it`)]);
    });

    if (kind.name === 'SQLite') {
      test('a citizen\'s rows deleted from the citizen index: review finds none of their records, verification finds the index short', async () => {
        expect((await reviewRecords(target.store, { citizen: CITIZEN })).records).toHaveLength(13);
        await sql('DELETE FROM audit_record_citizen WHERE id_number = ?', [CITIZEN]);
        expect((await reviewRecords(target.store, { citizen: CITIZEN })).records).toEqual([]);
        expect(await verify()).toEqual([
          { chainId: 'gw-1', ok: false, records: 10, lastSequence: 10, lastCheckpoint: 8, firstBadSequence: 1, problem: 'citizen index lacks 1 of record 1\'s citizens' },
          { ...GW2_OK, ok: false, firstBadSequence: 1, problem: 'citizen index lacks 1 of record 1\'s citizens' },
        ]);
      });

      test.each([
        ['a row moved to another record', `UPDATE audit_record_citizen SET sequence = 9 WHERE chain_id = 'gw-1' AND sequence = 3`,
          3, 'citizen index lacks 1 of record 3\'s citizens'],
        ['a row given another time, out of a review period', `UPDATE audit_record_citizen SET time = '2020-01-01T00:00:00.000Z' WHERE chain_id = 'gw-1' AND sequence = 4`,
          4, 'citizen index files record 4 at another time than its own under 1 citizen'],
        ['a row added for someone the record never touched', `INSERT INTO audit_record_citizen VALUES ('110101199003077777', '2024-06-01T09:05:00.000Z', 'gw-1', 5)`,
          5, 'citizen index files record 5 under 1 citizen it does not name'],
        ['a row for a record the store does not have', `INSERT INTO audit_record_citizen VALUES ('110101199003077777', '2024-06-01T09:05:00.000Z', 'gw-1', 99)`,
          99, 'citizen index files record 99 under 1 citizen, but the store has no record 99'],
      ])('the citizen index: %s', async (_, tampering, firstBadSequence, problem) => {
        await sql(tampering);
        expect(await verify()).toEqual(bad(firstBadSequence, problem));
      });
    } else {
      test('a citizen hidden from review: PostgreSQL looks citizens up in the hashed column itself, so hiding one edits records', async () => {
        await sql(`UPDATE {audit_record} SET citizens = array_remove(citizens, ?) WHERE chain_id = 'gw-1'`, [CITIZEN]);
        expect((await reviewRecords(target.store, { citizen: CITIZEN })).records).toHaveLength(3);
        expect(await verify()).toEqual(bad(1, 'record 1: hash does not match its contents'));
      });
    }

    test('forged records added at the head while the gateway runs: its next record follows them, chained to its own head, and verification finds them', async () => {
      const [head] = await target.store.readChain('gw-1', 9, 1);
      const forged = { ...head, sequence: 11, previousHash: head.hash, requestId: 'forged', officer: 'officer-framed' };
      forged.hash = recordHash(forged);
      const alsoForged = { ...forged, sequence: 12, previousHash: forged.hash };
      alsoForged.hash = recordHash(alsoForged);
      await target.store.append([forged, alsoForged]);
      // The gateway's next record collides with the forged one and is refused (fail-closed); it reads the head back.
      await expect(log.record(auditEntry({ requestId: 'req-11' }))).rejects.toThrow('could not write 1 audit record(s) of chain gw-1');
      // Before issue 16's red team it chained onto the forged head, and its next checkpoint signed it.
      expect(await log.record(auditEntry({ requestId: 'req-12' }))).toMatchObject({ sequence: 13, previousHash: head.hash });
      expect(log.isRefusingRecords()).toBe(false);
      expect(warnings).toEqual([
        `audit chain gw-1 in ${target.store.location} has records 11 to 12 after this gateway's record 10 that this gateway did not write: ` +
          'another writer uses the chain ID, or records were added to the store; its next record follows them but is chained to its own record 10, so verification shows them',
      ]);
      await log.close();
      const added = bad(11, 'records 11 to 12 were added: record 13 is chained to record 10', { records: 13, lastSequence: 13, lastCheckpoint: 13 });
      expect(await verify()).toEqual(added);
      expect(await verifyWithWitness()).toEqual(added);
    });

    test('the records after the last checkpoint rewritten while the gateway runs, and a forged record added so that it adopts them: '
      + 'it signs its own head into the witness and the store and refuses records, and verification finds the rewrite', async () => {
      // Red team, issue 16: the gateway's next write collided with the forged record (one 503), it chained onto the
      // forged head, and its next checkpoint, in the store and the witness, signed the rewritten tail: verification said ok.
      const chain = await records();
      let previousHash = chain[7].hash;
      for (const record of chain.slice(8)) {
        const rewritten = { ...record, citizens: [], previousHash };
        rewritten.hash = recordHash(rewritten);
        await overwrite(record.sequence, rewritten);
        previousHash = rewritten.hash;
      }
      if (kind.name === 'SQLite') await sql('DELETE FROM audit_record_citizen WHERE chain_id = \'gw-1\' AND sequence > 8');
      const forged = { ...chain[9], sequence: 11, previousHash, requestId: 'forged', citizens: [], hash: '' };
      forged.hash = recordHash(forged);
      await target.store.append([forged]);

      await expect(log.record(auditEntry({ requestId: 'req-11' }))).rejects.toThrow(`could not write 1 audit record(s) of chain gw-1 to ${target.store.location}`);
      const refusal = new AuditUnavailableError(
        `audit chain gw-1 refuses records: ${target.store.location} no longer holds record 10 as this gateway wrote it; ` +
          'restart the gateway once the store has been examined (npm run audit:verify with the witness)',
      );
      await expect(log.record(auditEntry({ requestId: 'req-12' }))).rejects.toEqual(refusal);
      expect(log.isRefusingRecords()).toBe(true);
      expect(warnings).toEqual([
        `audit chain gw-1 in ${target.store.location} does not hold record 10 as this gateway wrote it (the store's head is record 11): records were rewritten or added in the store; ` +
          `checkpoint 10 of record 10 as this gateway wrote it is signed into the witness ${witnessFile} and the store; ` +
          'this gateway refuses every record (503 AUDIT_UNAVAILABLE) until it is restarted',
      ]);
      await log.close();
      expect((await target.store.readChain('gw-1', 10, 10)).map((record) => record.requestId)).toEqual(['forged']);
      const rewritten = bad(9, 'checkpoint at 10: record 10 differs from the one signed: one of records 9 to 10 was rewritten', { records: 11, lastSequence: 11 });
      expect(await verify()).toEqual(rewritten);
      expect(await verifyWithWitness()).toEqual(rewritten);
      expect(await verify({ witnessed: await readWitnesses([witnessFile]), expectedChains: new Map([['gw-1', '--chains names it']]) })).toEqual(rewritten);

      // The store's copy of that checkpoint deleted too: the witness keeps it.
      await sql(`DELETE FROM {audit_checkpoint} WHERE chain_id = 'gw-1' AND sequence = 10`);
      expect(await verifyWithWitness()).toEqual(bad(9, `checkpoint at 10 (witness ${witnessFile}): record 10 differs from the one signed: one of records 9 to 10 was rewritten`, {
        records: 11, lastSequence: 11,
      }));
    });

    test('the tail cut while the gateway runs, found when a write fails: it signs its own head and refuses records', async () => {
      await cutTail(9);
      await target.sql(target.poisonTriggerSql);
      await expect(log.record(auditEntry({ requestId: 'poison' }))).rejects.toThrow(`could not write 1 audit record(s) of chain gw-1 to ${target.store.location}`);
      await expect(log.record(auditEntry({ requestId: 'req-11' }))).rejects.toThrow('audit chain gw-1 refuses records');
      expect(warnings).toEqual([
        `audit chain gw-1 in ${target.store.location} ends at record 8, but this gateway wrote it up to record 10: records were removed from the store; ` +
          `checkpoint 10 of record 10 as this gateway wrote it is signed into the witness ${witnessFile} and the store; ` +
          'this gateway refuses every record (503 AUDIT_UNAVAILABLE) until it is restarted',
      ]);
      await log.close();
      expect(await verify()).toEqual(bad(9, 'checkpoint at 10 is past the last record 8: the tail was cut', { records: 8, lastSequence: 8 }));
    });

    test('every checkpoint of a chain deleted, and the gateway restarted on it: the opening checkpoint is missing', async () => {
      await log.close();
      await sql(`DELETE FROM {audit_checkpoint} WHERE chain_id = 'gw-1'`);
      const problem = 'checkpoint at 0, the chain\'s opening one, is missing: its checkpoints were deleted, or no gateway wrote the chain';
      expect(await verify()).toEqual(bad(1, problem, { lastCheckpoint: null }));
      const restarted = await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile: keyFile });
      log = restarted;
      // With nothing left to continue from, it begins the checkpoints anew at its head: not an opening checkpoint.
      expect(await target.store.readCheckpoints('gw-1')).toEqual([expect.objectContaining({ sequence: 10, previous: null })]);
      expect(await verify()).toEqual(bad(1, problem, { lastCheckpoint: 10 }));
    });

    test('a chain written straight into the store, records without a signed checkpoint', async () => {
      const [model] = await target.store.readChain('gw-2', 0, 1);
      const forged = { ...model, chainId: 'gw-forged', officer: 'officer-framed' };
      forged.hash = recordHash(forged);
      await target.store.append([forged]);
      expect((await verify()).find((chain) => chain.chainId === 'gw-forged')).toEqual({
        chainId: 'gw-forged', ok: false, records: 1, lastSequence: 1, lastCheckpoint: null, firstBadSequence: 1,
        problem: 'checkpoint at 0, the chain\'s opening one, is missing: its checkpoints were deleted, or no gateway wrote the chain',
      });
    });

    test('a checkpoint deleted from the middle: a gap at the one that follows it', async () => {
      await sql(`DELETE FROM {audit_checkpoint} WHERE chain_id = 'gw-1' AND sequence = 4`);
      expect(await verify()).toEqual(bad(1, 'checkpoint at 4 is missing (checkpoint 8 follows it): records 1 to 4 may have been cut or rewritten'));
    });

    test.each([
      ['made to follow an earlier checkpoint, skipping one', 'previous_sequence = 0'],
      ['made to look unlinked', 'is_linked = NOT is_linked'],
    ])('a checkpoint\'s link edited (%s): its signature covers the link', async (_, change) => {
      await sql(`UPDATE {audit_checkpoint} SET ${change} WHERE chain_id = 'gw-1' AND sequence = 8`);
      expect(await verify()).toEqual(bad(8, 'checkpoint at 8: signature invalid', { lastCheckpoint: 4 }));
    });

    test('a checkpoint the witness saw, deleted: missing from the store', async () => {
      await log.close();
      await sql(`DELETE FROM {audit_checkpoint} WHERE chain_id = 'gw-1' AND sequence = 10`);
      expect((await verify())[0]).toEqual({ chainId: 'gw-1', ok: true, records: 10, lastSequence: 10, lastCheckpoint: 8 });
      expect(await verifyWithWitness()).toEqual(bad(10, `checkpoint at 10 is missing from the store: witness ${witnessFile} saw it`));
    });

    test('an unlinked checkpoint after the linked ones (a gateway from before linking, writing the chain again) is refused', async () => {
      const [record9] = await target.store.readChain('gw-1', 8, 1);
      const unlinked = signCheckpoint({ chainId: 'gw-1', sequence: 9, hash: record9.hash, time: '2024-06-01T10:00:00.000Z' }, loadSigningKey(keyFile));
      await sql(`INSERT INTO {audit_checkpoint} (chain_id, sequence, hash, time, key_id, signature) VALUES ('gw-1', 9, ?, ?, ?, ?)`, [
        unlinked.hash, unlinked.time, unlinked.keyId, unlinked.signature,
      ]);
      expect(await verify()).toEqual(bad(9, 'checkpoint at 9 is unlinked, but comes after the linked checkpoint at 0', { lastCheckpoint: 9 }));
    });
  });

  test('text written into the store to drive a terminal (a chain ID, a key ID) is reported escaped: a malformed chain ID is a problem of its own', async () => {
    const [model] = await target.store.readChain('gw-2', 0, 1);
    const chainId = 'zz\x1b[1A\x1b[2K\rchain gw-1: ok\x1b[8m';
    await target.store.append([{ ...model, chainId }]);
    await sql(`UPDATE {audit_checkpoint} SET key_id = ? WHERE chain_id = 'gw-1' AND sequence = 8`, ['\x1b[2K\u202eok, 10 reco']);
    expect(await verify()).toEqual([
      {
        chainId: '"zz\\u001b[1A\\u001b[2K\\u000dchain gw-1: ok\\u001b[8m"', ok: false, records: 1, lastSequence: 1, lastCheckpoint: null,
        problem: 'chain ID malformed: not 1 to 128 letters, digits, \'.\', \'_\', \':\' or \'-\', so no gateway wrote this chain',
      },
      ...bad(8, 'checkpoint at 8: signed by key \\u001b[2K\\u202eok, 10 reco, which is not trusted', { lastCheckpoint: 4 }),
    ]);
  });

  test('a row edited into something that is not a record', async () => {
    const unreadable = kind.name === 'SQLite' ? `'not a list'` : 'ARRAY[NULL]::text[]';
    await sql(`UPDATE {audit_record} SET citizens = ${unreadable} WHERE chain_id = 'gw-1' AND sequence = 4`);
    expect(await verify()).toEqual(bad(4, 'record 4: unreadable (citizens is not a list of text)'));
  });
});
