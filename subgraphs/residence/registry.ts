import type Database from 'better-sqlite3';
import { insertAll, openSqlite } from '../shared/sqlite';

/** One residence registration period (居住登记). `toDate` null marks the current one. */
export interface ResidencePeriodRow {
  idNumber: string;
  /** HOUSEHOLD_ADDRESS: a local living at their 户籍 address; REGISTRATION: a 居住登记 elsewhere. */
  kind: 'HOUSEHOLD_ADDRESS' | 'REGISTRATION';
  divisionCode: string;
  divisionName: string;
  addressDetail: string;
  fromDate: string;
  toDate: string | null;
  updatedAt: string;
}

/** One residence permit (居住证) issued to a migrant. */
export interface ResidencePermitRow {
  permitNumber: string;
  idNumber: string;
  issuedOn: string;
  validUntil: string;
  updatedAt: string;
}

export interface ResidenceRegistryData {
  periods: Iterable<ResidencePeriodRow>;
  permits: Iterable<ResidencePermitRow>;
}

/** The residence registry as the subgraph sees it: batches of ID numbers in, rows out, in no particular order. */
export interface ResidenceRegistry {
  readPeriods(idNumbers: readonly string[]): Promise<ResidencePeriodRow[]>;
  readPermits(idNumbers: readonly string[]): Promise<ResidencePermitRow[]>;
  close(): void;
}

export function openResidenceRegistry(file: string): ResidenceRegistry {
  const db = openSqlite(file, { readonly: true });
  const periods = db.prepare(`SELECT id_number AS idNumber, kind, division_code AS divisionCode, division_name AS divisionName,
    address_detail AS addressDetail, from_date AS fromDate, to_date AS toDate, updated_at AS updatedAt
    FROM residence_period WHERE id_number IN (SELECT value FROM json_each(?))`);
  const permits = db.prepare(`SELECT permit_number AS permitNumber, id_number AS idNumber, issued_on AS issuedOn,
    valid_until AS validUntil, updated_at AS updatedAt
    FROM residence_permit WHERE id_number IN (SELECT value FROM json_each(?))`);
  return {
    readPeriods: async (idNumbers) => periods.all(JSON.stringify(idNumbers)) as ResidencePeriodRow[],
    readPermits: async (idNumbers) => permits.all(JSON.stringify(idNumbers)) as ResidencePermitRow[],
    close: () => db.close(),
  };
}

/** Creates the registry file and fills it (used by the seeder; the subgraph only reads). */
export function writeResidenceRegistry(file: string, data: ResidenceRegistryData): void {
  const db = openSqlite(file, { readonly: false });
  try {
    createTables(db);
    insertAll(db, 'INSERT INTO residence_period VALUES (?, ?, ?, ?, ?, ?, ?, ?)', data.periods, (p) => [
      p.idNumber, p.kind, p.divisionCode, p.divisionName, p.addressDetail, p.fromDate, p.toDate, p.updatedAt,
    ]);
    insertAll(db, 'INSERT INTO residence_permit VALUES (?, ?, ?, ?, ?)', data.permits, (p) => [
      p.permitNumber, p.idNumber, p.issuedOn, p.validUntil, p.updatedAt,
    ]);
  } finally {
    db.close();
  }
}

function createTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE residence_period (
      id_number TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('HOUSEHOLD_ADDRESS', 'REGISTRATION')),
      division_code TEXT NOT NULL,
      division_name TEXT NOT NULL,
      address_detail TEXT NOT NULL,
      from_date TEXT NOT NULL,
      to_date TEXT,
      updated_at TEXT NOT NULL
    );
    CREATE INDEX residence_period_citizen ON residence_period (id_number);
    CREATE TABLE residence_permit (
      permit_number TEXT PRIMARY KEY,
      id_number TEXT NOT NULL,
      issued_on TEXT NOT NULL,
      valid_until TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX residence_permit_citizen ON residence_permit (id_number);
  `);
}
