import type { Pool, PoolClient } from 'pg';
import { checkStoredRecord, type StoredRecord } from './entry';
import { columnValueOf, EQUALITY_FILTER_COLUMNS, probeRecord, RECORD_COLUMNS } from './record-columns';
import type { AuditStore, CitizenIndexEntry, RecordQuery, SignedAnchor, SignedCheckpoint } from './store';

export interface PostgresAuditStoreOptions {
  /** The schema holding the audit tables, created when missing; default `proofless_audit`. */
  schema?: string;
  /** Refuse to create the tables, default false: the read-only commands must not invent an empty log. */
  mustExist?: boolean;
  /**
   * Only read, default false (implies mustExist): no schema is created or upgraded, so
   * the store works under a role granted SELECT alone (the auditors' department reading a
   * department's access log). openAuditStore also makes the pool's sessions read-only.
   */
  readOnly?: boolean;
}

export const DEFAULT_POSTGRES_SCHEMA = 'proofless_audit';

/** Schema names are put into SQL text, so only plain lower-case identifiers are accepted. */
export function isSchemaName(name: string): boolean {
  return /^[a-z_][a-z0-9_]{0,62}$/.test(name);
}

/**
 * The shared audit store: several gateway instances write into one database, each its
 * own chain, so `(chain_id, sequence)` as primary key is also what stops two writers
 * that were given the same chain ID from forking it: the second one's insert fails.
 *
 * A group of records is one multi-row INSERT, which PostgreSQL commits as one
 * transaction; with the default `synchronous_commit = on` it is on disk when the
 * statement returns. Lists are `text[]`; citizens have a GIN index for review. Key
 * columns use the "C" collation so review order and keyset comparisons are plain byte
 * order whatever the database's locale.
 *
 * The citizen index is that GIN index over the hashed `citizens` column itself, kept by
 * the database: SQL can drop it (review gets slower) but cannot make it disagree with
 * the column, so `readCitizenIndex` reads the column, and review by citizen can only be
 * misled by editing it, which breaks the record's hash. (The SQLite store keeps a table
 * of its own, which verification compares with the records.)
 *
 * The store owns the pool: `close()` ends it.
 */
