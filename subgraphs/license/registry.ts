import type Database from 'better-sqlite3';
import { insertAll, openSqlite } from '../shared/sqlite';

export type LicenceKind = 'BUSINESS_LICENCE' | 'FOOD_BUSINESS_LICENCE' | 'DRIVING_LICENCE' | 'PROFESSIONAL_QUALIFICATION';

/**
 * One licence. `holderIdNumber` is the citizen who holds it in person (for a business
 * or food business licence, the business's operator); `businessCreditCode` is set for
 * licences issued to a business.
 */
export interface LicenceRow {
  number: string;
  kind: LicenceKind;
  name: string;
  holderIdNumber: string;
  businessCreditCode: string | null;
  issuingDepartment: string;
  issuedOn: string;
  validUntil: string | null;
  status: 'ACTIVE' | 'SUSPENDED' | 'REVOKED' | 'EXPIRED' | 'CANCELLED';
  updatedAt: string;
}

export interface BusinessRow {
  creditCode: string;
  name: string;
  type: 'SOLE_PROPRIETOR' | 'LIMITED_COMPANY';
  divisionCode: string;
  divisionName: string;
  addressDetail: string;
  legalRepresentativeIdNumber: string;
  establishedOn: string;
  status: 'ACTIVE' | 'DEREGISTERED' | 'REVOKED';
  updatedAt: string;
}

export interface LicenseRegistryData {
  licences: Iterable<LicenceRow>;
  businesses: Iterable<BusinessRow>;
}

/** The licensing registry as the subgraph sees it: batches of keys in, rows out, in no particular order. */
export interface LicenseRegistry {
  readLicencesByHolders(idNumbers: readonly string[]): Promise<LicenceRow[]>;
  readLicencesByBusinesses(creditCodes: readonly string[]): Promise<LicenceRow[]>;
  readBusinesses(creditCodes: readonly string[]): Promise<BusinessRow[]>;
  close(): void;
}

const LICENCE_COLUMNS = `number, kind, name, holder_id_number AS holderIdNumber, business_credit_code AS businessCreditCode,
  issuing_department AS issuingDepartment, issued_on AS issuedOn, valid_until AS validUntil, status, updated_at AS updatedAt`;

export function openLicenseRegistry(file: string): LicenseRegistry {
  const db = openSqlite(file, { readonly: true });
  const byHolders = db.prepare(`SELECT ${LICENCE_COLUMNS} FROM licence WHERE holder_id_number IN (SELECT value FROM json_each(?))`);
  const byBusinesses = db.prepare(`SELECT ${LICENCE_COLUMNS} FROM licence WHERE business_credit_code IN (SELECT value FROM json_each(?))`);
  const businesses = db.prepare(`SELECT credit_code AS creditCode, name, type, division_code AS divisionCode,
    division_name AS divisionName, address_detail AS addressDetail, legal_representative_id_number AS legalRepresentativeIdNumber,
    established_on AS establishedOn, status, updated_at AS updatedAt
    FROM business WHERE credit_code IN (SELECT value FROM json_each(?))`);
  return {
    readLicencesByHolders: async (idNumbers) => byHolders.all(JSON.stringify(idNumbers)) as LicenceRow[],
    readLicencesByBusinesses: async (codes) => byBusinesses.all(JSON.stringify(codes)) as LicenceRow[],
    readBusinesses: async (codes) => businesses.all(JSON.stringify(codes)) as BusinessRow[],
    close: () => db.close(),
  };
}

/** Creates the registry file and fills it (used by the seeder; the subgraph only reads). */
export function writeLicenseRegistry(file: string, data: LicenseRegistryData): void {
  const db = openSqlite(file, { readonly: false });
  try {
    createTables(db);
    insertAll(db, 'INSERT INTO business VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', data.businesses, (b) => [
      b.creditCode, b.name, b.type, b.divisionCode, b.divisionName, b.addressDetail, b.legalRepresentativeIdNumber,
      b.establishedOn, b.status, b.updatedAt,
    ]);
    insertAll(db, 'INSERT INTO licence VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', data.licences, (l) => [
      l.number, l.kind, l.name, l.holderIdNumber, l.businessCreditCode, l.issuingDepartment, l.issuedOn, l.validUntil,
      l.status, l.updatedAt,
    ]);
  } finally {
    db.close();
  }
}

function createTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE business (
      credit_code TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      type TEXT NOT NULL CHECK (type IN ('SOLE_PROPRIETOR', 'LIMITED_COMPANY')),
      division_code TEXT NOT NULL,
      division_name TEXT NOT NULL,
      address_detail TEXT NOT NULL,
      legal_representative_id_number TEXT NOT NULL,
      established_on TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'DEREGISTERED', 'REVOKED')),
      updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE licence (
      number TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('BUSINESS_LICENCE', 'FOOD_BUSINESS_LICENCE', 'DRIVING_LICENCE', 'PROFESSIONAL_QUALIFICATION')),
      name TEXT NOT NULL,
      holder_id_number TEXT NOT NULL,
      business_credit_code TEXT REFERENCES business (credit_code),
      issuing_department TEXT NOT NULL,
      issued_on TEXT NOT NULL,
      valid_until TEXT,
      status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED', 'REVOKED', 'EXPIRED', 'CANCELLED')),
      updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX licence_holder ON licence (holder_id_number);
    CREATE INDEX licence_business ON licence (business_credit_code);
  `);
}
