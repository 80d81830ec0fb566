/**
 * Filling a data folder with the three department registries, and reading a few ID
 * numbers back out of it. `seed.json` is written last and removed first, so a folder is
 * either completely seeded or visibly not: an interrupted seeding leaves only temporary
 * files, which the next seeding removes.
 */

import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeHouseholdRegistry } from '../subgraphs/household/registry';
import { writeLicenseRegistry } from '../subgraphs/license/registry';
import { writeResidenceRegistry } from '../subgraphs/residence/registry';
import { generateRegistries } from './generator';

export const DEFAULT_SEED = 20240601;
export const DEFAULT_CITIZENS = 10_000;

export interface RegistryFiles {
  household: string;
  residence: string;
  license: string;
}

export function registryFiles(dataDir: string): RegistryFiles {
  return {
    household: path.join(dataDir, 'household.sqlite'),
    residence: path.join(dataDir, 'residence.sqlite'),
    license: path.join(dataDir, 'license.sqlite'),
  };
}

/** What `seed.json` records: how the folder was seeded and when. */
export interface SeedManifest {
  citizens: number;
  seed: number;
  /** The data's today, 'YYYY-MM-DD'. */
  referenceDate: string;
  /** When the seeding finished, an ISO instant. */
  seededAt: string;
}

export interface SeedCounts {
  persons: number;
  households: number;
  residencePeriods: number;
  residencePermits: number;
  businesses: number;
  licences: number;
}

export interface SeedOptions {
  dataDir: string;
  /** Default DEFAULT_CITIZENS. */
  citizens?: number;
  /** Default DEFAULT_SEED. */
  seed?: number;
  /** Default: today's UTC date by `clock`. */
  referenceDate?: string;
  /** Default `() => new Date()`; gives the default reference date and `seededAt`. */
  clock?: () => Date;
}

