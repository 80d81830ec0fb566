import { checkCreditCode } from '../lib/credit-code';
import { checkIdNumber } from '../lib/id-number';
import type { HouseholdRow, PersonRow } from '../subgraphs/household/registry';
import type { LicenceRow } from '../subgraphs/license/registry';
import type { ResidencePeriodRow } from '../subgraphs/residence/registry';
import { HANGZHOU_DISTRICTS } from '../synthetic/divisions';
import { generateRegistries, type GenerateOptions, type Unit } from '../synthetic/generator';
import { organisationCodeCheckCharacter } from '../synthetic/identifiers';

/** Every row of every registry, materialised for the checks below. */
type City = { [Table in keyof Unit]: Unit[Table] };

function generateCity(options: GenerateOptions): City {
  const registries = generateRegistries(options);
  return {
    persons: [...registries.household.persons],
    households: [...registries.household.households],
    periods: [...registries.residence.periods],
    permits: [...registries.residence.permits],
    businesses: [...registries.license.businesses],
    licences: [...registries.license.licences],
  };
}

/** Completed years between two ISO dates, computed on the strings so it shares no code with the generator. */
function yearsBetween(from: string, to: string): number {
  const years = Number(to.slice(0, 4)) - Number(from.slice(0, 4));
  return to.slice(5) < from.slice(5) ? years - 1 : years;
}

/** `date` plus whole months, a missing day rolling over into the next month. */
function plusMonths(date: string, months: number): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1 + months, day)).toISOString().slice(0, 10);
}

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const group = groups.get(key(row));
    if (group) group.push(row);
    else groups.set(key(row), [row]);
  }
  return groups;
}

const HANGZHOU = new Map(HANGZHOU_DISTRICTS.map((d) => [d.code, d.name]));
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$/;

describe('generateRegistries', () => {
  test('produces exactly the requested number of citizens, even when the last household has to be cut short', () => {
    for (const citizens of [1, 2, 7, 2000]) {
      const persons = [...generateRegistries({ citizens, seed: 5, referenceDate: '2024-06-01' }).household.persons];
      expect(persons).toHaveLength(citizens);
    }
  });

  test('gives the same rows for the same options, every time it is iterated, and other rows for another seed', () => {
    const options = { citizens: 500, seed: 42, referenceDate: '2024-06-01' };
    const first = generateCity(options);
    expect(generateCity(options)).toEqual(first);
    const registries = generateRegistries(options);
    expect([...registries.license.licences]).toEqual([...registries.license.licences]);
    const other = generateCity({ ...options, seed: 43 });
    expect(other.persons.map((p) => p.idNumber)).not.toEqual(first.persons.map((p) => p.idNumber));
  });

  test('says what it expected when the options are wrong', () => {
    const valid = { citizens: 10, seed: 1, referenceDate: '2024-06-01' };
    expect(() => generateRegistries({ ...valid, citizens: 0 })).toThrow('citizens must be a whole number from 1 to 10000000, got 0');
    expect(() => generateRegistries({ ...valid, seed: -1 })).toThrow('seed must be a whole number from 0 to 4294967295, got -1');
    expect(() => generateRegistries({ ...valid, referenceDate: '2024-02-30' }))
      .toThrow('referenceDate must be a real date from 2000 to 2100, as YYYY-MM-DD, got "2024-02-30"');
  });
});

describe('GB 11714 organisation code check character', () => {
  test('matches real organisation codes inside real credit codes', () => {
    // Alibaba (China) Network Technology 91330100716105852F and Huawei Technologies 914403001922038216.
    expect(organisationCodeCheckCharacter('71610585')).toBe('2');
    expect(organisationCodeCheckCharacter('19220382')).toBe('1');
  });
});

