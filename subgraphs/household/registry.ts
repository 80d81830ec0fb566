import type Database from 'better-sqlite3';
import { insertAll, openSqlite } from '../shared/sqlite';

/** One registered person (人口信息). Migrants have no household number: their 户口 is held elsewhere. */
export interface PersonRow {
  idNumber: string;
  name: string;
  gender: 'MALE' | 'FEMALE';
  birthDate: string;
  ethnicity: string;
  nativePlace: string;
  householdNumber: string | null;
  relation: 'HEAD' | 'SPOUSE' | 'CHILD' | 'PARENT' | 'GRANDCHILD' | 'SIBLING' | 'OTHER' | null;
  updatedAt: string;
}

export interface HouseholdRow {
  householdNumber: string;
  type: 'FAMILY' | 'COLLECTIVE';
  divisionCode: string;
  divisionName: string;
  addressDetail: string;
  headIdNumber: string;
  updatedAt: string;
}

export interface HouseholdRegistryData {
  persons: Iterable<PersonRow>;
  households: Iterable<HouseholdRow>;
}

/**
 * The Public Security Bureau's household registry as the subgraph sees it: batches of
 * keys in, rows out, in no particular order (the loaders put them in key order).
 * A department that moves to its own database implements this interface again.
 */
export interface HouseholdRegistry {
  readPersons(idNumbers: readonly string[]): Promise<PersonRow[]>;
  readHouseholds(householdNumbers: readonly string[]): Promise<HouseholdRow[]>;
  readMembers(householdNumbers: readonly string[]): Promise<PersonRow[]>;
  close(): void;
}

const PERSON_COLUMNS = `id_number AS idNumber, name, gender, birth_date AS birthDate, ethnicity,
  native_place AS nativePlace, household_number AS householdNumber, relation, updated_at AS updatedAt`;

export function openHouseholdRegistry(file: string): HouseholdRegistry {
  const db = openSqlite(file, { readonly: true });
  const persons = db.prepare(`SELECT ${PERSON_COLUMNS} FROM person WHERE id_number IN (SELECT value FROM json_each(?))`);
  const households = db.prepare(`SELECT household_number AS householdNumber, type, division_code AS divisionCode,
    division_name AS divisionName, address_detail AS addressDetail, head_id_number AS headIdNumber, updated_at AS updatedAt
    FROM household WHERE household_number IN (SELECT value FROM json_each(?))`);
  const members = db.prepare(`SELECT ${PERSON_COLUMNS} FROM person WHERE household_number IN (SELECT value FROM json_each(?))`);
  return {
    readPersons: async (idNumbers) => persons.all(JSON.stringify(idNumbers)) as PersonRow[],
    readHouseholds: async (numbers) => households.all(JSON.stringify(numbers)) as HouseholdRow[],
    readMembers: async (numbers) => members.all(JSON.stringify(numbers)) as PersonRow[],
    close: () => db.close(),
  };
}

/** Creates the registry file and fills it (used by the seeder; the subgraph only reads). */
export function writeHouseholdRegistry(file: string, data: HouseholdRegistryData): void {
  const db = openSqlite(file, { readonly: false });
  try {
    createTables(db);
    insertAll(db, 'INSERT INTO household VALUES (?, ?, ?, ?, ?, ?, ?)', data.households, (h) => [
      h.householdNumber, h.type, h.divisionCode, h.divisionName, h.addressDetail, h.headIdNumber, h.updatedAt,
    ]);
    insertAll(db, 'INSERT INTO person VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)', data.persons, (p) => [
      p.idNumber, p.name, p.gender, p.birthDate, p.ethnicity, p.nativePlace, p.householdNumber, p.relation, p.updatedAt,
    ]);
  } finally {
    db.close();
  }
}

function createTables(db: Database.Database): void {
  db.exec(`
    CREATE TABLE household (
      household_number TEXT PRIMARY KEY,
      type TEXT NOT NULL CHECK (type IN ('FAMILY', 'COLLECTIVE')),
      division_code TEXT NOT NULL,
      division_name TEXT NOT NULL,
      address_detail TEXT NOT NULL,
      head_id_number TEXT NOT NULL,
      updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE person (
      id_number TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      gender TEXT NOT NULL CHECK (gender IN ('MALE', 'FEMALE')),
      birth_date TEXT NOT NULL,
      ethnicity TEXT NOT NULL,
      native_place TEXT NOT NULL,
      household_number TEXT REFERENCES household (household_number),
      relation TEXT CHECK (relation IN ('HEAD', 'SPOUSE', 'CHILD', 'PARENT', 'GRANDCHILD', 'SIBLING', 'OTHER')),
      updated_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX person_household ON person (household_number);
  `);
}
