import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { checkStoredRecord, LIST_FIELDS, type StoredRecord } from './entry';
import { CorruptRecordError } from './errors';
import { columnValueOf, EQUALITY_FILTER_COLUMNS, probeRecord, RECORD_COLUMNS } from './record-columns';
import { startSqliteWriter, type SqliteWriter, type Statement } from './sqlite-writer';
import type { AuditStore, CitizenIndexEntry, RecordQuery, SignedAnchor, SignedCheckpoint } from './store';

export interface SqliteAuditStoreOptions {
  /** Refuse to create the file, default false: the read-only commands must not invent an empty log. */
  mustExist?: boolean;
  /**
   * Open the file read-only, default false (implies mustExist): no schema is created or
   * upgraded and every write fails, for a reader that may only look (the auditors'
   * department reading a department's access log).
   */
  readOnly?: boolean;
  /** How long a write waits for another connection's lock before failing, default 5000 ms. */
  busyTimeoutMs?: number;
}

/**
 * The embedded audit store: one SQLite file shared by every chain written to it.
 * WAL with `synchronous = FULL` fsyncs the log on every commit, so a record whose
 * `append` returned survives the process being killed and the machine losing power;
 * WAL also lets the verify and export commands read while the gateway writes.
 *
 * Lists are JSON arrays in text columns. Citizens are also indexed in
 * `audit_record_citizen` (with the record's time, so "this citizen's records, newest
 * first" reads one index range); that table is derived from the hashed `citizens`
 * column and rewritten with it.
 */
