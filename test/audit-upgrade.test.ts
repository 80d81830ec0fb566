import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import { GENESIS_HASH, recordHash } from '../audit/canonical';
import type { StoredRecord } from '../audit/entry';
import { openAuditLog } from '../audit/log';
import { openPostgresAuditStore } from '../audit/postgres-store';
import { linkTo, loadPublicKey, loadSigningKey, signCheckpoint } from '../audit/signing';
import { openSqliteAuditStore } from '../audit/sqlite-store';
import type { AuditStore, SignedCheckpoint } from '../audit/store';
import { verifyChains } from '../audit/verify';
import { auditEntry, signingKeyFileIn, TEST_DATABASE_URL } from './helpers/audit-stores';

/**
 * Stores made before records carried a request count and checkpoints were linked (the
 * development data folders and databases of earlier versions): opened by this version,
 * they are given the new columns, their records keep their hashes, their unlinked
 * checkpoints are accepted, and the chain's first linked checkpoint names the last of them.
 */

/** The tables as earlier versions made them, only what these tests write (the rest is created at open). */
const OLD_TABLES = (table: (name: string) => string, list: string, sequence: string) => `
  CREATE TABLE ${table('audit_record')} (
    chain_id TEXT NOT NULL, sequence ${sequence} NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL, time TEXT NOT NULL,
    request_id TEXT NOT NULL, application TEXT, officer TEXT, role TEXT, service_item TEXT, case_number TEXT, operation_name TEXT,
    document_hash TEXT, coordinates ${list} NOT NULL, citizens ${list} NOT NULL, departments ${list} NOT NULL, outcome TEXT NOT NULL,
    error_codes ${list} NOT NULL, latency_ms INTEGER NOT NULL, PRIMARY KEY (chain_id, sequence)
  );
  CREATE TABLE ${table('audit_checkpoint')} (
    chain_id TEXT NOT NULL, sequence ${sequence} NOT NULL, hash TEXT NOT NULL, time TEXT NOT NULL, key_id TEXT NOT NULL,
    signature TEXT NOT NULL, PRIMARY KEY (chain_id, sequence)
  );`;

const OLD_COLUMNS = ['chain_id', 'sequence', 'previous_hash', 'hash', 'time', 'request_id', 'application', 'officer', 'role', 'service_item',
  'case_number', 'operation_name', 'document_hash', 'coordinates', 'citizens', 'departments', 'outcome', 'error_codes', 'latency_ms'];

interface OldStore {
  /** Runs SQL on the old database directly; `?` placeholders. */
  sql(text: string, params?: unknown[]): Promise<void>;
  table(name: string): string;
  list(values: string[]): unknown;
  /** Opens the store with this version's code. */
  open(): Promise<AuditStore>;
  /** The columns a table has now. */
  columns(table: string): Promise<string[]>;
  remove(): Promise<void>;
}