// Several seeds and reference dates (one of them a leap day) so the generational rules
// are exercised on different draws, not just on one lucky city.
describe.each([
  { citizens: 2000, seed: 20240601, referenceDate: '2024-06-01' },
  { citizens: 2000, seed: 7, referenceDate: '2024-02-29' },
  { citizens: 2000, seed: 99, referenceDate: '2031-01-01' },
])('a city of $citizens citizens, seed $seed, on $referenceDate', (options) => {
  const city = generateCity(options);
  const { referenceDate } = options;
  const personById = new Map(city.persons.map((p) => [p.idNumber, p]));
  const locals = city.persons.filter((p) => p.householdNumber !== null);
  const migrants = city.persons.filter((p) => p.householdNumber === null);
  const periodsById = groupBy(city.periods, (p) => p.idNumber);
  const membersByHousehold = groupBy(locals, (p) => p.householdNumber as string);
  const ageOf = (p: PersonRow) => yearsBetween(p.birthDate, referenceDate);

  test('every ID number is valid GB 11643, unique, and agrees with the birth date and gender', () => {
    const today = new Date(`${referenceDate}T00:00:00Z`);
    const invalid = city.persons.filter((p) => !checkIdNumber(p.idNumber, today).ok);
    expect(invalid).toEqual([]);
    expect(city.persons.filter((p) => p.idNumber.slice(6, 14) !== p.birthDate.replace(/-/g, ''))).toEqual([]);
    expect(city.persons.filter((p) => (Number(p.idNumber[16]) % 2 === 1 ? 'MALE' : 'FEMALE') !== p.gender)).toEqual([]);
    expect(personById.size).toBe(city.persons.length);
  });

  test('locals were born in a Hangzhou district, migrants elsewhere', () => {
    for (const local of locals) expect(HANGZHOU.has(local.idNumber.slice(0, 6))).toBe(true);
    for (const migrant of migrants) expect(migrant.idNumber.startsWith('3301')).toBe(false);
  });

  test('births fall before the reference date, with newborns and school-age children among them', () => {
    for (const person of city.persons) expect(person.birthDate < referenceDate).toBe(true);
    expect(city.persons.filter((p) => ageOf(p) === 0).length).toBeGreaterThan(5);
    expect(city.persons.filter((p) => ageOf(p) >= 6 && ageOf(p) <= 15).length).toBeGreaterThan(100);
  });

  test('migrants are 15-25% of citizens, registered in no household here', () => {
    expect(migrants.length / city.persons.length).toBeGreaterThan(0.15);
    expect(migrants.length / city.persons.length).toBeLessThan(0.25);
    for (const migrant of migrants) expect(migrant.relation).toBeNull();
  });

  test('households have unique numbers, Hangzhou addresses, 1 to 6 members and one adult head', () => {
    expect(new Set(city.households.map((h) => h.householdNumber)).size).toBe(city.households.length);
    expect(new Set(membersByHousehold.keys())).toEqual(new Set(city.households.map((h) => h.householdNumber)));
    for (const household of city.households) {
      expect(HANGZHOU.get(household.divisionCode)).toBe(household.divisionName);
      const members = membersByHousehold.get(household.householdNumber) ?? [];
      expect(members.length).toBeGreaterThanOrEqual(1);
      expect(members.length).toBeLessThanOrEqual(6);
      const heads = members.filter((m) => m.relation === 'HEAD');
      expect(heads.map((h) => h.idNumber)).toEqual([household.headIdNumber]);
      expect(ageOf(heads[0])).toBeGreaterThanOrEqual(18);
    }
    expect(city.households.some((h) => h.type === 'COLLECTIVE')).toBe(true);
  });

  test('family relations agree with genders and ages', () => {
    for (const household of city.households.filter((h) => h.type === 'FAMILY')) {
      const members = membersByHousehold.get(household.householdNumber) as PersonRow[];
      const head = personById.get(household.headIdNumber) as PersonRow;
      const spouses = members.filter((m) => m.relation === 'SPOUSE');
      expect(spouses.length).toBeLessThanOrEqual(1);
      for (const spouse of spouses) {
        expect(spouse.gender).not.toBe(head.gender);
        expect(Math.abs(Number(spouse.birthDate.slice(0, 4)) - Number(head.birthDate.slice(0, 4)))).toBeLessThanOrEqual(8);
      }
      const children = members.filter((m) => m.relation === 'CHILD');
      for (const child of children) {
        for (const parent of [head, ...spouses]) {
          expect(yearsBetween(parent.birthDate, child.birthDate)).toBeGreaterThanOrEqual(20);
          expect(yearsBetween(parent.birthDate, child.birthDate)).toBeLessThanOrEqual(45);
        }
      }
      for (const parent of members.filter((m) => m.relation === 'PARENT')) {
        expect(yearsBetween(parent.birthDate, head.birthDate)).toBeGreaterThanOrEqual(20);
        expect(yearsBetween(parent.birthDate, head.birthDate)).toBeLessThanOrEqual(45);
      }
      for (const grandchild of members.filter((m) => m.relation === 'GRANDCHILD')) {
        const possibleParents = children.filter((c) => {
          const age = yearsBetween(c.birthDate, grandchild.birthDate);
          return age >= 20 && age <= 45;
        });
        expect(possibleParents.length).toBeGreaterThan(0);
      }
      for (const sibling of members.filter((m) => m.relation === 'SIBLING')) {
        expect(Math.abs(Number(sibling.birthDate.slice(0, 4)) - Number(head.birthDate.slice(0, 4)))).toBeLessThanOrEqual(13);
      }
    }
    const relations = new Set(locals.map((p) => p.relation));
    expect(relations).toEqual(new Set(['HEAD', 'SPOUSE', 'CHILD', 'PARENT', 'GRANDCHILD', 'SIBLING', 'OTHER']));
  });

  test('collective households hold unrelated adults', () => {
    for (const household of city.households.filter((h) => h.type === 'COLLECTIVE')) {
      for (const member of membersByHousehold.get(household.householdNumber) as PersonRow[]) {
        expect(member.relation).toBe(member.idNumber === household.headIdNumber ? 'HEAD' : 'OTHER');
        expect(ageOf(member)).toBeGreaterThanOrEqual(18);
      }
    }
  });

  test('every citizen has consecutive residence periods from birth on, exactly one of them current', () => {
    expect(new Set(periodsById.keys())).toEqual(new Set(personById.keys()));
    const isInOrder = (periods: ResidencePeriodRow[], birthDate: string) =>
      periods.filter((p) => p.toDate === null).length === 1 &&
      periods[periods.length - 1].toDate === null &&
      periods.every((period, i) =>
        period.fromDate >= birthDate && period.fromDate < referenceDate && HANGZHOU.get(period.divisionCode) === period.divisionName &&
        (period.toDate === null || (period.toDate >= period.fromDate && periods[i + 1].fromDate > period.toDate)));
    const disordered = [...periodsById].filter(([idNumber, periods]) => !isInOrder(periods, (personById.get(idNumber) as PersonRow).birthDate));
    expect(disordered).toEqual([]);
  });

  test('locals live at their household address, or have moved within the city and registered there', () => {
    const householdByNumber = new Map(city.households.map((h) => [h.householdNumber, h]));
    let moved = 0;
    for (const local of locals) {
      const household = householdByNumber.get(local.householdNumber as string) as HouseholdRow;
      const periods = periodsById.get(local.idNumber) as ResidencePeriodRow[];
      for (const period of periods.filter((p) => p.kind === 'HOUSEHOLD_ADDRESS')) {
        expect([period.divisionCode, period.addressDetail]).toEqual([household.divisionCode, household.addressDetail]);
      }
      const current = periods[periods.length - 1];
      if (current.kind === 'REGISTRATION') {
        moved += 1;
        expect(`${current.divisionCode} ${current.addressDetail}`).not.toBe(`${household.divisionCode} ${household.addressDetail}`);
      }
    }
    expect(moved).toBeGreaterThan(0);
    expect(moved / locals.length).toBeLessThan(0.2);
  });

  test('migrants hold only residence registrations, a current one included', () => {
    for (const migrant of migrants) {
      const periods = periodsById.get(migrant.idNumber) as ResidencePeriodRow[];
      expect(periods.every((p) => p.kind === 'REGISTRATION')).toBe(true);
      expect(periods[periods.length - 1].toDate).toBeNull();
    }
  });

  test('residence permits go to migrants of 16 and over, half a year after registering, valid one year', () => {
    expect(new Set(city.permits.map((p) => p.permitNumber)).size).toBe(city.permits.length);
    const migrantIds = new Set(migrants.map((m) => m.idNumber));
    for (const permit of city.permits) {
      expect(migrantIds.has(permit.idNumber)).toBe(true);
      const holder = personById.get(permit.idNumber) as PersonRow;
      expect(yearsBetween(holder.birthDate, permit.issuedOn)).toBeGreaterThanOrEqual(16);
      const firstRegistered = (periodsById.get(permit.idNumber) as ResidencePeriodRow[])[0].fromDate;
      expect(permit.issuedOn >= plusMonths(firstRegistered, 6)).toBe(true);
      expect(permit.issuedOn < referenceDate).toBe(true);
      expect(permit.validUntil).toBe(`${Number(permit.issuedOn.slice(0, 4)) + 1}${permit.issuedOn.slice(4)}`.replace(/-02-29$/, '-03-01'));
    }
    const valid = city.permits.filter((p) => p.validUntil >= referenceDate).length;
    expect(valid / city.permits.length).toBeGreaterThan(0.6);
    expect(valid).toBeLessThan(city.permits.length);
    expect(city.permits.length / migrants.length).toBeGreaterThan(0.4);
  });

  test('businesses carry valid, unique GB 32100 credit codes built from their type and division', () => {
    expect(new Set(city.businesses.map((b) => b.creditCode)).size).toBe(city.businesses.length);
    expect(new Set(city.businesses.map((b) => b.name)).size).toBe(city.businesses.length);
    for (const business of city.businesses) {
      const code = business.creditCode;
      expect(checkCreditCode(code)).toEqual({ ok: true, creditCode: code });
      expect(code.slice(0, 2)).toBe(business.type === 'SOLE_PROPRIETOR' ? '92' : '91');
      expect(code.slice(2, 8)).toBe(business.divisionCode);
      expect(code[16]).toBe(organisationCodeCheckCharacter(code.slice(8, 16)));
      // Organisation codes assigned with the 2015 reform start with MA; older businesses kept their all-digit one.
      expect(code.slice(8, 16)).toMatch(business.establishedOn >= '2015-10-01' ? /^MA/ : /^\d{8}$/);
      expect(HANGZHOU.get(business.divisionCode)).toBe(business.divisionName);
      expect(business.establishedOn < referenceDate).toBe(true);
      expect(ageOf(personById.get(business.legalRepresentativeIdNumber) as PersonRow)).toBeGreaterThanOrEqual(22);
    }
    expect(new Set(city.businesses.map((b) => b.type))).toEqual(new Set(['SOLE_PROPRIETOR', 'LIMITED_COMPANY']));
  });

  test('licences are unique, held by adult citizens, and EXPIRED exactly when past their date', () => {
    expect(new Set(city.licences.map((l) => l.number)).size).toBe(city.licences.length);
    for (const licence of city.licences) {
      const holder = personById.get(licence.holderIdNumber) as PersonRow;
      expect(yearsBetween(holder.birthDate, licence.issuedOn)).toBeGreaterThanOrEqual(18);
      expect(licence.issuedOn < referenceDate).toBe(true);
      if (licence.validUntil !== null) expect(licence.validUntil > licence.issuedOn).toBe(true);
      const isPastDate = licence.validUntil !== null && licence.validUntil < referenceDate;
      expect(licence.status === 'EXPIRED').toBe(isPastDate);
    }
    expect(new Set(city.licences.map((l) => l.status))).toEqual(new Set(['ACTIVE', 'SUSPENDED', 'REVOKED', 'EXPIRED', 'CANCELLED']));
  });

  test('driving licences are numbered with the holder ID number and issued by the traffic police', () => {
    const driving = city.licences.filter((l) => l.kind === 'DRIVING_LICENCE');
    expect(driving.length).toBeGreaterThan(0);
    for (const licence of driving) {
      expect([licence.number, licence.businessCreditCode, licence.issuingDepartment]).toEqual([licence.holderIdNumber, null, '杭州市公安局交通警察支队']);
    }
    expect(driving.some((l) => l.validUntil === null)).toBe(true);
  });

  test("each business holds one business licence numbered with its credit code, held by its operator", () => {
    const licencesByBusiness = groupBy(city.licences.filter((l) => l.businessCreditCode !== null), (l) => l.businessCreditCode as string);
    expect(new Set(licencesByBusiness.keys())).toEqual(new Set(city.businesses.map((b) => b.creditCode)));
    for (const business of city.businesses) {
      const licences = licencesByBusiness.get(business.creditCode) as LicenceRow[];
      const businessLicences = licences.filter((l) => l.kind === 'BUSINESS_LICENCE');
      expect(businessLicences.map((l) => l.number)).toEqual([business.creditCode]);
      // Numbered with a credit code, so issued (or reissued) since the 2015 reform, and not before the business existed.
      expect(businessLicences[0].issuedOn >= '2015-10-01' && businessLicences[0].issuedOn >= business.establishedOn).toBe(true);
      for (const licence of licences) {
        expect(licence.holderIdNumber).toBe(business.legalRepresentativeIdNumber);
        expect(licence.issuingDepartment).toMatch(/市场监督管理局$/);
        if (licence.status !== 'EXPIRED') {
          expect(licence.status).toBe({ ACTIVE: 'ACTIVE', DEREGISTERED: 'CANCELLED', REVOKED: 'REVOKED' }[business.status]);
        }
      }
      for (const food of licences.filter((l) => l.kind === 'FOOD_BUSINESS_LICENCE')) {
        expect(food.number).toMatch(new RegExp(`^JY[12]${business.divisionCode}\\d{7}$`));
      }
    }
    expect(city.licences.some((l) => l.kind === 'FOOD_BUSINESS_LICENCE')).toBe(true);
  });

  test('every record was updated at a varying instant before the reference date, after what it records', () => {
    const rows: { updatedAt: string; since: string }[] = [
      ...city.persons.map((p) => ({ updatedAt: p.updatedAt, since: p.birthDate })),
      ...city.periods.map((p) => ({ updatedAt: p.updatedAt, since: p.toDate ?? p.fromDate })),
      ...city.permits.map((p) => ({ updatedAt: p.updatedAt, since: p.issuedOn })),
      ...city.licences.map((l) => ({ updatedAt: l.updatedAt, since: l.issuedOn })),
      ...city.businesses.map((b) => ({ updatedAt: b.updatedAt, since: b.establishedOn })),
      ...city.households.map((h) => ({ updatedAt: h.updatedAt, since: '1900-01-01' })),
    ];
    const misdated = rows.filter(({ updatedAt, since }) =>
      !INSTANT.test(updatedAt) || updatedAt >= `${referenceDate}T00:00:00.000Z` || updatedAt.slice(0, 10) < since);
    expect(misdated).toEqual([]);
    expect(new Set(rows.map((r) => r.updatedAt)).size / rows.length).toBeGreaterThan(0.9);
  });
});
