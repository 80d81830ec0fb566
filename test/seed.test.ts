import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkIdNumber } from '../lib/id-number';
import { REPO_ROOT } from '../lib/paths';
import { openHouseholdRegistry } from '../subgraphs/household/registry';
import { openLicenseRegistry } from '../subgraphs/license/registry';
import { openResidenceRegistry } from '../subgraphs/residence/registry';
import { ensureSeeded, registryFiles, sampleIdNumbers, seedingOf, seedRegistries } from '../synthetic/seed';

const SEEDED_AT = new Date('2024-06-01T09:30:00.000Z');
const clock = () => SEEDED_AT;
const temporaryFolders: string[] = [];

function temporaryFolder(): string {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'proofless-seed-'));
  temporaryFolders.push(folder);
  return folder;
}

afterAll(() => {
  for (const folder of temporaryFolders) rmSync(folder, { recursive: true, force: true });
});

describe('seedRegistries', () => {
  const dataDir = temporaryFolder();
  const result = seedRegistries({ dataDir, citizens: 2000, seed: 11, referenceDate: '2024-05-31', clock });
  const files = registryFiles(dataDir);

  test('writes the three registries and seed.json, and nothing else', () => {
    expect(files).toEqual({
      household: path.join(dataDir, 'household.sqlite'),
      residence: path.join(dataDir, 'residence.sqlite'),
      license: path.join(dataDir, 'license.sqlite'),
    });
    expect(readdirSync(dataDir).sort()).toEqual(['household.sqlite', 'license.sqlite', 'residence.sqlite', 'seed.json']);
    const manifest = { citizens: 2000, seed: 11, referenceDate: '2024-05-31', seededAt: '2024-06-01T09:30:00.000Z' };
    expect(JSON.parse(readFileSync(path.join(dataDir, 'seed.json'), 'utf8'))).toEqual(manifest);
    expect(result.manifest).toEqual(manifest);
    expect(seedingOf(dataDir)).toEqual(manifest);
    expect(result.counts.persons).toBe(2000);
    expect(result.counts.residencePeriods).toBeGreaterThanOrEqual(2000);
    expect(result.counts.licences).toBeGreaterThan(result.counts.businesses);
  });

  test('writes registries the subgraphs can read back', async () => {
    const sample = sampleIdNumbers(dataDir, 50);
    const household = openHouseholdRegistry(files.household);
    const residence = openResidenceRegistry(files.residence);
    const license = openLicenseRegistry(files.license);
    try {
      const persons = await household.readPersons(sample);
      expect(persons.map((p) => p.idNumber).sort()).toEqual([...sample].sort());
      const householdNumbers = [...new Set(persons.flatMap((p) => (p.householdNumber ? [p.householdNumber] : [])))];
      expect(await household.readHouseholds(householdNumbers)).toHaveLength(householdNumbers.length);
      const periods = await residence.readPeriods(sample);
      expect(new Set(periods.map((p) => p.idNumber))).toEqual(new Set(sample));
      const licences = await license.readLicencesByHolders(sample);
      expect(licences.length).toBeGreaterThan(0);
      expect(licences.every((l) => sample.includes(l.holderIdNumber))).toBe(true);
    } finally {
      household.close();
      residence.close();
      license.close();
    }
  });

  test('gives byte-identical files for the same citizens, seed and reference date', () => {
    const again = temporaryFolder();
    seedRegistries({ dataDir: again, citizens: 2000, seed: 11, referenceDate: '2024-05-31', clock });
    for (const name of ['household.sqlite', 'residence.sqlite', 'license.sqlite']) {
      expect(readFileSync(path.join(again, name)).equals(readFileSync(path.join(dataDir, name)))).toBe(true);
    }
  });

  test('replaces an earlier seeding and the leftovers of an interrupted one', () => {
    const folder = temporaryFolder();
    seedRegistries({ dataDir: folder, citizens: 300, seed: 1, referenceDate: '2024-05-31', clock });
    writeFileSync(path.join(folder, 'household.sqlite.seeding'), 'half-written');
    writeFileSync(path.join(folder, 'license.sqlite-wal'), 'stale log');
    const { counts } = seedRegistries({ dataDir: folder, citizens: 200, seed: 2, referenceDate: '2024-05-31', clock });
    expect(counts.persons).toBe(200);
    expect(readdirSync(folder).sort()).toEqual(['household.sqlite', 'license.sqlite', 'residence.sqlite', 'seed.json']);
    expect(seedingOf(folder)).toMatchObject({ citizens: 200, seed: 2 });
  });

  test('refuses bad options before touching the folder', () => {
    const before = readFileSync(path.join(dataDir, 'seed.json'), 'utf8');
    expect(() => seedRegistries({ dataDir, citizens: -5, clock })).toThrow('citizens must be a whole number from 1 to 10000000, got -5');
    expect(readFileSync(path.join(dataDir, 'seed.json'), 'utf8')).toBe(before);
  });
});

describe('ensureSeeded', () => {
  test('seeds an empty folder once, then only when citizens or seed change', () => {
    const folder = temporaryFolder();
    expect(seedingOf(folder)).toBeNull();
    expect(ensureSeeded(folder, { citizens: 300, seed: 3, clock })).toBe(true);
    const firstWrite = statSync(registryFiles(folder).household).mtimeMs;
    expect(ensureSeeded(folder, { citizens: 300, seed: 3, clock })).toBe(false);
    expect(statSync(registryFiles(folder).household).mtimeMs).toBe(firstWrite);
    expect(ensureSeeded(folder, { citizens: 301, seed: 3, clock })).toBe(true);
    expect(ensureSeeded(folder, { citizens: 301, seed: 4, clock })).toBe(true);
    expect(seedingOf(folder)).toEqual({ citizens: 301, seed: 4, referenceDate: '2024-06-01', seededAt: '2024-06-01T09:30:00.000Z' });
  });

  test('reseeds a folder whose seed.json or registry files are missing', () => {
    const folder = temporaryFolder();
    ensureSeeded(folder, { citizens: 200, seed: 3, clock });
    rmSync(path.join(folder, 'seed.json'));
    expect(ensureSeeded(folder, { citizens: 200, seed: 3, clock })).toBe(true);
    rmSync(registryFiles(folder).license);
    expect(ensureSeeded(folder, { citizens: 200, seed: 3, clock })).toBe(true);
    expect(ensureSeeded(folder, { citizens: 200, seed: 3, clock })).toBe(false);
  });
});