/** Replaces whatever the folder held with freshly generated registries, and returns what it wrote. */
export function seedRegistries(options: SeedOptions): { manifest: SeedManifest; counts: SeedCounts } {
  const clock = options.clock ?? (() => new Date());
  const citizens = options.citizens ?? DEFAULT_CITIZENS;
  const seed = options.seed ?? DEFAULT_SEED;
  const referenceDate = options.referenceDate ?? clock().toISOString().slice(0, 10);
  // Generating checks the options; doing it before touching the folder keeps bad input from destroying a good seeding.
  const registries = generateRegistries({ citizens, seed, referenceDate });

  const { dataDir } = options;
  mkdirSync(dataDir, { recursive: true });
  const manifestFile = path.join(dataDir, 'seed.json');
  rmSync(manifestFile, { force: true });
  const files = registryFiles(dataDir);
  for (const file of Object.values(files)) {
    for (const stale of sqliteFamily(file).concat(sqliteFamily(temporary(file)))) rmSync(stale, { force: true });
  }

  const counts: SeedCounts = { persons: 0, households: 0, residencePeriods: 0, residencePermits: 0, businesses: 0, licences: 0 };
  writeHouseholdRegistry(temporary(files.household), {
    households: counted(registries.household.households, counts, 'households'),
    persons: counted(registries.household.persons, counts, 'persons'),
  });
  writeResidenceRegistry(temporary(files.residence), {
    periods: counted(registries.residence.periods, counts, 'residencePeriods'),
    permits: counted(registries.residence.permits, counts, 'residencePermits'),
  });
  writeLicenseRegistry(temporary(files.license), {
    businesses: counted(registries.license.businesses, counts, 'businesses'),
    licences: counted(registries.license.licences, counts, 'licences'),
  });
  for (const file of Object.values(files)) renameSync(temporary(file), file);

  const manifest: SeedManifest = { citizens, seed, referenceDate, seededAt: clock().toISOString() };
  writeFileSync(temporary(manifestFile), `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(temporary(manifestFile), manifestFile);
  return { manifest, counts };
}

/** The folder's `seed.json`, or null when it is missing or unreadable (an unseeded or half-seeded folder). */
function readSeedManifest(dataDir: string): SeedManifest | null {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(dataDir, 'seed.json'), 'utf8'));
    return isSeedManifest(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

/** How the folder was seeded, or null when it holds no complete seeding. */
export function seedingOf(dataDir: string): SeedManifest | null {
  const hasAllFiles = Object.values(registryFiles(dataDir)).every((file) => existsSync(file));
  return hasAllFiles ? readSeedManifest(dataDir) : null;
}

/**
 * Seeds the folder unless it already holds registries seeded with these citizens and
 * seed (the reference date may differ: data that has aged a few days is still good).
 * Returns whether it seeded.
 */
export function ensureSeeded(dataDir: string, options: { citizens?: number; seed?: number; clock?: () => Date } = {}): boolean {
  const citizens = options.citizens ?? DEFAULT_CITIZENS;
  const seed = options.seed ?? DEFAULT_SEED;
  const seeding = seedingOf(dataDir);
  if (seeding && seeding.citizens === citizens && seeding.seed === seed) return false;
  seedRegistries({ dataDir, citizens, seed, clock: options.clock });
  return true;
}

/**
 * `n` distinct ID numbers from the household registry, the same ones every time for the
 * same registry: spread evenly over locals and over migrants in ID number order, each
 * group getting its share of `n` (at least one each once `n` is 2 or more), interleaved.
 */
export function sampleIdNumbers(dataDir: string, n: number): string[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a whole number of ID numbers, got ${n}`);
  const db = new Database(registryFiles(dataDir).household, { readonly: true, fileMustExist: true });
  try {
    const { locals, migrants } = db
      .prepare('SELECT count(household_number) AS locals, count(*) - count(household_number) AS migrants FROM person')
      .get() as { locals: number; migrants: number };
    if (n > locals + migrants) throw new RangeError(`n must be at most ${locals + migrants}, the persons in the registry, got ${n}`);
    let migrantTake = Math.round((n * migrants) / (locals + migrants));
    if (n >= 2 && locals > 0 && migrants > 0) migrantTake = Math.min(Math.max(migrantTake, 1), n - 1);
    migrantTake = Math.min(Math.max(migrantTake, n - locals), migrants);
    const localPicks = evenlySpread(locals, n - migrantTake);
    const migrantPicks = evenlySpread(migrants, migrantTake);

    const picked: { idNumber: string; position: number }[] = [];
    let localIndex = 0;
    let migrantIndex = 0;
    const rows = db.prepare('SELECT id_number, household_number IS NULL FROM person ORDER BY id_number').raw().iterate() as IterableIterator<[string, number]>;
    for (const [idNumber, isMigrant] of rows) {
      const [picks, index] = isMigrant ? [migrantPicks, migrantIndex++] : [localPicks, localIndex++];
      if (picks.has(index)) picked.push({ idNumber, position: picks.get(index) as number });
    }
    // Interleave the two groups by relative position, so any prefix of the sample mixes them too.
    return picked.sort((a, b) => a.position - b.position).map((p) => p.idNumber);
  } finally {
    db.close();
  }
}

/** `take` indices evenly spread over 0..count-1, each mapped to its relative position in (0, 1). */
function evenlySpread(count: number, take: number): Map<number, number> {
  const picks = new Map<number, number>();
  for (let i = 0; i < take; i += 1) picks.set(Math.floor(((i + 0.5) * count) / take), (i + 0.5) / take);
  return picks;
}

function* counted<Row>(rows: Iterable<Row>, counts: SeedCounts, key: keyof SeedCounts): Generator<Row> {
  for (const row of rows) {
    counts[key] += 1;
    yield row;
  }
}

function temporary(file: string): string {
  return `${file}.seeding`;
}

/** A SQLite file with the write-ahead log and shared-memory files WAL mode keeps beside it. */
function sqliteFamily(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`];
}

function isSeedManifest(value: unknown): value is SeedManifest {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.citizens === 'number' && typeof record.seed === 'number'
    && typeof record.referenceDate === 'string' && typeof record.seededAt === 'string';
}
