import { readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { GENESIS_HASH, recordHash } from '../audit/canonical';
import type { StoredRecord } from '../audit/entry';
import { AuditUnavailableError } from '../audit/errors';
import { openAuditLog, type AuditLogOptions } from '../audit/log';
import { checkCheckpointSignature, checkpointDigest, linkTo, loadPublicKey, trustedKeys } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import type { AuditStore } from '../audit/store';
import { verifyChains } from '../audit/verify';
import { lastWitnessedCheckpoint } from '../audit/witness';
import { AUDIT_STORE_KINDS, auditEntry, signingKeyFileIn, type AuditStoreTarget } from './helpers/audit-stores';

const CHECKPOINT_TIME = new Date('2024-06-01T10:00:00.000Z');

/** The store, with every batch `append` received (one batch is one transaction) and failures on demand. */
function instrumented(store: AuditStore) {
  const batches: number[][] = [];
  const failures = { append: false, appendThenFail: false, readHead: false };
  const wrapped: AuditStore = {
    ...store,
    async append(records) {
      batches.push(records.map((r) => r.sequence));
      if (failures.append) throw new Error('disk full');
      await store.append(records);
      if (failures.appendThenFail) throw new Error('connection lost after COMMIT');
    },
    async readHead(chainId) {
      if (failures.readHead) throw new Error('connection refused');
      return store.readHead(chainId);
    },
  };
  return { store: wrapped, batches, failures };
}

async function readAll(store: AuditStore, chainId = 'gw-1'): Promise<StoredRecord[]> {
  return store.readChain(chainId, 0, 10_000);
}

describe.each(AUDIT_STORE_KINDS)('audit log on $name', (kind) => {
  let target: AuditStoreTarget;
  let keyFile: string;
  const open = (store: AuditStore, options: Partial<AuditLogOptions> = {}) =>
    openAuditLog({ store, chainId: 'gw-1', signingKeyFile: keyFile, clock: () => CHECKPOINT_TIME, ...options });

  beforeEach(async () => {
    target = await kind.create();
    keyFile = signingKeyFileIn(target.folder);
  });
  afterEach(() => target.remove());

  test('records come back from the store exactly as record() resolved them, chained from the genesis hash', async () => {
    const log = await open(target.store);
    const first = await log.record(auditEntry({ requestId: 'req-1', citizens: ['330106199001011234', '110101199003077777'] }));
    const second = await log.record(auditEntry({ requestId: 'req-2', outcome: 'refused', errorCodes: ['PURPOSE_REQUIRED'], officer: null }));
    expect(first).toEqual({
      chainId: 'gw-1',
      sequence: 1,
      previousHash: GENESIS_HASH,
      hash: recordHash({ ...first }),
      ...auditEntry({
        requestId: 'req-1',
        citizens: ['110101199003077777', '330106199001011234'],
        coordinates: ['Citizen.household', 'Citizen.identity'],
      }),
      requests: 1,
    });
    expect(second).toMatchObject({ sequence: 2, previousHash: first.hash, outcome: 'refused', officer: null, errorCodes: ['PURPOSE_REQUIRED'] });
    expect(second.hash).toBe(recordHash(second));
    expect(await readAll(target.store)).toEqual([first, second]);
    await log.close();
    expect(await verifyChains(target.store, [loadPublicKey(keyFile)])).toEqual([
      { chainId: 'gw-1', ok: true, records: 2, lastSequence: 2, lastCheckpoint: 2 },
    ]);
  });

  test('concurrent records share transactions: 50 calls, groups of at most 16, four transactions, sequences in call order', async () => {
    const { store, batches } = instrumented(target.store);
    const log = await open(store, { maxGroupSize: 16 });
    const records = await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(auditEntry({ requestId: `req-${i + 1}` }))));
    expect(batches.map((batch) => batch.length)).toEqual([16, 16, 16, 2]);
    expect(batches.flat()).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(records.map((r) => [r.sequence, r.requestId])).toEqual(Array.from({ length: 50 }, (_, i) => [i + 1, `req-${i + 1}`]));
    expect(await readAll(target.store)).toEqual(records);
    await log.close();
  });

  test('records arriving within the window go in one transaction', async () => {
    const { store, batches } = instrumented(target.store);
    const log = await open(store, { groupCommitWindowMs: 20 });
    const early = [log.record(auditEntry({ requestId: 'a' })), log.record(auditEntry({ requestId: 'b' }))];
    await new Promise((resolve) => setTimeout(resolve, 1));
    const late = log.record(auditEntry({ requestId: 'c' }));
    await Promise.all([...early, late]);
    expect(batches).toEqual([[1, 2, 3]]);
    await log.close();
  });

  test('a restarted gateway continues its chain where the store left it, and other chains are left alone', async () => {
    const before = await open(target.store);
    await before.record(auditEntry({ requestId: 'req-1' }));
    const last = await before.record(auditEntry({ requestId: 'req-2' }));
    await before.close();
    const other = await open(target.store, { chainId: 'gw-2' });
    expect((await other.record(auditEntry({ requestId: 'other' }))).sequence).toBe(1);
    await other.close();

    const store = await target.reopen();
    const after = await open(store);
    const next = await after.record(auditEntry({ requestId: 'req-3' }));
    expect(next).toMatchObject({ sequence: 3, previousHash: last.hash });
    await after.close();
    expect(await verifyChains(store, [loadPublicKey(keyFile)])).toEqual([
      { chainId: 'gw-1', ok: true, records: 3, lastSequence: 3, lastCheckpoint: 3 },
      { chainId: 'gw-2', ok: true, records: 1, lastSequence: 1, lastCheckpoint: 1 },
    ]);
  });

  test('two gateway instances on one database write their own chains at the same time', async () => {
    const [one, two] = [await open(target.store, { chainId: 'gw-1' }), await open(await target.reopen(), { chainId: 'gw-2' })];
    const written = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? one : two).record(auditEntry({ requestId: `req-${i}` }))));
    expect(written.filter((r) => r.chainId === 'gw-1').map((r) => r.sequence)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(written.filter((r) => r.chainId === 'gw-2').map((r) => r.sequence)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    await one.close();
    await two.close();
    expect(await verifyChains(target.store, [loadPublicKey(keyFile)])).toEqual([
      { chainId: 'gw-1', ok: true, records: 30, lastSequence: 30, lastCheckpoint: 30 },
      { chainId: 'gw-2', ok: true, records: 30, lastSequence: 30, lastCheckpoint: 30 },
    ]);
  });

  test('a group the database refuses is rejected whole: every record in it fails, none is stored, the head does not move', async () => {
    const log = await open(target.store);
    const kept = await log.record(auditEntry({ requestId: 'req-1' }));
    await target.sql(target.poisonTriggerSql);
    const group = [log.record(auditEntry({ requestId: 'req-2' })), log.record(auditEntry({ requestId: 'poison' })), log.record(auditEntry({ requestId: 'req-3' }))];
    const outcomes = await Promise.allSettled(group);
    const expected = new AuditUnavailableError(`could not write 3 audit record(s) of chain gw-1 to ${target.store.location}`);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(AuditUnavailableError);
      expect(reason).toEqual(expected);
      expect(String(reason.cause)).toMatch(/poisoned record refused/);
    }
    expect(await readAll(target.store)).toEqual([kept]);

    const next = await log.record(auditEntry({ requestId: 'req-4' }));
    expect(next).toMatchObject({ sequence: 2, previousHash: kept.hash });
    await log.close();
    expect((await verifyChains(target.store, [loadPublicKey(keyFile)]))[0]).toMatchObject({ ok: true, records: 2 });
  });

  test('with its table dropped the store cannot write, and record() rejects with AuditUnavailableError', async () => {
    const log = await open(target.store);
    await log.record(auditEntry());
    await target.sql(`DROP TABLE ${target.table('audit_record')}`);
    const failure = log.record(auditEntry({ requestId: 'req-2' }));
    await expect(failure).rejects.toBeInstanceOf(AuditUnavailableError);
    await expect(failure).rejects.toThrow(`could not write 1 audit record(s) of chain gw-1 to ${target.store.location}`);
  });

  test('after a failed write the head is read again, so a commit that landed despite the error is chained onto, not forked', async () => {
    const { store, failures } = instrumented(target.store);
    const log = await open(store);
    await log.record(auditEntry({ requestId: 'req-1' }));
    failures.appendThenFail = true;
    await expect(log.record(auditEntry({ requestId: 'req-2' }))).rejects.toBeInstanceOf(AuditUnavailableError);
    failures.appendThenFail = false;
    failures.readHead = true;
    await expect(log.record(auditEntry({ requestId: 'req-3' }))).rejects.toBeInstanceOf(AuditUnavailableError);
    failures.readHead = false;
    const next = await log.record(auditEntry({ requestId: 'req-4' }));
    expect(next.sequence).toBe(3);
    expect((await readAll(target.store)).map((r) => r.requestId)).toEqual(['req-1', 'req-2', 'req-4']);
    await log.close();
    expect((await verifyChains(target.store, [loadPublicKey(keyFile)]))[0]).toMatchObject({ ok: true, records: 3 });
  });

  test('a store that fails and recovers: the failed records are rejected and the chain goes on without a gap', async () => {
    const { store, failures } = instrumented(target.store);
    const log = await open(store);
    await log.record(auditEntry({ requestId: 'req-1' }));
    failures.append = true;
    await expect(Promise.all([log.record(auditEntry({ requestId: 'lost-1' })), log.record(auditEntry({ requestId: 'lost-2' }))]))
      .rejects.toThrow('could not write 2 audit record(s) of chain gw-1');
    failures.append = false;
    expect(await log.record(auditEntry({ requestId: 'req-2' }))).toMatchObject({ sequence: 2 });
    expect((await readAll(target.store)).map((r) => r.requestId)).toEqual(['req-1', 'req-2']);
    await log.close();
  });

  test('opening on a store that cannot be read fails with AuditUnavailableError', async () => {
    const { store, failures } = instrumented(target.store);
    failures.readHead = true;
    await expect(open(store)).rejects.toEqual(new AuditUnavailableError(`cannot read the head of audit chain gw-1 from ${target.store.location}`));
  });

  test('a closed log writes what was pending and refuses more', async () => {
    const log = await open(target.store, { groupCommitWindowMs: 50 });
    const pending = log.record(auditEntry());
    await log.close();
    expect((await pending).sequence).toBe(1);
    await expect(log.record(auditEntry())).rejects.toEqual(new AuditUnavailableError('audit chain gw-1 is closed'));
  });

  test('a malformed entry is refused on its own without touching the group', async () => {
    const log = await open(target.store);
    const [bad, good] = await Promise.allSettled([log.record(auditEntry({ time: 'not a time' })), log.record(auditEntry())]);
    expect(bad).toEqual({ status: 'rejected', reason: new TypeError('entry.time must be an ISO instant') });
    expect(good).toMatchObject({ status: 'fulfilled', value: { sequence: 1 } });
    await log.close();
  });

  test('checkpoints: the opening one at open, then the head when it moved, each naming the one before, on demand, on an interval and on close', async () => {
    const log = await open(target.store, { checkpointIntervalMs: 20 });
    const signature = { keyId: expect.stringMatching(/^[0-9a-f]{64}$/), signature: expect.any(String) };
    const [opening] = await target.store.readCheckpoints('gw-1');
    expect(opening).toEqual({ chainId: 'gw-1', sequence: 0, hash: GENESIS_HASH, time: '2024-06-01T10:00:00.000Z', previous: null, ...signature });
    expect(await log.checkpoint()).toBeNull();
    const first = await log.record(auditEntry());
    const checkpoint = await log.checkpoint();
    expect(checkpoint).toEqual({
      chainId: 'gw-1', sequence: 1, hash: first.hash, time: '2024-06-01T10:00:00.000Z', previous: { sequence: 0, digest: checkpointDigest(opening) }, ...signature,
    });
    expect(checkCheckpointSignature(checkpoint!, trustedKeys([loadPublicKey(keyFile)]))).toBe('valid');
    expect(await log.checkpoint()).toBeNull();

    await log.record(auditEntry());
    while ((await target.store.lastCheckpoint('gw-1'))?.sequence !== 2) await new Promise((resolve) => setTimeout(resolve, 10));
    await log.record(auditEntry());
    await log.close();
    const checkpoints = await target.store.readCheckpoints('gw-1');
    expect(checkpoints.map((c) => [c.sequence, c.previous?.sequence ?? null])).toEqual([[0, null], [1, 0], [2, 1], [3, 2]]);
    checkpoints.slice(1).forEach((c, index) => expect(c.previous).toEqual(linkTo(checkpoints[index])));
  });

  test('onCheckpoint is told of each checkpoint once the store holds it, the opening one included, and of none that failed', async () => {
    const told: number[] = [];
    let isFull = false;
    const store: AuditStore = {
      ...target.store,
      async appendCheckpoint(checkpoint) {
        if (isFull) throw new Error('disk full');
        await target.store.appendCheckpoint(checkpoint);
      },
    };
    const log = await open(store, { onCheckpoint: (checkpoint) => told.push(checkpoint.sequence) });
    await log.record(auditEntry());
    isFull = true;
    await expect(log.checkpoint()).rejects.toThrow('could not write a checkpoint');
    isFull = false;
    await log.record(auditEntry());
    await log.checkpoint();
    await log.close();
    expect(told).toEqual([0, 2]);
    expect((await target.store.readCheckpoints('gw-1')).map((c) => c.sequence)).toEqual(told);
  });

  test('a checkpoint write that failed but landed is the one the next checkpoint names: the checkpoints do not fork', async () => {
    let isLost = false;
    const store: AuditStore = {
      ...target.store,
      async appendCheckpoint(checkpoint) {
        await target.store.appendCheckpoint(checkpoint);
        if (isLost) throw new Error('connection lost after COMMIT');
      },
    };
    const log = await open(store);
    await log.record(auditEntry());
    isLost = true;
    await expect(log.checkpoint()).rejects.toThrow(`could not write a checkpoint of audit chain gw-1 to ${target.store.location}`);
    isLost = false;
    await log.record(auditEntry());
    await log.close();
    expect((await target.store.readCheckpoints('gw-1')).map((c) => [c.sequence, c.previous?.sequence ?? null])).toEqual([[0, null], [1, 0], [2, 1]]);
    expect((await verifyChains(target.store, [loadPublicKey(keyFile)]))[0]).toEqual({ chainId: 'gw-1', ok: true, records: 2, lastSequence: 2, lastCheckpoint: 2 });
  });

  test('a record standing for several requests keeps its count through the store, and an ordinary one is stored as 1', async () => {
    const log = await open(target.store);
    const aggregate = await log.record(auditEntry({ requestId: 'refusals', outcome: 'refused', requests: 37 }));
    const ordinary = await log.record(auditEntry());
    expect([aggregate.requests, ordinary.requests]).toEqual([37, 1]);
    expect(await readAll(target.store)).toEqual([aggregate, ordinary]);
    expect((await target.sql(`SELECT request_count FROM ${target.table('audit_record')} ORDER BY sequence`)).map((row) => Number(row.request_count))).toEqual([37, 1]);
    await log.close();
    expect((await verifyChains(target.store, [loadPublicKey(keyFile)]))[0]).toMatchObject({ ok: true, records: 2 });
    await target.sql(`UPDATE ${target.table('audit_record')} SET request_count = 1 WHERE sequence = 1`);
    expect((await verifyChains(target.store, [loadPublicKey(keyFile)]))[0]).toMatchObject({ ok: false, firstBadSequence: 1, problem: 'record 1: hash does not match its contents' });
  });

  test('every checkpoint also goes to the witness file, one line each, exactly as the store holds it', async () => {
    const witnessFile = path.join(target.folder, 'witness.jsonl');
    const log = await open(target.store, { witnessFile });
    await log.record(auditEntry());
    await log.checkpoint();
    const other = await open(target.store, { chainId: 'gw-2', witnessFile });
    await other.close();
    await log.close();
    const lines = readFileSync(witnessFile, 'utf8').split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines.slice(0, -1).map((line) => JSON.parse(line))).toEqual([
      ...(await target.store.readCheckpoints('gw-1')).slice(0, 2),
      ...(await target.store.readCheckpoints('gw-2')),
    ]);
    expect(await lastWitnessedCheckpoint(witnessFile, 'gw-1')).toEqual((await target.store.readCheckpoints('gw-1'))[1]);
  });
});

test('SQLite: a store another connection keeps locked cannot write, and record() rejects with AuditUnavailableError', async () => {
  const target = await AUDIT_STORE_KINDS[0].create();
  const file = path.join(target.folder, 'audit.sqlite');
  const store = await openSqliteAuditStore(file, { busyTimeoutMs: 50 });
  const log = await openAuditLog({ store, chainId: 'gw-1', signingKeyFile: signingKeyFileIn(target.folder) });
  const locker = new Database(file);
  try {
    locker.exec('BEGIN IMMEDIATE');
    const failure = log.record(auditEntry());
    await expect(failure).rejects.toBeInstanceOf(AuditUnavailableError);
    await expect(failure).rejects.toThrow(`could not write 1 audit record(s) of chain gw-1 to SQLite ${file}`);
    locker.exec('ROLLBACK');
    expect((await log.record(auditEntry())).sequence).toBe(1);
  } finally {
    locker.close();
    await store.close();
    await target.remove();
  }
});