export async function openPostgresAuditStore(pool: Pool, options: PostgresAuditStoreOptions = {}): Promise<AuditStore> {
  const schema = options.schema ?? DEFAULT_POSTGRES_SCHEMA;
  if (!isSchemaName(schema)) throw new TypeError(`schema must be a lower-case SQL identifier, got "${schema}"`);
  // An idle client losing its connection emits 'error' on the pool, which would crash the
  // process; the next query fails instead and the log reports that as AUDIT_UNAVAILABLE.
  pool.on('error', () => undefined);
  const table = (name: string) => `"${schema}".${name}`;
  const location = `PostgreSQL ${describePool(pool)}, schema ${schema}`;
  try {
    if (options.mustExist || options.readOnly) {
      const { rows } = await pool.query('SELECT to_regclass($1) AS found', [table('audit_record')]);
      if (rows[0].found === null) throw new Error(`no audit log in ${location}`);
    }
    if (!options.readOnly) await inTransaction(pool, async (client) => {
      // Several instances starting together would race on CREATE ... IF NOT EXISTS.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`proofless audit schema ${schema}`]);
      await client.query(schemaSql(schema));
    });
  } catch (error) {
    await pool.end();
    throw error;
  }

  const selectRecord = RECORD_COLUMNS.map(([column, field]) => `${column} AS "${field}"`).join(', ');
  const selectCheckpoint = `chain_id AS "chainId", sequence, hash, time, is_linked AS "isLinked", previous_sequence AS "previousSequence",
    previous_digest AS "previousDigest", key_id AS "keyId", signature`;
  let hasRecordWriteFailed = false;
  /** Runs a write of records, or a probe trying one, remembering whether it failed (readiness asks). */
  const writeRecords = async (work: () => Promise<unknown>) => {
    try {
      await work();
      hasRecordWriteFailed = false;
    } catch (error) {
      hasRecordWriteFailed = true;
      throw error;
    }
  };
  const columns = RECORD_COLUMNS.map(([column]) => column).join(', ');
  /** One multi-row INSERT of the records, as SQL text and parameters. */
  const insertRecords = (records: readonly StoredRecord[]): [string, unknown[]] => {
    const params: unknown[] = [];
    const rows = records.map((record) => {
      const placeholders = RECORD_COLUMNS.map(([, field]) => {
        params.push(columnValueOf(record, field));
        return `$${params.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    return [`INSERT INTO ${table('audit_record')} (${columns}) VALUES ${rows.join(', ')}`, params];
  };

  return {
    location,
    async readHead(chainId) {
      const record = await pool.query(`SELECT sequence, hash FROM ${table('audit_record')} WHERE chain_id = $1 ORDER BY sequence DESC LIMIT 1`, [chainId]);
      const anchor = record.rows.length > 0 ? record : await pool.query(
        `SELECT first_kept_sequence - 1 AS sequence, previous_hash AS hash FROM ${table('audit_anchor')}
         WHERE chain_id = $1 ORDER BY first_kept_sequence DESC LIMIT 1`,
        [chainId],
      );
      const [head] = anchor.rows as { sequence: string; hash: string }[];
      return head ? { sequence: Number(head.sequence), hash: head.hash } : null;
    },
    async append(records) {
      await writeRecords(() => pool.query(...insertRecords(records)));
    },
    async appendCheckpoint(c: SignedCheckpoint) {
      await pool.query(
        `INSERT INTO ${table('audit_checkpoint')} (chain_id, sequence, hash, time, is_linked, previous_sequence, previous_digest, key_id, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [c.chainId, c.sequence, c.hash, c.time, c.previous !== undefined, c.previous?.sequence ?? null, c.previous?.digest ?? null, c.keyId, c.signature],
      );
    },
    async lastCheckpoint(chainId) {
      const { rows } = await pool.query(`SELECT ${selectCheckpoint} FROM ${table('audit_checkpoint')} WHERE chain_id = $1 ORDER BY sequence DESC LIMIT 1`, [chainId]);
      return rows.length === 0 ? null : fromCheckpointRow(rows[0]);
    },
    async probeWrite(writerId) {
      const time = new Date().toISOString();
      await writeRecords(() => inTransaction(pool, async (client) => {
        // A constraint declared DEFERRABLE would otherwise be checked only at a COMMIT the record never reaches.
        await client.query('SET CONSTRAINTS ALL IMMEDIATE');
        await client.query('SAVEPOINT record_probe');
        await client.query(...insertRecords([probeRecord(writerId, time)]));
        await client.query('ROLLBACK TO SAVEPOINT record_probe');
        await client.query(
          `INSERT INTO ${table('audit_probe')} (writer_id, time) VALUES ($1, $2) ON CONFLICT (writer_id) DO UPDATE SET time = excluded.time`,
          [writerId, time],
        );
      }));
    },
    hasRecordWriteFailed: () => hasRecordWriteFailed,
    async listChains() {
      const { rows } = await pool.query(`SELECT chain_id FROM ${table('audit_record')} GROUP BY chain_id
        UNION SELECT chain_id FROM ${table('audit_checkpoint')} UNION SELECT chain_id FROM ${table('audit_anchor')} ORDER BY chain_id`);
      return rows.map((row) => row.chain_id as string);
    },
    async readChain(chainId, afterSequence, limit) {
      const { rows } = await pool.query(
        `SELECT ${selectRecord} FROM ${table('audit_record')} WHERE chain_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3`,
        [chainId, afterSequence, limit],
      );
      return rows.map(checkStoredRecord);
    },
    async readCheckpoints(chainId) {
      const { rows } = await pool.query(`SELECT ${selectCheckpoint} FROM ${table('audit_checkpoint')} WHERE chain_id = $1 ORDER BY sequence`, [chainId]);
      return rows.map(fromCheckpointRow);
    },
    async readCitizenIndex(chainId, afterSequence, throughSequence) {
      const { rows } = await pool.query(
        `SELECT sequence, unnest(citizens) AS "idNumber", time FROM ${table('audit_record')}
         WHERE chain_id = $1 AND sequence > $2 AND sequence <= $3 ORDER BY sequence, "idNumber"`,
        [chainId, afterSequence, throughSequence ?? Number.MAX_SAFE_INTEGER],
      );
      return rows.map((row) => ({ ...row, sequence: Number(row.sequence) }) as CitizenIndexEntry);
    },
    async readAnchors(chainId) {
      const { rows } = await pool.query(
        `SELECT chain_id AS "chainId", first_kept_sequence AS "firstKeptSequence", previous_hash AS "previousHash",
         time, key_id AS "keyId", signature FROM ${table('audit_anchor')} WHERE chain_id = $1 ORDER BY first_kept_sequence`,
        [chainId],
      );
      return rows.map((row) => ({ ...row, firstKeptSequence: Number(row.firstKeptSequence) }) as SignedAnchor);
    },
    async queryRecords(query) {
      const { sql, params } = recordQuerySql(query, table('audit_record'), selectRecord);
      const { rows } = await pool.query(sql, params);
      return rows.map(checkStoredRecord);
    },
    async firstSequenceAtOrAfter(chainId, time) {
      const { rows } = await pool.query(`SELECT MIN(sequence) AS sequence FROM ${table('audit_record')} WHERE chain_id = $1 AND time >= $2`, [chainId, time]);
      return rows[0].sequence === null ? null : Number(rows[0].sequence);
    },
    async removeArchived(anchor) {
      await inTransaction(pool, async (client) => {
        await client.query(`DELETE FROM ${table('audit_record')} WHERE chain_id = $1 AND sequence < $2`, [anchor.chainId, anchor.firstKeptSequence]);
        await client.query(
          `INSERT INTO ${table('audit_anchor')} (chain_id, first_kept_sequence, previous_hash, time, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6)`,
          [anchor.chainId, anchor.firstKeptSequence, anchor.previousHash, anchor.time, anchor.keyId, anchor.signature],
        );
      });
    },
    async close() {
      await pool.end();
    },
  };
}

function schemaSql(schema: string): string {
  const table = (name: string) => `"${schema}".${name}`;
  return `
    CREATE SCHEMA IF NOT EXISTS "${schema}";
    CREATE TABLE IF NOT EXISTS ${table('audit_record')} (
      chain_id text COLLATE "C" NOT NULL,
      sequence bigint NOT NULL,
      previous_hash text NOT NULL,
      hash text NOT NULL,
      time text COLLATE "C" NOT NULL,
      request_id text NOT NULL,
      application text,
      officer text,
      role text,
      service_item text,
      case_number text,
      operation_name text,
      document_hash text,
      coordinates text[] NOT NULL,
      citizens text[] NOT NULL,
      departments text[] NOT NULL,
      outcome text NOT NULL,
      error_codes text[] NOT NULL,
      latency_ms integer NOT NULL,
      request_count integer NOT NULL DEFAULT 1,
      exchange text,
      PRIMARY KEY (chain_id, sequence)
    );
    -- Stores made before records carried a request count (each of those records stood for one request).
    ALTER TABLE ${table('audit_record')} ADD COLUMN IF NOT EXISTS request_count integer NOT NULL DEFAULT 1;
    -- Stores made before records could carry exchange evidence (issue 18).
    ALTER TABLE ${table('audit_record')} ADD COLUMN IF NOT EXISTS exchange text;
    CREATE INDEX IF NOT EXISTS audit_record_time ON ${table('audit_record')} (time, chain_id, sequence);
    CREATE INDEX IF NOT EXISTS audit_record_request_id ON ${table('audit_record')} (request_id, time);
    CREATE INDEX IF NOT EXISTS audit_record_application ON ${table('audit_record')} (application, time);
    CREATE INDEX IF NOT EXISTS audit_record_officer ON ${table('audit_record')} (officer, time);
    CREATE INDEX IF NOT EXISTS audit_record_service_item ON ${table('audit_record')} (service_item, time);
    CREATE INDEX IF NOT EXISTS audit_record_case_number ON ${table('audit_record')} (case_number, time);
    CREATE INDEX IF NOT EXISTS audit_record_outcome ON ${table('audit_record')} (outcome, time);
    CREATE INDEX IF NOT EXISTS audit_record_citizens ON ${table('audit_record')} USING gin (citizens);
    CREATE TABLE IF NOT EXISTS ${table('audit_checkpoint')} (
      chain_id text COLLATE "C" NOT NULL,
      sequence bigint NOT NULL,
      hash text NOT NULL,
      time text NOT NULL,
      is_linked boolean NOT NULL DEFAULT false,
      previous_sequence bigint,
      previous_digest text,
      key_id text NOT NULL,
      signature text NOT NULL,
      PRIMARY KEY (chain_id, sequence)
    );
    -- Stores made before checkpoints were linked: their checkpoints are unlinked.
    ALTER TABLE ${table('audit_checkpoint')} ADD COLUMN IF NOT EXISTS is_linked boolean NOT NULL DEFAULT false;
    ALTER TABLE ${table('audit_checkpoint')} ADD COLUMN IF NOT EXISTS previous_sequence bigint;
    ALTER TABLE ${table('audit_checkpoint')} ADD COLUMN IF NOT EXISTS previous_digest text;
    CREATE TABLE IF NOT EXISTS ${table('audit_anchor')} (
      chain_id text COLLATE "C" NOT NULL,
      first_kept_sequence bigint NOT NULL,
      previous_hash text NOT NULL,
      time text NOT NULL,
      key_id text NOT NULL,
      signature text NOT NULL,
      PRIMARY KEY (chain_id, first_kept_sequence)
    );
    CREATE TABLE IF NOT EXISTS ${table('audit_probe')} (
      writer_id text PRIMARY KEY,
      time text NOT NULL
    );
  `;
}

interface CheckpointRow {
  chainId: string;
  sequence: string;
  hash: string;
  time: string;
  isLinked: boolean;
  previousSequence: string | null;
  previousDigest: string | null;
  keyId: string;
  signature: string;
}

function fromCheckpointRow(row: CheckpointRow): SignedCheckpoint {
  const { chainId, hash, time, keyId, signature } = row;
  const sequence = Number(row.sequence);
  if (!row.isLinked) return { chainId, sequence, hash, time, keyId, signature };
  // A link edited into half a link is kept as found: its signature no longer checks out.
  const previous = row.previousSequence === null && row.previousDigest === null
    ? null
    : { sequence: (row.previousSequence === null ? null : Number(row.previousSequence)) as number, digest: row.previousDigest as string };
  return { chainId, sequence, hash, time, previous, keyId, signature };
}

function recordQuerySql(query: RecordQuery, table: string, selectRecord: string): { sql: string; params: unknown[] } {
  const { filter } = query;
  const conditions: string[] = [];
  const params: unknown[] = [];
  const parameter = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.citizen !== undefined) conditions.push(`citizens @> ARRAY[${parameter(filter.citizen)}]::text[]`);
  for (const [field, column] of EQUALITY_FILTER_COLUMNS) {
    if (filter[field] !== undefined) conditions.push(`${column} = ${parameter(filter[field])}`);
  }
  if (filter.from !== undefined) conditions.push(`time >= ${parameter(filter.from)}`);
  if (filter.to !== undefined) conditions.push(`time < ${parameter(filter.to)}`);
  const descending = query.order === 'newest-first';
  if (query.after) {
    const key = [parameter(query.after.time), parameter(query.after.chainId), `${parameter(query.after.sequence)}::bigint`];
    conditions.push(`(time, chain_id, sequence) ${descending ? '<' : '>'} (${key.join(', ')})`);
  }
  const direction = descending ? 'DESC' : 'ASC';
  const sql = `SELECT ${selectRecord} FROM ${table}
    ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
    ORDER BY time ${direction}, chain_id ${direction}, sequence ${direction} LIMIT ${parameter(query.limit)}`;
  return { sql, params };
}

async function inTransaction(pool: Pool, work: (client: PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await work(client);
    await client.query('COMMIT');
    client.release();
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    // A client whose connection failed mid-transaction is not put back into the pool.
    client.release(true);
    throw error;
  }
}

/** host:port/database of the pool's connection, never its password. */
function describePool(pool: Pool): string {
  const { connectionString, host, port, database } = pool.options;
  if (connectionString) {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  }
  return `${host ?? 'localhost'}:${port ?? 5432}/${database ?? ''}`;
}
