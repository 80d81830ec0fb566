import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sampleIdNumbers, seedRegistries } from '../synthetic/seed';
import { startStack, type Stack } from './helpers/stack';

/**
 * The DataLoader contract, end to end: however many citizens a query names, each
 * department reads its registry once per entity level, never once per citizen.
 */
let dataDir: string;
let stack: Stack;
let idNumbers: string[];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'proofless-batching-'));
  seedRegistries({ dataDir, citizens: 3000, seed: 7, referenceDate: '2026-11-01' });
  idNumbers = sampleIdNumbers(dataDir, 100);
  // 100 citizens and their household members are more distinct citizens than one officer may see in an hour by default.
  stack = await startStack({ dataDir, env: { PROOFLESS_RATE_LIMIT_DISTINCT_CITIZENS_PER_HOUR: '10000' } });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => stack.resetCounts());

const sorted = (batches: string[][]) => batches.map((batch) => [...batch].sort()).sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()));
const unique = (values: string[]) => [...new Set(values)];

test('100 citizens with household members, residence and licences: one registry read per department per level', async () => {
  const { status, body } = await stack.query(
    `query ($ids: [ID!]!) {
      citizens(idNumbers: $ids) {
        idNumber
        identity { name }
        household { householdNumber members { relation citizen { idNumber identity { name } residence { status } } } }
        residence { status }
        licences { number business { creditCode name } }
      }
    }`,
    { ids: idNumbers },
  );
  expect(status).toBe(200);
  expect(body.errors).toBeUndefined();
  const citizens: any[] = body.data.citizens;
  expect(citizens.map((citizen) => citizen.idNumber)).toEqual(idNumbers);

  const households = unique(citizens.filter((c) => c.household).map((c) => c.household.householdNumber));
  const members = unique(citizens.flatMap((c) => c.household?.members ?? []).map((m) => m.citizen.idNumber));
  const membersNotAsked = members.filter((id) => !idNumbers.includes(id));
  // The sample has both locals (with households, some with other members) and migrants (none).
  expect(households.length).toBeGreaterThan(10);
  expect(households.length).toBeLessThan(100);
  expect(membersNotAsked.length).toBeGreaterThan(0);

  expect(sorted(stack.registryCalls.household.readPersons)).toEqual(sorted([idNumbers, membersNotAsked]));
  expect(sorted(stack.registryCalls.household.readHouseholds)).toEqual(sorted([households]));
  expect(sorted(stack.registryCalls.household.readMembers)).toEqual(sorted([households]));
  // Residence is asked at two levels (the citizens, and their households' members).
  expect(sorted(stack.registryCalls.residence.readPeriods)).toEqual(sorted([idNumbers, members]));
  expect(sorted(stack.registryCalls.residence.readPermits)).toEqual(sorted([idNumbers, members]));
  expect(stack.registryCalls.license.readLicencesByHolders).toEqual([idNumbers]);
  const businessCodes = unique(citizens.flatMap((c) => c.licences).filter((l) => l.business).map((l) => l.business.creditCode));
  expect(businessCodes.length).toBeGreaterThan(0);
  expect(sorted(stack.registryCalls.license.readBusinesses)).toEqual(sorted([businessCodes]));
  // One HTTP request per fetch of the query plan: household once, residence at two paths, licences once.
  expect(stack.subgraphRequests).toEqual({ household: 1, residence: 2, license: 1 });
});