const KINDS: { name: string; create(folder: string): Promise<OldStore> }[] = [
  {
    name: 'SQLite',
    async create(folder) {
      const file = path.join(folder, 'audit.sqlite');
      const db = new Database(file);
      db.exec(`${OLD_TABLES((name) => name, 'TEXT', 'INTEGER')}
        CREATE TABLE audit_record_citizen (id_number TEXT NOT NULL, time TEXT NOT NULL, chain_id TEXT NOT NULL, sequence INTEGER NOT NULL,
          PRIMARY KEY (id_number, time, chain_id, sequence)) WITHOUT ROWID;`);
      let store: AuditStore | undefined;
      return {
        async sql(text, params = []) {
          db.prepare(text).run(...params);
        },
        table: (name) => name,
        list: (values) => JSON.stringify(values),
        async open() {
          store = await openSqliteAuditStore(file);
          return store;
        },
        async columns(table) {
          return db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[];
        },
        async remove() {
          await store?.close();
          db.close();
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    async create() {
      const schema = `audit_old_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
      const direct = new Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
      await direct.query(`CREATE SCHEMA "${schema}"; ${OLD_TABLES((name) => `"${schema}".${name}`, 'text[]', 'bigint')}`);
      let store: AuditStore | undefined;
      return {
        async sql(text, params = []) {
          let index = 0;
          await direct.query(text.replace(/\?/g, () => `$${++index}`), params);
        },
        table: (name) => `"${schema}".${name}`,
        list: (values) => values,
        async open() {
          store = await openPostgresAuditStore(new Pool({ connectionString: TEST_DATABASE_URL, max: 2 }), { schema });
          return store;
        },
        async columns(table) {
          const { rows } = await direct.query('SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position', [schema, table]);
          return rows.map((row) => row.column_name as string);
        },
        async remove() {
          await store?.close();
          await direct.query(`DROP SCHEMA "${schema}" CASCADE`);
          await direct.end();
        },
      };
    },
  },
];

describe.each(KINDS)('a $name store made by an earlier version', (kind) => {
  let folder: string;
  let old: OldStore;
  let keyFile: string;
  let records: Omit<StoredRecord, 'requests' | 'exchange'>[];
  let checkpoints: SignedCheckpoint[];

  /** Records 1 to 3 of chain gw-old and unlinked checkpoints at 2 and 3, written as the earlier version wrote them. */
  beforeEach(async () => {
    folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-audit-upgrade-'));
    keyFile = signingKeyFileIn(folder);
    old = await kind.create(folder);
    records = [];
    let previousHash = GENESIS_HASH;
    for (let sequence = 1; sequence <= 3; sequence += 1) {
      const { requests, exchange, ...entry } = auditEntry({ requestId: `req-${sequence}` });
      const record = { chainId: 'gw-old', sequence, previousHash, hash: '', ...entry };
      // The earlier version hashed the 18 members: a record standing for one request encodes the same way now.
      record.hash = recordHash({ ...record, requests: 1, exchange: null });
      records.push(record);
      previousHash = record.hash;
      const values = OLD_COLUMNS.map((column) => {
        const value = (record as Record<string, unknown>)[column.replace(/_(\w)/g, (_, letter: string) => letter.toUpperCase())];
        return Array.isArray(value) ? old.list(value) : value;
      });
      await old.sql(`INSERT INTO ${old.table('audit_record')} (${OLD_COLUMNS.join(', ')}) VALUES (${OLD_COLUMNS.map(() => '?').join(', ')})`, values);
      if (kind.name === 'SQLite') await old.sql('INSERT INTO audit_record_citizen VALUES (?, ?, ?, ?)', [record.citizens[0], record.time, 'gw-old', sequence]);
    }
    checkpoints = [2, 3].map((sequence) =>
      signCheckpoint({ chainId: 'gw-old', sequence, hash: records[sequence - 1].hash, time: '2024-06-01T10:00:00.000Z' }, loadSigningKey(keyFile)));
    for (const c of checkpoints) {
      await old.sql(`INSERT INTO ${old.table('audit_checkpoint')} (chain_id, sequence, hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)`, [
        c.chainId, c.sequence, c.hash, c.time, c.keyId, c.signature,
      ]);
    }
  });
  afterEach(async () => {
    await old.remove();
    rmSync(folder, { recursive: true, force: true });
  });

  test('opens with the new columns added; its records stand for one request each and it verifies', async () => {
    const store = await old.open();
    expect(await old.columns('audit_record')).toContain('request_count');
    expect(await old.columns('audit_checkpoint')).toEqual(expect.arrayContaining(['is_linked', 'previous_sequence', 'previous_digest']));
    expect(await store.readChain('gw-old', 0, 10)).toEqual(records.map((record) => ({ ...record, requests: 1, exchange: null })));
    expect(await store.readCheckpoints('gw-old')).toEqual(checkpoints);
    expect(await verifyChains(store, [loadPublicKey(keyFile)])).toEqual([{ chainId: 'gw-old', ok: true, records: 3, lastSequence: 3, lastCheckpoint: 3 }]);
  });

  test('the gateway continues the chain: its first linked checkpoint names the last unlinked one, and deleting that one shows', async () => {
    const store = await old.open();
    const log = await openAuditLog({ store, chainId: 'gw-old', signingKeyFile: keyFile });
    await log.record(auditEntry({ requestId: 'req-4' }));
    await log.close();
    const [, , linked] = await store.readCheckpoints('gw-old');
    expect(linked).toMatchObject({ sequence: 4, previous: linkTo(checkpoints[1]) });
    expect(await verifyChains(store, [loadPublicKey(keyFile)])).toEqual([{ chainId: 'gw-old', ok: true, records: 4, lastSequence: 4, lastCheckpoint: 4 }]);

    await old.sql(`DELETE FROM ${old.table('audit_checkpoint')} WHERE sequence = 3`);
    expect(await verifyChains(store, [loadPublicKey(keyFile)])).toEqual([{
      chainId: 'gw-old', ok: false, records: 4, lastSequence: 4, lastCheckpoint: 4, firstBadSequence: 3,
      problem: 'checkpoint at 3 is missing (checkpoint 4 follows it): record 3 may have been cut or rewritten',
    }]);
  });

  test('opened again, nothing is added twice', async () => {
    await (await old.open()).close();
    const again = await old.open();
    expect((await old.columns('audit_record')).filter((column) => column === 'request_count')).toHaveLength(1);
    expect((await verifyChains(again, [loadPublicKey(keyFile)]))[0]).toMatchObject({ ok: true });
  });
});