describe('sampleIdNumbers', () => {
  const dataDir = temporaryFolder();
  seedRegistries({ dataDir, citizens: 1000, seed: 5, referenceDate: '2024-05-31', clock });

  test('returns the same n distinct, existing ID numbers every time, locals and migrants mixed', async () => {
    const sample = sampleIdNumbers(dataDir, 20);
    expect(sample).toHaveLength(20);
    expect(new Set(sample).size).toBe(20);
    expect(sampleIdNumbers(dataDir, 20)).toEqual(sample);
    const household = openHouseholdRegistry(registryFiles(dataDir).household);
    try {
      const persons = await household.readPersons(sample);
      expect(persons).toHaveLength(20);
      const migrants = persons.filter((p) => p.householdNumber === null).length;
      expect(migrants).toBeGreaterThan(0);
      expect(migrants).toBeLessThan(10);
    } finally {
      household.close();
    }
  });

  test('spreads the sample over the registry rather than taking its first rows', () => {
    const sample = sampleIdNumbers(dataDir, 10);
    const firstTen = sampleIdNumbers(dataDir, 1000).sort().slice(0, 10);
    expect([...sample].sort()).not.toEqual(firstTen);
    expect(sampleIdNumbers(dataDir, 2).length).toBe(2);
    expect(sampleIdNumbers(dataDir, 0)).toEqual([]);
  });

  test('returns every ID number when asked for all, and refuses more', () => {
    expect(new Set(sampleIdNumbers(dataDir, 1000)).size).toBe(1000);
    expect(() => sampleIdNumbers(dataDir, 1001)).toThrow('n must be at most 1000, the persons in the registry, got 1001');
    expect(() => sampleIdNumbers(dataDir, 1.5)).toThrow('n must be a whole number of ID numbers, got 1.5');
  });
});

describe('scripts', () => {
  const tsx = path.join(REPO_ROOT, 'node_modules/.bin/tsx');
  const run = (script: string, args: string[], env: Record<string, string>) =>
    spawnSync(tsx, [path.join(REPO_ROOT, 'scripts', script), ...args], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });

  test('sample-ids seeds an unseeded folder, then prints exactly N existing ID numbers and nothing else', async () => {
    const dataDir = temporaryFolder();
    const env = { PROOFLESS_DATA_DIR: dataDir, PROOFLESS_SEED_CITIZENS: '400' };
    const first = run('sample-ids.ts', ['7'], env);
    expect(first.status).toBe(0);
    expect(first.stderr).toBe(`sample-ids: seeding 400 synthetic citizens into ${dataDir} first\n`);
    const lines = first.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(7);
    for (const line of lines) expect(checkIdNumber(line)).toEqual({ ok: true, idNumber: line });
    expect(lines).toEqual(sampleIdNumbers(dataDir, 7));
    expect(seedingOf(dataDir)).toMatchObject({ citizens: 400 });

    const second = run('sample-ids.ts', ['7'], env);
    expect([second.status, second.stdout, second.stderr]).toEqual([0, first.stdout, '']);
  });

  test('sample-ids rejects a bad N with exit code 2 and a message on stderr only', () => {
    const env = { PROOFLESS_DATA_DIR: temporaryFolder() };
    const bad = run('sample-ids.ts', ['abc'], env);
    expect([bad.status, bad.stdout, bad.stderr]).toEqual([2, '', 'sample-ids: N must be a whole number from 1 up, got "abc"\n']);
    const missing = run('sample-ids.ts', [], env);
    expect([missing.status, missing.stdout, missing.stderr])
      .toEqual([2, '', 'sample-ids: expected one argument N, got 0; usage: npm run --silent sample-ids -- N\n']);
  });

  test('seed rejects bad arguments with exit code 2 and no stack trace', () => {
    const env = { PROOFLESS_DATA_DIR: temporaryFolder() };
    const bad = run('seed.ts', ['--citizens', 'many'], env);
    expect([bad.status, bad.stdout, bad.stderr]).toEqual([2, '', 'seed: --citizens must be a whole number from 1 to 10000000, got "many"\n']);
    const unknown = run('seed.ts', ['--people', '5'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^seed: Unknown option '--people'.*\nusage: npm run seed -- \[--citizens N\] \[--seed S\] \[--data-dir D\]\n$/s);
  });

  test('seed reseeds the folder and prints one line with counts, time and file sizes', () => {
    const dataDir = temporaryFolder();
    const seeded = run('seed.ts', ['--citizens', '300', '--seed', '9', '--data-dir', dataDir], {});
    expect(seeded.status).toBe(0);
    expect(seeded.stderr).toBe('');
    expect(seeded.stdout).toMatch(
      new RegExp(`^Seeded ${dataDir} in \\d+\\.\\d s \\(seed 9, reference date \\d{4}-\\d{2}-\\d{2}\\): 300 persons, \\d+ households, .*license\\.sqlite \\d+\\.\\d MB\\n$`),
    );
    expect(seedingOf(dataDir)).toMatchObject({ citizens: 300, seed: 9 });
  });
});
