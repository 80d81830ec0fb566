import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { archiveRecords, verifyArchive, type ArchiveOptions } from '../audit/archive';
import type { StoredRecord } from '../audit/entry';
import { RetentionPeriodError } from '../audit/errors';
import { openAuditLog } from '../audit/log';
import { loadPublicKey } from '../audit/signing';
import { verifyChains } from '../audit/verify';
import { openWitnessWriter, readWitnesses } from '../audit/witness';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, type AuditStoreTarget } from './helpers/audit-stores';

/** Archiving runs on 2024-06-01, so with the default 3 years only records before 2021-06-01 may go. */
const NOW = new Date('2024-06-01T00:00:00.000Z');
const month = (year: number, month: number) => `${year}-${String(month).padStart(2, '0')}-15T08:00:00.000Z`;

/**
 * gw-1: records 1 to 12, one a month through 2020, checkpoints at 4, 8 and (on close) 12.
 * gw-2: records 1 to 3 in 2021-03 to 2021-05, checkpoint at 3.
 */
describe.each(AUDIT_STORE_KINDS)('archiving a $name store', (kind) => {
  let target: AuditStoreTarget;
  let keyFile: string;
  let gw1: StoredRecord[];

  beforeEach(async () => {
    target = await kind.create();
    keyFile = signingKeyFileIn(target.folder);
    const log = await openAuditLog({ store: target.store, chainId: 'gw-1', signingKeyFile: keyFile });
    gw1 = [];
    for (let m = 1; m <= 12; m += 1) {
      // Record 2 stands for 5 requests (refusals recorded in aggregate): archives carry the count.
      gw1.push(await log.record(auditEntry({ requestId: `req-${m}`, time: month(2020, m), requests: m === 2 ? 5 : undefined })));
      if (m === 4 || m === 8) await log.checkpoint();
    }
    await log.close();
    const other = await openAuditLog({ store: target.store, chainId: 'gw-2', signingKeyFile: keyFile });
    for (let m = 3; m <= 5; m += 1) await other.record(auditEntry({ requestId: `other-${m}`, time: month(2021, m) }));
    await other.close();
  });
  afterEach(() => target.remove());

  const archive = (options: Partial<ArchiveOptions> & { before: string; out: string }) =>
    archiveRecords({ store: target.store, signingKeyFile: keyFile, publicKeys: [loadPublicKey(keyFile)], verifyOptions: {}, clock: () => NOW, ...options });
  const file = (name: string) => path.join(target.folder, name);
  const linesOf = (name: string) => readFileSync(file(name), 'utf8').trimEnd().split('\n');
  const verifyStore = () => verifyChains(target.store, [loadPublicKey(keyFile)]);
  const verifyFile = (name: string) => verifyArchive(target.store, file(name), [loadPublicKey(keyFile)]);
  const GW2_OK = { chainId: 'gw-2', ok: true, records: 3, lastSequence: 3, lastCheckpoint: 3 };

  test('moves the records before the instant into the file, with their hashes, and both the store and the file still verify', async () => {
    expect(await archive({ before: '2020-06-01T00:00:00.000Z', out: file('2020-h1.jsonl') })).toEqual([
      { chainId: 'gw-1', firstArchivedSequence: 1, lastArchivedSequence: 5, firstKeptSequence: 6 },
    ]);
    expect(linesOf('2020-h1.jsonl').map((line) => JSON.parse(line))).toEqual(gw1.slice(0, 5));
    expect(await target.store.readChain('gw-1', 0, 100)).toEqual(gw1.slice(5));
    expect(await verifyStore()).toEqual([{ chainId: 'gw-1', ok: true, records: 7, lastSequence: 12, lastCheckpoint: 12 }, GW2_OK]);
    expect(await verifyFile('2020-h1.jsonl')).toEqual([{ chainId: 'gw-1', ok: true, records: 5, lastSequence: 5, lastCheckpoint: 4 }]);
  });

  test('a second archive starts at the first one\'s anchor, and every piece still verifies', async () => {
    await archive({ before: '2020-06-01T00:00:00.000Z', out: file('first.jsonl') });
    expect(await archive({ before: '2020-10-01T00:00:00.000Z', out: file('second.jsonl') })).toEqual([
      { chainId: 'gw-1', firstArchivedSequence: 6, lastArchivedSequence: 9, firstKeptSequence: 10 },
    ]);
    expect(await verifyFile('first.jsonl')).toEqual([{ chainId: 'gw-1', ok: true, records: 5, lastSequence: 5, lastCheckpoint: 4 }]);
    expect(await verifyFile('second.jsonl')).toEqual([{ chainId: 'gw-1', ok: true, records: 4, lastSequence: 9, lastCheckpoint: 8 }]);
    expect(await verifyStore()).toEqual([{ chainId: 'gw-1', ok: true, records: 3, lastSequence: 12, lastCheckpoint: 12 }, GW2_OK]);
  });

  test('a chain archived whole is continued by its gateway from the anchor', async () => {
    expect(await archive({ before: '2021-04-01T00:00:00.000Z', out: file('all.jsonl') })).toEqual([
      { chainId: 'gw-1', firstArchivedSequence: 1, lastArchivedSequence: 12, firstKeptSequence: 13 },
      { chainId: 'gw-2', firstArchivedSequence: 1, lastArchivedSequence: 1, firstKeptSequence: 2 },
    ]);
    expect(await verifyStore()).toEqual([
      { chainId: 'gw-1', ok: true, records: 0, lastSequence: 12, lastCheckpoint: null },
      { chainId: 'gw-2', ok: true, records: 2, lastSequence: 3, lastCheckpoint: 3 },
    ]);
    const log = await openAuditLog({ store: await target.reopen(), chainId: 'gw-1', signingKeyFile: keyFile });
    expect(await log.record(auditEntry({ time: '2024-05-31T08:00:00.000Z' }))).toMatchObject({ sequence: 13, previousHash: gw1[11].hash });
    await log.close();
    expect((await verifyStore())[0]).toEqual({ chainId: 'gw-1', ok: true, records: 1, lastSequence: 13, lastCheckpoint: 13 });
    expect(await verifyFile('all.jsonl')).toEqual([
      { chainId: 'gw-1', ok: true, records: 12, lastSequence: 12, lastCheckpoint: 12 },
      { chainId: 'gw-2', ok: true, records: 1, lastSequence: 1, lastCheckpoint: null },
    ]);
  });

  test('the cut keeps the chain contiguous: it falls before the first record at or after the instant, whatever comes later', async () => {
    const log = await openAuditLog({ store: target.store, chainId: 'gw-3', signingKeyFile: keyFile });
    for (const time of [month(2020, 1), month(2020, 2), month(2020, 9), month(2020, 3), month(2020, 4)]) await log.record(auditEntry({ time }));
    await log.close();
    const archived = await archive({ before: '2020-06-01T00:00:00.000Z', out: file('gw3.jsonl') });
    expect(archived.find((chain) => chain.chainId === 'gw-3')).toEqual({ chainId: 'gw-3', firstArchivedSequence: 1, lastArchivedSequence: 2, firstKeptSequence: 3 });
    expect((await verifyStore()).every((chain) => chain.ok)).toBe(true);
  });

  test('an archive file written before records carried `requests` still verifies: each of its records stood for one request', async () => {
    await archive({ before: '2020-06-01T00:00:00.000Z', out: file('a.jsonl') });
    const lines = linesOf('a.jsonl').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.requests)).toEqual([1, 5, 1, 1, 1]);
    const older = lines.map(({ requests, ...line }) => (requests === 1 ? line : { ...line, requests }));
    writeFileSync(file('older.jsonl'), older.map((line) => JSON.stringify(line)).join('\n'));
    expect(await verifyFile('older.jsonl')).toEqual([{ chainId: 'gw-1', ok: true, records: 5, lastSequence: 5, lastCheckpoint: 4 }]);
    writeFileSync(file('recounted.jsonl'), lines.map((line) => JSON.stringify(line.sequence === 2 ? { ...line, requests: 1 } : line)).join('\n'));
    expect(await verifyFile('recounted.jsonl')).toEqual([
      { chainId: 'gw-1', ok: false, records: 5, lastSequence: 5, lastCheckpoint: 4, firstBadSequence: 2, problem: 'record 2: hash does not match its contents' },
    ]);
  });

  test('an edited, missing or cut-short archive file is caught and located', async () => {
    await archive({ before: '2020-06-01T00:00:00.000Z', out: file('a.jsonl') });
    const lines = linesOf('a.jsonl');
    const edited = JSON.parse(lines[2]);
    edited.officer = 'officer-999';
    writeFileSync(file('edited.jsonl'), [...lines.slice(0, 2), JSON.stringify(edited), ...lines.slice(3)].join('\n'));
    expect(await verifyFile('edited.jsonl')).toEqual([
      { chainId: 'gw-1', ok: false, records: 5, lastSequence: 5, lastCheckpoint: 4, firstBadSequence: 3, problem: 'record 3: hash does not match its contents' },
    ]);
    writeFileSync(file('gap.jsonl'), [...lines.slice(0, 1), ...lines.slice(2)].join('\n'));
    expect(await verifyFile('gap.jsonl')).toEqual([
      { chainId: 'gw-1', ok: false, records: 4, lastSequence: 5, lastCheckpoint: 4, firstBadSequence: 2, problem: 'record 2 missing: sequence jumps from 1 to 3' },
    ]);
    writeFileSync(file('short.jsonl'), lines.slice(0, 4).join('\n'));
    expect(await verifyFile('short.jsonl')).toEqual([
      { chainId: 'gw-1', ok: false, records: 4, lastSequence: 4, lastCheckpoint: 4, firstBadSequence: 4, problem: 'record 4: no archive anchor in the store continues the chain at 5' },
    ]);
    writeFileSync(file('garbled.jsonl'), [...lines.slice(0, 3), '{"chainId":', ...lines.slice(4)].join('\n'));
    expect(await verifyFile('garbled.jsonl')).toEqual([
      { chainId: 'gw-1', ok: false, records: 5, lastSequence: 5, lastCheckpoint: null, firstBadSequence: 4, problem: 'record 4: unreadable (line 4: not JSON)' },
    ]);
  });

  test('an anchor edited or deleted in the store is caught at the cut', async () => {
    await archive({ before: '2020-06-01T00:00:00.000Z', out: file('a.jsonl') });
    await target.sql(`UPDATE ${target.table('audit_anchor')} SET previous_hash = ? WHERE chain_id = 'gw-1'`, [gw1[6].hash]);
    expect((await verifyStore())[0]).toEqual({
      chainId: 'gw-1', ok: false, records: 7, lastSequence: 12, lastCheckpoint: 12, firstBadSequence: 6, problem: 'archive anchor at 6: signature invalid',
    });
    await target.sql(`DELETE FROM ${target.table('audit_anchor')} WHERE chain_id = 'gw-1'`);
    expect((await verifyStore())[0]).toEqual({
      chainId: 'gw-1', ok: false, records: 7, lastSequence: 12, lastCheckpoint: 12, firstBadSequence: 1, problem: 'records 1 to 5 missing: the chain starts at 6',
    });
  });

  test('records younger than the retention period are never removed', async () => {
    const attempt = archive({ before: '2022-01-01T00:00:00.000Z', out: file('too-young.jsonl') });
    await expect(attempt).rejects.toBeInstanceOf(RetentionPeriodError);
    await expect(attempt).rejects.toThrow('before 2022-01-01T00:00:00.000Z is within the retention period of 3 years: only records before 2021-06-01T00:00:00.000Z may be archived');
    await expect(archive({ before: '2021-01-01T00:00:00.000Z', out: file('x.jsonl'), retentionYears: 4 })).rejects.toThrow(
      'before 2021-01-01T00:00:00.000Z is within the retention period of 4 years: only records before 2020-06-01T00:00:00.000Z may be archived',
    );
    expect(existsSync(file('too-young.jsonl'))).toBe(false);
    expect(await target.store.readChain('gw-1', 0, 100)).toEqual(gw1);
  });

  test('a chain that does not verify is not archived: that would sign the tampering into an anchor', async () => {
    await target.sql(`UPDATE ${target.table('audit_record')} SET officer = 'officer-999' WHERE chain_id = 'gw-1' AND sequence = 2`);
    await expect(archive({ before: '2020-06-01T00:00:00.000Z', out: file('a.jsonl') })).rejects.toThrow(
      'chain gw-1 does not verify (record 2: hash does not match its contents); nothing was archived',
    );
    expect(existsSync(file('a.jsonl'))).toBe(false);
    expect(await target.store.readChain('gw-1', 0, 100)).toHaveLength(12);
  });

  test('a chain that verifies only without its witness, or a chain that must exist and does not, stops the archive: nothing is written or removed', async () => {
    // A witness that saw gw-1's checkpoints, then gw-1's tail cut with its checkpoints: the store alone verifies.
    const witnessFile = file('witness.jsonl');
    const witness = await openWitnessWriter(witnessFile);
    for (const checkpoint of await target.store.readCheckpoints('gw-1')) await witness.append(checkpoint);
    await witness.close();
    await target.sql(`DELETE FROM ${target.table('audit_record')} WHERE chain_id = 'gw-1' AND sequence >= 10`);
    if (kind.name === 'SQLite') await target.sql(`DELETE FROM audit_record_citizen WHERE chain_id = 'gw-1' AND sequence >= 10`);
    await target.sql(`DELETE FROM ${target.table('audit_checkpoint')} WHERE chain_id = 'gw-1' AND sequence >= 9`);
    expect((await verifyStore())[0]).toEqual({ chainId: 'gw-1', ok: true, records: 9, lastSequence: 9, lastCheckpoint: 8 });

    const before = '2020-06-01T00:00:00.000Z';
    await expect(archive({ before, out: file('a.jsonl'), verifyOptions: { witnessed: await readWitnesses([witnessFile]) } })).rejects.toThrow(
      `chain gw-1 does not verify (checkpoint at 12 (witness ${witnessFile}) is past the last record 9: the tail was cut); nothing was archived`,
    );
    await expect(archive({ before, out: file('a.jsonl'), verifyOptions: { expectedChains: new Map([['gw-9', '--chains names it']]) } })).rejects.toThrow(
      'chain gw-9 does not verify (chain missing: the store holds no record, checkpoint or anchor of it, but --chains names it); nothing was archived',
    );
    expect(existsSync(file('a.jsonl'))).toBe(false);
    expect(await target.store.readChain('gw-1', 0, 100)).toEqual(gw1.slice(0, 9));
    expect(await target.store.readAnchors('gw-1')).toEqual([]);
  });

  test('an existing file is never overwritten, and nothing is removed', async () => {
    writeFileSync(file('exists.jsonl'), 'earlier archive\n');
    await expect(archive({ before: '2020-06-01T00:00:00.000Z', out: file('exists.jsonl') })).rejects.toThrow(
      `${file('exists.jsonl')} already exists: an archive is never overwritten`,
    );
    expect(readFileSync(file('exists.jsonl'), 'utf8')).toBe('earlier archive\n');
    expect(await target.store.readChain('gw-1', 0, 100)).toHaveLength(12);
  });

  test('with nothing old enough, nothing is written', async () => {
    expect(await archive({ before: '2019-01-01T00:00:00.000Z', out: file('none.jsonl') })).toEqual([]);
    expect(existsSync(file('none.jsonl'))).toBe(false);
  });
});