export async function openSqliteAuditStore(file: string, options: SqliteAuditStoreOptions = {}): Promise<AuditStore> {
  if ((options.mustExist || options.readOnly) && !existsSync(file)) throw new Error(`no audit log at ${file}`);
  const db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000, readonly: options.readOnly === true, fileMustExist: options.readOnly === true });
  // A read-only reader takes the file as its writer made it: WAL, schema and all.
  if (!options.readOnly) {
    try {
      prepareForWriting(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  // Records and checkpoints are written from a worker thread, so their fsync never stalls
  // this one. It starts with the first write: the read-only commands (verify, export) never need it.
  let started: SqliteWriter | undefined;
  let hasRecordWriteFailed = false;
  const write = (batch: Statement[], rolledBack: Statement[] = []) => {
    if (options.readOnly) return Promise.reject(new Error(`the audit log at ${file} was opened read-only`));
    started ??= startSqliteWriter(file, options.busyTimeoutMs ?? 5000, WRITES);
    return started.write(batch, rolledBack);
  };
  /** A write of records, or a probe trying one: readiness asks how the last one went. */
  const writeRecords = async (batch: Statement[], rolledBack: Statement[] = []) => {
    try {
      await write(batch, rolledBack);
      hasRecordWriteFailed = false;
    } catch (error) {
      hasRecordWriteFailed = true;
      throw error;
    }
  };
  const lastRecord = db.prepare('SELECT sequence, hash FROM audit_record WHERE chain_id = ? ORDER BY sequence DESC LIMIT 1');
  const lastAnchor = db.prepare(`SELECT first_kept_sequence - 1 AS sequence, previous_hash AS hash FROM audit_anchor
    WHERE chain_id = ? ORDER BY first_kept_sequence DESC LIMIT 1`);
  const lastCheckpoint = db.prepare(`SELECT ${SELECT_CHECKPOINT} FROM audit_checkpoint WHERE chain_id = ? ORDER BY sequence DESC LIMIT 1`);
  const chains = db.prepare(`SELECT chain_id FROM audit_record GROUP BY chain_id
    UNION SELECT chain_id FROM audit_checkpoint UNION SELECT chain_id FROM audit_anchor ORDER BY chain_id`);
  const chainRecords = db.prepare(`SELECT ${SELECT_RECORD('r')} FROM audit_record r WHERE r.chain_id = ? AND r.sequence > ? ORDER BY r.sequence LIMIT ?`);
  const checkpoints = db.prepare(`SELECT ${SELECT_CHECKPOINT} FROM audit_checkpoint WHERE chain_id = ? ORDER BY sequence`);
  const citizenIndex = db.prepare(`SELECT sequence, id_number AS idNumber, time FROM audit_record_citizen
    WHERE chain_id = ? AND sequence > ? AND sequence <= ? ORDER BY sequence, id_number`);
  const anchors = db.prepare(`SELECT chain_id AS chainId, first_kept_sequence AS firstKeptSequence, previous_hash AS previousHash,
    time, key_id AS keyId, signature FROM audit_anchor WHERE chain_id = ? ORDER BY first_kept_sequence`);
  const firstAtOrAfter = db.prepare('SELECT MIN(sequence) AS sequence FROM audit_record WHERE chain_id = ? AND time >= ?');
  const deleteRecords = db.prepare('DELETE FROM audit_record WHERE chain_id = ? AND sequence < ?');
  const deleteCitizens = db.prepare('DELETE FROM audit_record_citizen WHERE chain_id = ? AND sequence < ?');
  const insertAnchor = db.prepare(`INSERT INTO audit_anchor (chain_id, first_kept_sequence, previous_hash, time, key_id, signature)
    VALUES (?, ?, ?, ?, ?, ?)`);
  const removeArchived = db.transaction((anchor: SignedAnchor) => {
    deleteRecords.run(anchor.chainId, anchor.firstKeptSequence);
    deleteCitizens.run(anchor.chainId, anchor.firstKeptSequence);
    insertAnchor.run(anchor.chainId, anchor.firstKeptSequence, anchor.previousHash, anchor.time, anchor.keyId, anchor.signature);
  });

  return {
    location: `SQLite ${file}`,
    async readHead(chainId) {
      const head = (lastRecord.get(chainId) ?? lastAnchor.get(chainId)) as { sequence: number; hash: string } | undefined;
      return head ?? null;
    },
    async append(records) {
      await writeRecords(records.flatMap(recordStatements));
    },
    async appendCheckpoint(c: SignedCheckpoint) {
      await write([['checkpoint', [c.chainId, c.sequence, c.hash, c.time, ...linkColumns(c), c.keyId, c.signature]]]);
    },
    async lastCheckpoint(chainId) {
      const row = lastCheckpoint.get(chainId) as CheckpointRow | undefined;
      return row ? fromCheckpointRow(row) : null;
    },
    async probeWrite(writerId) {
      const time = new Date().toISOString();
      await writeRecords([['probe', [writerId, time]]], recordStatements(probeRecord(writerId, time)));
    },
    hasRecordWriteFailed: () => hasRecordWriteFailed,
    async listChains() {
      return (chains.all() as { chain_id: string }[]).map((row) => row.chain_id);
    },
    async readChain(chainId, afterSequence, limit) {
      return (chainRecords.all(chainId, afterSequence, limit) as RecordRow[]).map(fromRow);
    },
    async readCheckpoints(chainId) {
      return (checkpoints.all(chainId) as CheckpointRow[]).map(fromCheckpointRow);
    },
    async readCitizenIndex(chainId, afterSequence, throughSequence) {
      return citizenIndex.all(chainId, afterSequence, throughSequence ?? Number.MAX_SAFE_INTEGER) as CitizenIndexEntry[];
    },
    async readAnchors(chainId) {
      return anchors.all(chainId) as SignedAnchor[];
    },
    async queryRecords(query) {
      const { sql, params } = recordQuerySql(query);
      return (db.prepare(sql).all(...params) as RecordRow[]).map(fromRow);
    },
    async firstSequenceAtOrAfter(chainId, time) {
      return (firstAtOrAfter.get(chainId, time) as { sequence: number | null }).sequence;
    },
    async removeArchived(anchor) {
      removeArchived.immediate(anchor);
    },
    async close() {
      await started?.close();
      db.close();
    },
  };
}

/** WAL, fsync on every commit, the tables and the columns later versions added. */
function prepareForWriting(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  addMissingColumns(db);
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS audit_record (
    chain_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    previous_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    request_id TEXT NOT NULL,
    application TEXT,
    officer TEXT,
    role TEXT,
    service_item TEXT,
    case_number TEXT,
    operation_name TEXT,
    document_hash TEXT,
    coordinates TEXT NOT NULL,
    citizens TEXT NOT NULL,
    departments TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error_codes TEXT NOT NULL,
    latency_ms INTEGER NOT NULL,
    request_count INTEGER NOT NULL DEFAULT 1,
    exchange TEXT,
    PRIMARY KEY (chain_id, sequence)
  );
  CREATE INDEX IF NOT EXISTS audit_record_time ON audit_record (time, chain_id, sequence);
  CREATE INDEX IF NOT EXISTS audit_record_request_id ON audit_record (request_id, time);
  CREATE INDEX IF NOT EXISTS audit_record_application ON audit_record (application, time);
  CREATE INDEX IF NOT EXISTS audit_record_officer ON audit_record (officer, time);
  CREATE INDEX IF NOT EXISTS audit_record_service_item ON audit_record (service_item, time);
  CREATE INDEX IF NOT EXISTS audit_record_case_number ON audit_record (case_number, time);
  CREATE INDEX IF NOT EXISTS audit_record_outcome ON audit_record (outcome, time);
  CREATE TABLE IF NOT EXISTS audit_record_citizen (
    id_number TEXT NOT NULL,
    time TEXT NOT NULL,
    chain_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    PRIMARY KEY (id_number, time, chain_id, sequence)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS audit_record_citizen_record ON audit_record_citizen (chain_id, sequence);
  CREATE TABLE IF NOT EXISTS audit_checkpoint (
    chain_id TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    is_linked INTEGER NOT NULL DEFAULT 0,
    previous_sequence INTEGER,
    previous_digest TEXT,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (chain_id, sequence)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS audit_anchor (
    chain_id TEXT NOT NULL,
    first_kept_sequence INTEGER NOT NULL,
    previous_hash TEXT NOT NULL,
    time TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (chain_id, first_kept_sequence)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS audit_probe (
    writer_id TEXT PRIMARY KEY,
    time TEXT NOT NULL
  ) WITHOUT ROWID;
`;

/**
 * Columns added since the first stores were made, as the table, the column and its
 * definition: a file made before is given them at open (earlier records stood for one
 * request each; earlier checkpoints are unlinked).
 */
const ADDED_COLUMNS = [
  ['audit_record', 'request_count', 'INTEGER NOT NULL DEFAULT 1'],
  ['audit_record', 'exchange', 'TEXT'],
  ['audit_checkpoint', 'is_linked', 'INTEGER NOT NULL DEFAULT 0'],
  ['audit_checkpoint', 'previous_sequence', 'INTEGER'],
  ['audit_checkpoint', 'previous_digest', 'TEXT'],
] as const;

function addMissingColumns(db: Database.Database): void {
  // In one IMMEDIATE transaction: two processes opening an old file together must not both add a column.
  db.transaction(() => {
    for (const [table, column, definition] of ADDED_COLUMNS) {
      const columns = db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[];
      if (!columns.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
  }).immediate();
}

/** What the writer thread runs, by the names `append` and `appendCheckpoint` give. */
const WRITES = {
  record: `INSERT INTO audit_record (${RECORD_COLUMNS.map(([column]) => column).join(', ')})
    VALUES (${RECORD_COLUMNS.map(() => '?').join(', ')})`,
  citizens: 'INSERT INTO audit_record_citizen (id_number, time, chain_id, sequence) SELECT value, ?, ?, ? FROM json_each(?)',
  checkpoint: `INSERT INTO audit_checkpoint (chain_id, sequence, hash, time, is_linked, previous_sequence, previous_digest, key_id, signature)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  probe: 'INSERT INTO audit_probe (writer_id, time) VALUES (?, ?) ON CONFLICT (writer_id) DO UPDATE SET time = excluded.time',
};

const SELECT_CHECKPOINT = `chain_id AS chainId, sequence, hash, time, is_linked AS isLinked, previous_sequence AS previousSequence,
  previous_digest AS previousDigest, key_id AS keyId, signature`;

interface CheckpointRow {
  chainId: string;
  sequence: number;
  hash: string;
  time: string;
  isLinked: number;
  previousSequence: number | null;
  previousDigest: string | null;
  keyId: string;
  signature: string;
}

/** is_linked, previous_sequence, previous_digest of a checkpoint. */
function linkColumns(c: SignedCheckpoint): [number, number | null, string | null] {
  return [c.previous === undefined ? 0 : 1, c.previous?.sequence ?? null, c.previous?.digest ?? null];
}

function fromCheckpointRow(row: CheckpointRow): SignedCheckpoint {
  const { chainId, sequence, hash, time, keyId, signature } = row;
  if (!row.isLinked) return { chainId, sequence, hash, time, keyId, signature };
  // A link edited into half a link is kept as found: its signature no longer checks out.
  const previous = row.previousSequence === null && row.previousDigest === null ? null : { sequence: row.previousSequence as number, digest: row.previousDigest as string };
  return { chainId, sequence, hash, time, previous, keyId, signature };
}

const CITIZENS_COLUMN = RECORD_COLUMNS.findIndex(([, field]) => field === 'citizens');

/** The writer's statements for one record: the row, and its citizen index rows. */
function recordStatements(record: StoredRecord): Statement[] {
  const columns = RECORD_COLUMNS.map(([, field]) => toColumn(columnValueOf(record, field)));
  if (record.citizens.length === 0) return [['record', columns]];
  // The index rows are read out of the citizens column's own JSON: one statement per record, not one per citizen.
  return [['record', columns], ['citizens', [record.time, record.chainId, record.sequence, columns[CITIZENS_COLUMN]]]];
}

const SELECT_RECORD = (alias: string) => RECORD_COLUMNS.map(([column, field]) => `${alias}.${column} AS ${field}`).join(', ');

type RecordRow = Record<string, unknown>;

function toColumn(value: ReturnType<typeof columnValueOf>): string | number | null {
  // columnValueOf gives the exchange as its JSON text already: what is left are lists, text, numbers and null.
  return Array.isArray(value) ? JSON.stringify(value) : (value as string | number | null);
}

function fromRow(row: RecordRow): StoredRecord {
  const fields: RecordRow = { ...row };
  for (const field of LIST_FIELDS) {
    try {
      fields[field] = JSON.parse(String(row[field]));
    } catch {
      throw new CorruptRecordError(String(row.chainId), Number(row.sequence), `${field} is not a list of text`);
    }
  }
  return checkStoredRecord(fields);
}

/**
 * A filtered page in (time, chain_id, sequence) order. Filtering by citizen reads from
 * the citizen index, whose key is ordered the same way, and joins the records to it.
 */
function recordQuerySql(query: RecordQuery): { sql: string; params: unknown[] } {
  const { filter } = query;
  const keys = filter.citizen === undefined ? 'r' : 'c';
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (filter.citizen !== undefined) {
    conditions.push('c.id_number = ?');
    params.push(filter.citizen);
  }
  for (const [field, column] of EQUALITY_FILTER_COLUMNS) {
    if (filter[field] !== undefined) {
      conditions.push(`r.${column} = ?`);
      params.push(filter[field]);
    }
  }
  if (filter.from !== undefined) {
    conditions.push(`${keys}.time >= ?`);
    params.push(filter.from);
  }
  if (filter.to !== undefined) {
    conditions.push(`${keys}.time < ?`);
    params.push(filter.to);
  }
  const descending = query.order === 'newest-first';
  if (query.after) {
    conditions.push(`(${keys}.time, ${keys}.chain_id, ${keys}.sequence) ${descending ? '<' : '>'} (?, ?, ?)`);
    params.push(query.after.time, query.after.chainId, query.after.sequence);
  }
  const from = filter.citizen === undefined
    ? 'audit_record r'
    : 'audit_record_citizen c JOIN audit_record r ON r.chain_id = c.chain_id AND r.sequence = c.sequence';
  const direction = descending ? 'DESC' : 'ASC';
  const sql = `SELECT ${SELECT_RECORD('r')} FROM ${from}
    ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
    ORDER BY ${keys}.time ${direction}, ${keys}.chain_id ${direction}, ${keys}.sequence ${direction} LIMIT ?`;
  params.push(query.limit);
  return { sql, params };
}
