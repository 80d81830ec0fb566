import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Pool } from 'pg';
import { ensureSigningKeyFile } from '../../audit/signing';
import { openPostgresAuditStore } from '../../audit/postgres-store';
import { openSqliteAuditStore } from '../../audit/sqlite-store';
import type { AuditEntry } from '../../audit/entry';
import type { AuditStore } from '../../audit/store';

/** PostgreSQL as every session and CI starts it (STACK.md): trust auth, database `test`. */
export const TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** One audit store under test, with direct access to its database for tampering. */
export interface AuditStoreTarget {
  store: AuditStore;
  /** Runs SQL straight against the database (as an intruder with database access would); `?` placeholders. */
  sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** A table's name as SQL needs it. */
  table(name: 'audit_record' | 'audit_checkpoint' | 'audit_anchor'): string;
  /** A list column's value as SQL parameters take it (JSON text in SQLite, an array in PostgreSQL). */
  listParameter(values: string[]): unknown;
  /** SQL raising an error whenever a record with request ID 'poison' is inserted. */
  poisonTriggerSql: string;
  /** SQL statements making the database refuse every write of records, checkpoints and probes, as a full disk does; `allowWrites` undoes them. */
  failEveryWrite: string[];
  allowWrites: string[];
  /**
   * SQL statements making the database refuse records alone, while checkpoints and the
   * probe table still take writes (SQLite: a trigger on the citizen index; PostgreSQL: a
   * constraint trigger deferred to COMMIT); `allowRecordWrites` undoes them.
   */
  failRecordWrites: string[];
  allowRecordWrites: string[];
  /** Opens another store on the same database: a restarted gateway. */
  reopen(): Promise<AuditStore>;
  /** Command-line arguments test/helpers/audit-record-loop.ts opens the same store with. */
  childArguments: string[];
  /** A folder for key files and archives, removed with the target. */
  folder: string;
  remove(): Promise<void>;
}

export interface AuditStoreKind {
  name: 'SQLite' | 'PostgreSQL';
  create(): Promise<AuditStoreTarget>;
}

let schemas = 0;

/** The tables the gateway writes to: records, checkpoints, and readiness's probe. */
const WRITTEN_TABLES = ['audit_record', 'audit_checkpoint', 'audit_probe'];

const sqlite: AuditStoreKind = {
  name: 'SQLite',
  async create() {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-audit-'));
    const file = path.join(folder, 'audit.sqlite');
    const stores = [await openSqliteAuditStore(file)];
    const direct = new Database(file);
    return {
      store: stores[0],
      async sql(text, params = []) {
        const statement = direct.prepare(text);
        if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
        statement.run(...params);
        return [];
      },
      table: (name) => name,
      listParameter: (values) => JSON.stringify(values),
      poisonTriggerSql: `CREATE TRIGGER poison BEFORE INSERT ON audit_record WHEN NEW.request_id = 'poison'
        BEGIN SELECT RAISE(ABORT, 'poisoned record refused'); END`,
      failEveryWrite: WRITTEN_TABLES.flatMap((table) => ['INSERT', 'UPDATE'].map((event) =>
        `CREATE TRIGGER full_${table}_${event} BEFORE ${event} ON ${table} BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)),
      allowWrites: WRITTEN_TABLES.flatMap((table) => ['INSERT', 'UPDATE'].map((event) => `DROP TRIGGER full_${table}_${event}`)),
      failRecordWrites: [`CREATE TRIGGER refuse_index BEFORE INSERT ON audit_record_citizen BEGIN SELECT RAISE(ABORT, 'index corrupted'); END`],
      allowRecordWrites: ['DROP TRIGGER refuse_index'],
      async reopen() {
        const store = await openSqliteAuditStore(file);
        stores.push(store);
        return store;
      },
      childArguments: ['sqlite', file],
      folder,
      async remove() {
        for (const store of stores) await store.close().catch(() => undefined);
        direct.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  },
};

const postgres: AuditStoreKind = {
  name: 'PostgreSQL',
  async create() {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-audit-'));
    schemas += 1;
    const schema = `audit_test_${process.pid}_${schemas}_${Math.random().toString(36).slice(2, 8)}`;
    const open = () => openPostgresAuditStore(new Pool({ connectionString: TEST_DATABASE_URL, max: 4 }), { schema });
    const stores = [await open()];
    const direct = new Pool({ connectionString: TEST_DATABASE_URL, max: 2 });
    return {
      store: stores[0],
      async sql(text, params = []) {
        let index = 0;
        const { rows } = await direct.query(text.replace(/\?/g, () => `$${++index}`), params);
        return rows;
      },
      table: (name) => `"${schema}".${name}`,
      listParameter: (values) => values,
      poisonTriggerSql: `
        CREATE FUNCTION "${schema}".poison() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF NEW.request_id = 'poison' THEN RAISE EXCEPTION 'poisoned record refused'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER poison BEFORE INSERT ON "${schema}".audit_record FOR EACH ROW EXECUTE FUNCTION "${schema}".poison()`,
      failEveryWrite: [
        `CREATE FUNCTION "${schema}".refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$`,
        ...WRITTEN_TABLES.map((table) => `CREATE TRIGGER refuse_writes BEFORE INSERT OR UPDATE ON "${schema}".${table} FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_writes()`),
      ],
      allowWrites: [`DROP FUNCTION "${schema}".refuse_writes() CASCADE`],
      failRecordWrites: [
        `CREATE FUNCTION "${schema}".refuse_records() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'records refused'; END $$`,
        `CREATE CONSTRAINT TRIGGER refuse_records AFTER INSERT ON "${schema}".audit_record DEFERRABLE INITIALLY DEFERRED
          FOR EACH ROW EXECUTE FUNCTION "${schema}".refuse_records()`,
      ],
      allowRecordWrites: [`DROP FUNCTION "${schema}".refuse_records() CASCADE`],
      async reopen() {
        const store = await open();
        stores.push(store);
        return store;
      },
      childArguments: ['postgres', TEST_DATABASE_URL, schema],
      folder,
      async remove() {
        for (const store of stores) await store.close().catch(() => undefined);
        await direct.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await direct.end();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  },
};

/** Every store the audit log runs on; suites run once per kind with `describe.each(AUDIT_STORE_KINDS)`. */
export const AUDIT_STORE_KINDS: AuditStoreKind[] = [sqlite, postgres];

/** A key file in `folder`, created on first use. */
export function signingKeyFileIn(folder: string, name = 'audit-signing-key.pem'): string {
  const file = path.join(folder, name);
  ensureSigningKeyFile(file);
  return file;
}

/** An entry for an ordinary successful lookup of one citizen; `overrides` change what a test is about. */
export function auditEntry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return {
    time: '2024-06-01T09:30:00.000Z',
    requestId: 'req-1',
    application: 'hz-social-security',
    officer: 'officer-007',
    role: 'service',
    serviceItem: 'pension-application',
    caseNumber: 'CASE-2024-0001',
    operationName: 'CitizenFacts',
    documentHash: 'a'.repeat(64),
    coordinates: ['Citizen.identity', 'Citizen.household'],
    citizens: ['330106199001011234'],
    departments: ['household'],
    outcome: 'ok',
    errorCodes: [],
    latencyMs: 12,
    exchange: null,
    ...overrides,
  };
}
