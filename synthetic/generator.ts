/**
 * Deterministic synthetic data for the three department registries: Hangzhou's
 * household registry (persons and households), residence registry (periods and
 * permits) and licensing registry (licences and businesses).
 *
 * The city is built one unit at a time (a family household, a collective household, or
 * a group of migrants), each unit carrying every row it causes in every registry, so the
 * departments agree with each other by construction. Nothing is kept between units but
 * counters and the business names taken, which is what lets a million citizens stream
 * into SQLite in flat memory: each iterable returned by `generateRegistries` replays the
 * city from the seed when iterated (six passes to seed three registries, about 3 s each
 * per million citizens).
 */

import type { HouseholdRegistryData, HouseholdRow, PersonRow } from '../subgraphs/household/registry';
import type { BusinessRow, LicenceRow, LicenseRegistryData } from '../subgraphs/license/registry';
import type { ResidencePeriodRow, ResidencePermitRow, ResidenceRegistryData } from '../subgraphs/residence/registry';
import { addMonths, addYears, fullYearsBetween, isoDate, isoInstant, parseIsoDate, yearOf, type Day } from './calendar';
import { DISTRICT_BY_POPULATION, HANGZHOU_DISTRICTS, MIGRANT_ORIGINS, UNIVERSITIES, type HangzhouDistrict, type OriginDivision } from './divisions';
import { IdNumberAllocator, SerialCounter, creditCode, fixedWidth, foodLicenceNumber } from './identifiers';
import {
  COMPANY_TRADES, ETHNICITIES, LOCAL_NATIVE_PLACES, QUALIFICATIONS, QUALIFICATION_LEVELS, SOLE_PROPRIETOR_TRADES, SURNAMES,
  givenName, tradeName, type Trade,
} from './names';
import { createRandom, weightedChoice, type Random, type WeightedChoice } from './random';

export interface GenerateOptions {
  /** How many PersonRows to produce, exactly. */
  citizens: number;
  /** 0 to 2³²-1; the same seed gives the same rows, byte for byte. */
  seed: number;
  /** 'YYYY-MM-DD', the data's today: every date falls before it. */
  referenceDate: string;
}

/** Rows for each department's write function. Every iterable may be iterated again and yields the same rows. */
export interface SyntheticRegistries {
  household: HouseholdRegistryData;
  residence: ResidenceRegistryData;
  license: LicenseRegistryData;
}

export function generateRegistries(options: GenerateOptions): SyntheticRegistries {
  const checked = checkOptions(options);
  const rowsOf = <Row>(select: (unit: Unit) => readonly Row[]): Iterable<Row> => ({
    *[Symbol.iterator]() {
      for (const unit of generateUnits(checked)) yield* select(unit);
    },
  });
  return {
    household: { persons: rowsOf((u) => u.persons), households: rowsOf((u) => u.households) },
    residence: { periods: rowsOf((u) => u.periods), permits: rowsOf((u) => u.permits) },
    license: { licences: rowsOf((u) => u.licences), businesses: rowsOf((u) => u.businesses) },
  };
}

export const MAX_CITIZENS = 10_000_000;

function checkOptions(options: GenerateOptions): { citizens: number; seed: number; referenceDay: Day } {
  const { citizens, seed, referenceDate } = options;
  if (!Number.isInteger(citizens) || citizens < 1 || citizens > MAX_CITIZENS) {
    throw new RangeError(`citizens must be a whole number from 1 to ${MAX_CITIZENS}, got ${citizens}`);
  }
  const referenceDay = parseIsoDate(referenceDate);
  if (referenceDay === null || yearOf(referenceDay) < 2000 || yearOf(referenceDay) > 2100) {
    throw new RangeError(`referenceDate must be a real date from 2000 to 2100, as YYYY-MM-DD, got "${referenceDate}"`);
  }
  createRandom(seed); // validates the seed now rather than on first iteration
  return { citizens, seed, referenceDay };
}

/** Every row one unit of the city causes, in every registry. */
export interface Unit {
  persons: PersonRow[];
  households: HouseholdRow[];
  periods: ResidencePeriodRow[];
  permits: ResidencePermitRow[];
  businesses: BusinessRow[];
  licences: LicenceRow[];
}

function* generateUnits(options: { citizens: number; seed: number; referenceDay: Day }): Generator<Unit> {
  const city = new SyntheticCity(createRandom(options.seed), options.referenceDay);
  let remaining = options.citizens;
  while (remaining > 0) {
    const unit = city.nextUnit(remaining);
    remaining -= unit.persons.length;
    yield unit;
  }
}

type Gender = 'MALE' | 'FEMALE';
type Relation = NonNullable<PersonRow['relation']>;

/**
 * Roles in a family beyond the relations the registry records: the spouse of the head's
 * child (儿媳 / 女婿) and a lodger are both recorded as OTHER.
 */
type Role = Exclude<Relation, 'OTHER'> | 'CHILD_SPOUSE' | 'LODGER';

interface FamilyTemplate {
  /** How many members of each role besides the head. */
  count: Readonly<Record<Role, number>>;
  /** Age range of the head on the reference date, chosen so every other member has room to exist. */
  headAge: readonly [number, number];
}

function template(roles: readonly Role[], minHeadAge: number, maxHeadAge: number): FamilyTemplate {
  const count: Record<Role, number> = { HEAD: 0, SPOUSE: 0, CHILD: 0, PARENT: 0, GRANDCHILD: 0, SIBLING: 0, CHILD_SPOUSE: 0, LODGER: 0 };
  for (const role of roles) count[role] += 1;
  return { count, headAge: [minHeadAge, maxHeadAge] };
}

/**
 * Family shapes by size, weighted loosely after the 2020 census. Head ages keep the
 * generational rules satisfiable: a couple with children is at least 30 (so the younger
 * spouse is at least 24), a head with grandchildren at least 50, a head living with
 * parents at most 58 (so the parents are at most 100), and a family never holds both a
 * sibling and a parent of the head, whose ages would then have to agree as well.
 */
const FAMILY_TEMPLATES: Record<number, WeightedChoice<FamilyTemplate>> = {
  1: weightedChoice([
    [template(['HEAD'], 18, 35), 45],
    [template(['HEAD'], 36, 64), 30],
    [template(['HEAD'], 65, 92), 25],
  ]),
  2: weightedChoice([
    [template(['HEAD', 'SPOUSE'], 22, 45), 30],
    [template(['HEAD', 'SPOUSE'], 46, 85), 30],
    [template(['HEAD', 'CHILD'], 24, 60), 20],
    [template(['HEAD', 'PARENT'], 25, 58), 10],
    [template(['HEAD', 'SIBLING'], 18, 60), 5],
    [template(['HEAD', 'LODGER'], 30, 80), 5],
  ]),
  3: weightedChoice([
    [template(['HEAD', 'SPOUSE', 'CHILD'], 30, 62), 70],
    [template(['HEAD', 'SPOUSE', 'PARENT'], 30, 58), 10],
    [template(['HEAD', 'CHILD', 'CHILD'], 26, 60), 6],
    [template(['HEAD', 'PARENT', 'PARENT'], 22, 55), 8],
    [template(['HEAD', 'CHILD', 'GRANDCHILD'], 50, 80), 6],
  ]),
  4: weightedChoice([
    [template(['HEAD', 'SPOUSE', 'CHILD', 'CHILD'], 32, 60), 45],
    [template(['HEAD', 'SPOUSE', 'PARENT', 'CHILD'], 30, 58), 25],
    [template(['HEAD', 'SPOUSE', 'CHILD', 'GRANDCHILD'], 50, 78), 15],
    [template(['HEAD', 'SPOUSE', 'PARENT', 'PARENT'], 28, 55), 15],
  ]),
  5: weightedChoice([
    [template(['HEAD', 'SPOUSE', 'PARENT', 'PARENT', 'CHILD'], 30, 55), 40],
    [template(['HEAD', 'SPOUSE', 'PARENT', 'CHILD', 'CHILD'], 32, 58), 20],
    [template(['HEAD', 'SPOUSE', 'CHILD', 'CHILD_SPOUSE', 'GRANDCHILD'], 50, 78), 30],
    [template(['HEAD', 'SPOUSE', 'CHILD', 'CHILD', 'CHILD'], 35, 60), 10],
  ]),
  6: weightedChoice([
    [template(['HEAD', 'SPOUSE', 'PARENT', 'PARENT', 'CHILD', 'CHILD'], 32, 55), 40],
    [template(['HEAD', 'SPOUSE', 'CHILD', 'CHILD_SPOUSE', 'GRANDCHILD', 'GRANDCHILD'], 50, 78), 40],
    [template(['HEAD', 'SPOUSE', 'CHILD', 'CHILD', 'CHILD_SPOUSE', 'GRANDCHILD'], 50, 78), 20],
  ]),
};

/** Migrants come alone or as young families, sometimes with a grandparent who minds the children. */
const MIGRANT_TEMPLATES: Record<number, WeightedChoice<FamilyTemplate>> = {
  1: weightedChoice([[template(['HEAD'], 18, 30), 50], [template(['HEAD'], 31, 55), 50]]),
  2: weightedChoice([[template(['HEAD', 'SPOUSE'], 22, 50), 70], [template(['HEAD', 'CHILD'], 24, 50), 30]]),
  3: weightedChoice([[template(['HEAD', 'SPOUSE', 'CHILD'], 30, 50), 1]]),
  4: weightedChoice([
    [template(['HEAD', 'SPOUSE', 'CHILD', 'CHILD'], 32, 50), 70],
    [template(['HEAD', 'SPOUSE', 'PARENT', 'CHILD'], 30, 50), 30],
  ]),
};

type UnitKind = 'FAMILY' | 'MIGRANTS' | 'COLLECTIVE';
/** Tuned so migrants come to about a fifth of the citizens (the product asks for 15-25%). */
const UNIT_KINDS: WeightedChoice<UnitKind> = weightedChoice<UnitKind>([['FAMILY', 70], ['MIGRANTS', 28], ['COLLECTIVE', 2]]);
const FAMILY_SIZES = weightedChoice([[1, 24], [2, 30], [3, 22], [4, 13], [5, 7], [6, 4]]);
const MIGRANT_GROUP_SIZES = weightedChoice([[1, 55], [2, 20], [3, 18], [4, 7]]);
/** Years by which the husband is older than the wife. */
const HUSBAND_AGE_GAP_YEARS = weightedChoice([[-2, 5], [-1, 8], [0, 15], [1, 18], [2, 18], [3, 14], [4, 10], [5, 7], [6, 5]]);
const MOVES_WITHIN_CITY = weightedChoice([[0, 60], [1, 30], [2, 10]]);
const BUSINESS_STATUSES = weightedChoice<BusinessRow['status']>([['ACTIVE', 85], ['DEREGISTERED', 10], ['REVOKED', 5]]);
const DRIVING_LICENCE_STATUSES = weightedChoice<LicenceRow['status']>([['ACTIVE', 975], ['SUSPENDED', 20], ['REVOKED', 5]]);

const DRIVING_LICENCE_AUTHORITY = '杭州市公安局交通警察支队';
const QUALIFICATION_AUTHORITY = '杭州市人力资源和社会保障局';
/** GB 32100 codes (三证合一) replaced separate registration numbers from 1 October 2015. */
const CREDIT_CODE_REFORM_DAY = parseIsoDate('2015-10-01') as Day;

/** Where a person's identity comes from: 籍贯 and the division that issued their ID number. */
interface Background {
  nativePlace: string;
  birthDivisionCode: string;
}

/**
 * Where a unit's people come from. Locals were born in Hangzhou, mostly in their
 * household's district; migrants' ID numbers and 户口 stay in their home county.
 */
type Lineage = { kind: 'LOCAL'; district: HangzhouDistrict } | { kind: 'MIGRANT'; home: OriginDivision };

interface Member {
  role: Role;
  gender: Gender;
  birth: Day;
  surname: string;
  name: string;
  ethnicity: string;
  nativePlace: string;
  idNumber: string;
  /** Where the person lives on the reference date, once their residence is known; businesses open near home. */
  currentDistrict: HangzhouDistrict | null;
}

interface Address {
  district: HangzhouDistrict;
  detail: string;
}

/** One pass over the city: the random stream and the counters that keep identifiers unique. */
class SyntheticCity {
  private readonly idNumbers = new IdNumberAllocator();
  private readonly householdSerials = new SerialCounter();
  private readonly permitSerials = new SerialCounter();
  private readonly foodLicenceSerials = new SerialCounter();
  private readonly qualificationSerials = new SerialCounter();
  private businessCount = 0;
  private readonly businessNames = new Set<string>();
  /** The last day anything happens: the day before the reference date, so updates can follow every event. */
  private readonly lastDay: Day;
  /** Records were last touched within the five years before the reference date. */
  private readonly earliestUpdate: Day;

  constructor(
    private readonly random: Random,
    private readonly referenceDay: Day,
  ) {
    this.lastDay = referenceDay - 1;
    this.earliestUpdate = addYears(this.lastDay, -5);
  }

  nextUnit(remainingCitizens: number): Unit {
    const unit: Unit = { persons: [], households: [], periods: [], permits: [], businesses: [], licences: [] };
    const kind = this.random.weighted(UNIT_KINDS);
    let members: Member[];
    if (kind === 'MIGRANTS') {
      const size = Math.min(this.random.weighted(MIGRANT_GROUP_SIZES), remainingCitizens);
      members = this.migrants(size, unit);
    } else {
      const size = Math.min(kind === 'FAMILY' ? this.random.weighted(FAMILY_SIZES) : this.random.int(2, 6), remainingCitizens);
      members = this.localHousehold(kind, size, unit);
    }
    for (const member of members) {
      if (fullYearsBetween(member.birth, this.lastDay) >= 18) this.licencesOf(member, unit);
    }
    return unit;
  }

  // --- households -------------------------------------------------------------------

  private localHousehold(kind: 'FAMILY' | 'COLLECTIVE', size: number, unit: Unit): Member[] {
    const isFamily = kind === 'FAMILY';
    const university = isFamily || this.random.chance(0.6) ? null : this.random.pick(UNIVERSITIES);
    const address: Address = university
      ? { district: university.district, detail: `${university.addressDetail} ${university.name}` }
      : this.homeAddress(isFamily ? this.random.weighted(DISTRICT_BY_POPULATION) : this.random.pick(HANGZHOU_DISTRICTS));
    const lineage: Lineage = { kind: 'LOCAL', district: address.district };
    const members = isFamily
      ? this.family(this.random.weighted(FAMILY_TEMPLATES[size]), lineage)
      : this.collective(size, university !== null, lineage);

    const householdNumber = address.district.code + fixedWidth(this.householdSerials.next(address.district.code), 6, `household numbers of ${address.district.code}`);
    const head = members[0];
    const registeredSince = this.dayBetween(
      Math.min(Math.max(addYears(head.birth, 18), addYears(this.lastDay, -40)), this.lastDay),
      this.lastDay,
    );
    const latestBirth = Math.max(...members.map((m) => m.birth));
    unit.households.push({
      householdNumber,
      type: kind,
      divisionCode: address.district.code,
      divisionName: address.district.name,
      addressDetail: address.detail,
      headIdNumber: head.idNumber,
      updatedAt: this.updatedSince(Math.max(registeredSince, latestBirth)),
    });
    for (const member of members) {
      unit.persons.push(this.personRow(member, householdNumber, relationOf(member.role)));
    }
    this.localResidence(members, address, registeredSince, isFamily, unit);
    return members;
  }

  /**
   * A family's members, head first. Every generational rule the registry's readers may
   * check holds: spouses of opposite gender within a few years of each other, children
   * born when each parent in the household was 20 to 45, parents 20 to 45 years older
   * than the head, grandchildren born to a child living in the household.
   */
  private family(shape: FamilyTemplate, lineage: Lineage): Member[] {
    const { count } = shape;
    const hasSpouse = count.SPOUSE > 0;
    const head = this.member('HEAD', this.random.chance(hasSpouse ? 0.7 : 0.5) ? 'MALE' : 'FEMALE',
      this.birthForAge(shape.headAge[0], shape.headAge[1]), this.outsider(lineage), this.random.weighted(SURNAMES), this.random.weighted(ETHNICITIES));
    const members = [head];
    const spouse = hasSpouse ? this.spouseOf(head, 'SPOUSE', lineage, this.lastDay) : null;
    if (spouse) members.push(spouse);
    members.push(...this.parentsOf(head, count.PARENT, lineage));

    const couple = spouse ? [head, spouse] : [head];
    const children: Member[] = [];
    for (let i = 0; i < count.CHILD; i += 1) {
      // The child who has children of their own must be old enough to be a parent by now.
      const latestBirth = i === 0 && count.GRANDCHILD > 0 ? addYears(this.lastDay, -21) : this.lastDay;
      children.push(this.childOf(couple, 'CHILD', lineage, latestBirth));
    }
    members.push(...[...children].sort((a, b) => a.birth - b.birth));

    if (count.GRANDCHILD > 0) {
      const parentOfGrandchildren = children[0];
      const childSpouse = count.CHILD_SPOUSE > 0 ? this.spouseOf(parentOfGrandchildren, 'CHILD_SPOUSE', lineage, addYears(this.lastDay, -21)) : null;
      if (childSpouse) members.push(childSpouse);
      const grandparents = childSpouse ? [parentOfGrandchildren, childSpouse] : [parentOfGrandchildren];
      const born = Array.from({ length: count.GRANDCHILD }, () => this.childOf(grandparents, 'GRANDCHILD', lineage, this.lastDay));
      members.push(...born.sort((a, b) => a.birth - b.birth));
    }
    for (let i = 0; i < count.SIBLING; i += 1) {
      const birth = this.dayBetween(
        Math.max(addYears(head.birth, -12), addYears(this.lastDay, -95)),
        Math.min(addYears(head.birth, 12), addYears(this.lastDay, -16)),
      );
      members.push(this.member('SIBLING', this.randomGender(), birth, this.sameLineAs(head, lineage), head.surname, head.ethnicity));
    }
    for (let i = 0; i < count.LODGER; i += 1) {
      members.push(this.member('LODGER', this.randomGender(), this.birthForAge(18, 75), this.outsider(lineage),
        this.random.weighted(SURNAMES), this.random.weighted(ETHNICITIES)));
    }
    return members;
  }

  /** A collective household (集体户): a staff member registered as head, the others unrelated adults. */
  private collective(size: number, isUniversity: boolean, lineage: Lineage): Member[] {
    const members = [this.unrelatedAdult('HEAD', 28, 55, lineage)];
    for (let i = 1; i < size; i += 1) {
      members.push(isUniversity ? this.unrelatedAdult('LODGER', 18, 26, lineage) : this.unrelatedAdult('LODGER', 19, 50, lineage));
    }
    return members;
  }

  private unrelatedAdult(role: Role, minAge: number, maxAge: number, lineage: Lineage): Member {
    return this.member(role, this.randomGender(), this.birthForAge(minAge, maxAge), this.outsider(lineage),
      this.random.weighted(SURNAMES), this.random.weighted(ETHNICITIES));
  }

  private spouseOf(partner: Member, role: 'SPOUSE' | 'CHILD_SPOUSE', lineage: Lineage, latestBirth: Day): Member {
    const gender: Gender = partner.gender === 'MALE' ? 'FEMALE' : 'MALE';
    const husbandOlderByDays = this.random.weighted(HUSBAND_AGE_GAP_YEARS) * 365 + this.random.int(-180, 180);
    const drawn = gender === 'FEMALE' ? partner.birth + husbandOlderByDays : partner.birth - husbandOlderByDays;
    // Never younger than the legal age of marriage (22 for men, 20 for women).
    const youngestLegal = addYears(this.lastDay, gender === 'MALE' ? -22 : -20);
    const ethnicity = this.random.chance(0.9) ? partner.ethnicity : this.random.weighted(ETHNICITIES);
    return this.member(role, gender, Math.min(drawn, youngestLegal, latestBirth), this.outsider(lineage), this.random.weighted(SURNAMES), ethnicity);
  }

  /** The head's father (who passed on surname, 籍贯 and 民族) and mother; a lone parent is more often the mother. */
  private parentsOf(head: Member, count: number, lineage: Lineage): Member[] {
    const earliest = Math.max(addYears(head.birth, -46) + 1, addYears(this.lastDay, -100));
    const latest = addYears(head.birth, -20);
    const parents: Member[] = [];
    if (count === 0) return parents;
    const firstGender: Gender = count === 2 || this.random.chance(0.35) ? 'MALE' : 'FEMALE';
    const first = this.parentOfHead(head, firstGender, this.dayBetween(earliest, latest), lineage);
    parents.push(first);
    if (count === 2) {
      const birth = this.dayBetween(Math.max(earliest, addYears(first.birth, -6)), Math.min(latest, addYears(first.birth, 6)));
      parents.push(this.parentOfHead(head, 'FEMALE', birth, lineage));
    }
    return parents;
  }

  private parentOfHead(head: Member, gender: Gender, birth: Day, lineage: Lineage): Member {
    return gender === 'MALE'
      ? this.member('PARENT', gender, birth, this.sameLineAs(head, lineage), head.surname, head.ethnicity)
      : this.member('PARENT', gender, birth, this.outsider(lineage), this.random.weighted(SURNAMES), this.random.weighted(ETHNICITIES));
  }

  /** A child born when every parent given was 20 to 45, taking the father's surname, 籍贯 and 民族 as is usual. */
  private childOf(parents: readonly Member[], role: 'CHILD' | 'GRANDCHILD', lineage: Lineage, latestBirth: Day): Member {
    const birth = this.dayBetween(
      Math.max(...parents.map((p) => addYears(p.birth, 20))),
      Math.min(latestBirth, ...parents.map((p) => addYears(p.birth, 46) - 1)),
    );
    const father = parents.find((p) => p.gender === 'MALE');
    const line = father ?? parents[0];
    // A child of a lone mother takes her surname about half the time, otherwise the absent father's.
    const surname = father || this.random.chance(0.5) ? line.surname : this.random.weighted(SURNAMES);
    return this.member(role, this.random.chance(0.515) ? 'MALE' : 'FEMALE', birth, this.sameLineAs(line, lineage), surname, line.ethnicity);
  }

  private member(role: Role, gender: Gender, birth: Day, background: Background, surname: string, ethnicity: string): Member {
    return {
      role,
      gender,
      birth,
      surname,
      name: surname + givenName(this.random, gender),
      ethnicity,
      nativePlace: background.nativePlace,
      idNumber: this.idNumbers.allocate(background.birthDivisionCode, birth, gender),
      currentDistrict: null,
    };
  }

  private personRow(member: Member, householdNumber: string | null, relation: PersonRow['relation']): PersonRow {
    return {
      idNumber: member.idNumber,
      name: member.name,
      gender: member.gender,
      birthDate: isoDate(member.birth),
      ethnicity: member.ethnicity,
      nativePlace: member.nativePlace,
      householdNumber,
      relation,
      updatedAt: this.updatedSince(member.birth),
    };
  }

  /** The background of someone joining the unit from outside the paternal line: the head, a spouse, a mother, a lodger. */
  private outsider(lineage: Lineage): Background {
    if (lineage.kind === 'LOCAL') {
      return { nativePlace: this.random.weighted(LOCAL_NATIVE_PLACES), birthDivisionCode: this.localBirthDivision(lineage.district) };
    }
    // Most migrants married someone from home; some across provinces.
    const origin = this.random.chance(0.7) ? lineage.home : this.random.weighted(MIGRANT_ORIGINS);
    return { nativePlace: origin.nativePlace, birthDivisionCode: origin.code };
  }

  /** The background of a child, a sibling or the father of `relative`: 籍贯 passes down the paternal line. */
  private sameLineAs(relative: Member, lineage: Lineage): Background {
    const birthDivisionCode = lineage.kind === 'LOCAL' ? this.localBirthDivision(lineage.district) : lineage.home.code;
    return { nativePlace: relative.nativePlace, birthDivisionCode };
  }

  private localBirthDivision(householdDistrict: HangzhouDistrict): string {
    return this.random.chance(0.75) ? householdDistrict.code : this.random.weighted(DISTRICT_BY_POPULATION).code;
  }

  // --- residence --------------------------------------------------------------------

  /**
   * Locals live at their household address since it was registered (or since birth).
   * One family in ten has since moved elsewhere in the city without moving its 户口:
   * a closed period at the household address, then a current residence registration.
   */
  private localResidence(members: readonly Member[], home: Address, registeredSince: Day, isFamily: boolean, unit: Unit): void {
    const moveDay = isFamily && registeredSince < this.lastDay && this.random.chance(0.1) ? this.dayBetween(registeredSince + 1, this.lastDay) : null;
    const elsewhere = moveDay === null ? null : this.addressOtherThan(home);
    for (const member of members) {
      const from = isFamily ? Math.max(member.birth, registeredSince) : this.dayBetween(Math.max(member.birth, registeredSince, addYears(member.birth, 18)), this.lastDay);
      if (moveDay === null || elsewhere === null) {
        unit.periods.push(this.periodRow(member, 'HOUSEHOLD_ADDRESS', home, from, null));
        member.currentDistrict = home.district;
        continue;
      }
      if (from < moveDay) unit.periods.push(this.periodRow(member, 'HOUSEHOLD_ADDRESS', home, from, moveDay - 1));
      unit.periods.push(this.periodRow(member, 'REGISTRATION', elsewhere, Math.max(from, moveDay), null));
      member.currentDistrict = elsewhere.district;
    }
  }

  /**
   * A group of migrants arriving together, registering their residence (居住登记) and
   * moving within the city a few times. Adults who have been registered for half a
   * year may hold a residence permit (居住证), valid for a year from issue.
   */
  private migrants(size: number, unit: Unit): Member[] {
    const home = this.random.weighted(MIGRANT_ORIGINS);
    const members = this.family(this.random.weighted(MIGRANT_TEMPLATES[size]), { kind: 'MIGRANT', home });
    for (const member of members) unit.persons.push(this.personRow(member, null, null));

    const head = members[0];
    const arrival = this.dayBetween(Math.max(addYears(head.birth, 16), addYears(this.lastDay, -12)), this.lastDay - 14);
    const moveCount = this.random.weighted(MOVES_WITHIN_CITY);
    const moves = Array.from({ length: moveCount }, () => this.dayBetween(arrival + 1, this.lastDay)).sort((a, b) => a - b);
    const starts = [arrival, ...new Set(moves)];
    const addresses = [this.homeAddress(this.random.weighted(DISTRICT_BY_POPULATION))];
    while (addresses.length < starts.length) addresses.push(this.addressOtherThan(addresses[addresses.length - 1]));

    for (const member of members) {
      let firstRegistered: Day | null = null;
      starts.forEach((start, i) => {
        const end = i + 1 < starts.length ? starts[i + 1] - 1 : null;
        if (end !== null && end < member.birth) return;
        const from = Math.max(start, member.birth);
        firstRegistered ??= from;
        unit.periods.push(this.periodRow(member, 'REGISTRATION', addresses[i], from, end));
      });
      member.currentDistrict = addresses[addresses.length - 1].district;
      if (firstRegistered !== null) this.residencePermit(member, firstRegistered, starts, addresses, unit);
    }
    return members;
  }

  private residencePermit(member: Member, firstRegistered: Day, starts: readonly Day[], addresses: readonly Address[], unit: Unit): void {
    const eligibleFrom = Math.max(addMonths(firstRegistered, 6), addYears(member.birth, 16));
    if (eligibleFrom > this.lastDay || !this.random.chance(0.8)) return;
    // Most holders renewed within the past year; some let the permit lapse.
    const lapsedBefore = addYears(this.referenceDay, -1);
    const hasLapsed = eligibleFrom < lapsedBefore && this.random.chance(0.15);
    const issuedOn = hasLapsed
      ? this.dayBetween(eligibleFrom, lapsedBefore - 1)
      : this.dayBetween(Math.max(eligibleFrom, lapsedBefore), this.lastDay);
    const issuingDivision = addresses[starts.filter((start) => start <= issuedOn).length - 1].district.code;
    const year = String(yearOf(issuedOn));
    const serial = this.permitSerials.next(issuingDivision + year);
    unit.permits.push({
      permitNumber: issuingDivision + year + fixedWidth(serial, 5, `residence permits of ${issuingDivision} in ${year}`),
      idNumber: member.idNumber,
      issuedOn: isoDate(issuedOn),
      validUntil: isoDate(addYears(issuedOn, 1)),
      updatedAt: this.updatedSince(issuedOn),
    });
  }

  private periodRow(member: Member, kind: ResidencePeriodRow['kind'], address: Address, from: Day, to: Day | null): ResidencePeriodRow {
    return {
      idNumber: member.idNumber,
      kind,
      divisionCode: address.district.code,
      divisionName: address.district.name,
      addressDetail: address.detail,
      fromDate: isoDate(from),
      toDate: to === null ? null : isoDate(to),
      updatedAt: this.updatedSince(to ?? from),
    };
  }

  // --- licences and businesses ------------------------------------------------------

  private licencesOf(adult: Member, unit: Unit): void {
    const age = fullYearsBetween(adult.birth, this.lastDay);
    if (this.random.chance(age < 70 ? 0.5 : 0.2)) unit.licences.push(this.drivingLicence(adult));
    if (age >= 20 && age <= 60 && this.random.chance(0.08)) unit.licences.push(this.qualification(adult));
    if (age >= 22 && age <= 65 && this.random.chance(0.06)) this.business(adult, 'SOLE_PROPRIETOR', unit);
    else if (age >= 25 && age <= 65 && this.random.chance(0.015)) this.business(adult, 'LIMITED_COMPANY', unit);
  }

  /**
   * A driving licence (机动车驾驶证) is numbered with its holder's ID number. It is first
   * issued for 6 years, renewed for 10, then without limit (长期); a few holders let it lapse.
   */
  private drivingLicence(holder: Member): LicenceRow {
    const firstIssued = this.dayBetween(addYears(holder.birth, 18), Math.min(addYears(holder.birth, 45), this.lastDay));
    let issuedOn = firstIssued;
    let validUntil: Day | null = addYears(firstIssued, 6);
    const hasLapsed = validUntil < this.referenceDay && this.random.chance(0.05);
    if (!hasLapsed && addYears(firstIssued, 16) <= this.lastDay) {
      issuedOn = addYears(firstIssued, 16);
      validUntil = null;
    } else if (!hasLapsed && addYears(firstIssued, 6) <= this.lastDay) {
      issuedOn = addYears(firstIssued, 6);
      validUntil = addYears(issuedOn, 10);
    }
    return {
      number: holder.idNumber,
      kind: 'DRIVING_LICENCE',
      name: '机动车驾驶证',
      holderIdNumber: holder.idNumber,
      businessCreditCode: null,
      issuingDepartment: DRIVING_LICENCE_AUTHORITY,
      issuedOn: isoDate(issuedOn),
      validUntil: validUntil === null ? null : isoDate(validUntil),
      status: this.isExpired(validUntil) ? 'EXPIRED' : this.random.weighted(DRIVING_LICENCE_STATUSES),
      updatedAt: this.updatedSince(issuedOn),
    };
  }

  /** A vocational qualification certificate: valid without limit, numbered by year, province and level. */
  private qualification(holder: Member): LicenceRow {
    const issuedOn = this.dayBetween(addYears(holder.birth, 20), this.lastDay);
    const level = this.random.int(0, QUALIFICATION_LEVELS.length - 1);
    const year = String(yearOf(issuedOn));
    const serial = fixedWidth(this.qualificationSerials.next(year), 8, `qualification certificates of ${year}`);
    return {
      number: `${year}33${5 - level}${serial}`,
      kind: 'PROFESSIONAL_QUALIFICATION',
      name: `职业资格证书（${this.random.pick(QUALIFICATIONS)}，${QUALIFICATION_LEVELS[level]}）`,
      holderIdNumber: holder.idNumber,
      businessCreditCode: null,
      issuingDepartment: QUALIFICATION_AUTHORITY,
      issuedOn: isoDate(issuedOn),
      validUntil: null,
      status: this.random.chance(0.02) ? 'REVOKED' : 'ACTIVE',
      updatedAt: this.updatedSince(issuedOn),
    };
  }

  /**
   * A business and its licences. The business licence (营业执照) is numbered with the
   * credit code, as since the 2015 reform; food trades also hold a food business licence
   * (食品经营许可证), valid five years and renewed by most. A licence past its date is
   * EXPIRED; otherwise a deregistered business (注销) has its licences CANCELLED and a
   * business whose licence was revoked as a penalty (吊销) has them REVOKED.
   */
  private business(operator: Member, type: BusinessRow['type'], unit: Unit): void {
    const isSoleProprietor = type === 'SOLE_PROPRIETOR';
    const district = operator.currentDistrict !== null && this.random.chance(0.6) ? operator.currentDistrict : this.random.weighted(DISTRICT_BY_POPULATION);
    const establishedOn = this.dayBetween(Math.max(addYears(operator.birth, isSoleProprietor ? 22 : 25), addYears(this.lastDay, -20)), this.lastDay);
    const trade = this.random.weighted(isSoleProprietor ? SOLE_PROPRIETOR_TRADES : COMPANY_TRADES);
    this.businessCount += 1;
    const code = creditCode(type, district.code, this.businessCount, establishedOn >= CREDIT_CODE_REFORM_DAY);
    const status = this.random.weighted(BUSINESS_STATUSES);
    unit.businesses.push({
      creditCode: code,
      name: this.uniqueBusinessName(district, trade, isSoleProprietor ? operator.surname : null),
      type,
      divisionCode: district.code,
      divisionName: district.name,
      addressDetail: isSoleProprietor ? this.shopAddress(district) : this.officeAddress(district),
      legalRepresentativeIdNumber: operator.idNumber,
      establishedOn: isoDate(establishedOn),
      status,
      updatedAt: this.updatedSince(establishedOn),
    });

    const licenceStatusWhileValid: LicenceRow['status'] = status === 'ACTIVE' ? 'ACTIVE' : status === 'DEREGISTERED' ? 'CANCELLED' : 'REVOKED';
    const licenceIssuedOn = this.businessLicenceIssuedOn(establishedOn);
    // Sole proprietors trade without limit; half the companies registered a 30-year term (营业期限).
    const businessValidUntil = isSoleProprietor || this.random.chance(0.5) ? null : addYears(establishedOn, 30) - 1;
    unit.licences.push({
      number: code,
      kind: 'BUSINESS_LICENCE',
      name: '营业执照',
      holderIdNumber: operator.idNumber,
      businessCreditCode: code,
      issuingDepartment: district.marketRegulationBureau,
      issuedOn: isoDate(licenceIssuedOn),
      validUntil: businessValidUntil === null ? null : isoDate(businessValidUntil),
      status: this.isExpired(businessValidUntil) ? 'EXPIRED' : licenceStatusWhileValid,
      updatedAt: this.updatedSince(licenceIssuedOn),
    });

    if (trade.food === null) return;
    let foodIssuedOn = Math.min(establishedOn + this.random.int(0, 60), this.lastDay);
    while (addYears(foodIssuedOn, 5) <= this.lastDay && this.random.chance(0.9)) foodIssuedOn = addYears(foodIssuedOn, 5);
    const foodValidUntil = addYears(foodIssuedOn, 5) - 1;
    unit.licences.push({
      number: foodLicenceNumber(trade.food, district.code, this.foodLicenceSerials.next(district.code)),
      kind: 'FOOD_BUSINESS_LICENCE',
      name: '食品经营许可证',
      holderIdNumber: operator.idNumber,
      businessCreditCode: code,
      issuingDepartment: district.marketRegulationBureau,
      issuedOn: isoDate(foodIssuedOn),
      validUntil: isoDate(foodValidUntil),
      status: this.isExpired(foodValidUntil) ? 'EXPIRED' : licenceStatusWhileValid,
      updatedAt: this.updatedSince(foodIssuedOn),
    });
  }

  /**
   * Most business licences date from establishment, some from a later change (变更登记).
   * Businesses older than the 2015 reform received their credit code, which numbers the
   * licence, when it was reissued (换照) in the two years after.
   */
  private businessLicenceIssuedOn(establishedOn: Day): Day {
    if (establishedOn < CREDIT_CODE_REFORM_DAY && this.lastDay >= CREDIT_CODE_REFORM_DAY) {
      return this.dayBetween(CREDIT_CODE_REFORM_DAY, Math.min(addYears(CREDIT_CODE_REFORM_DAY, 2), this.lastDay));
    }
    return this.random.chance(0.75) ? establishedOn : this.dayBetween(establishedOn, this.lastDay);
  }

  /** Business names are unique city-wide, as the registration authority requires; a taken name is redrawn. */
  private uniqueBusinessName(district: HangzhouDistrict, trade: Trade, operatorSurname: string | null): string {
    const prefix = operatorSurname === null ? '杭州' : district.businessNamePrefix;
    for (let attempt = 0; attempt < 1000; attempt += 1) {
      const name = prefix + tradeName(this.random, operatorSurname) + trade.words;
      if (!this.businessNames.has(name)) {
        this.businessNames.add(name);
        return name;
      }
    }
    throw new RangeError(`no free business name left for ${prefix}…${trade.words}; too many businesses for the name vocabulary`);
  }

  private isExpired(validUntil: Day | null): boolean {
    return validUntil !== null && validUntil < this.referenceDay;
  }

  // --- places, dates and times ------------------------------------------------------

  /** A flat (文三路 138 号 2 幢 1 单元 301 室), or in the counties sometimes a house of its own. */
  private homeAddress(district: HangzhouDistrict): Address {
    const street = this.random.pick(district.streets);
    const number = this.random.int(1, 999);
    const isCounty = !district.name.endsWith('区');
    if (isCounty && this.random.chance(0.3)) return { district, detail: `${street} ${number} 号` };
    const unitPart = this.random.chance(0.3) ? `${this.random.int(1, 4)} 单元 ` : '';
    const room = this.random.int(1, 33) * 100 + this.random.int(1, 4);
    return { district, detail: `${street} ${number} 号 ${this.random.int(1, 30)} 幢 ${unitPart}${room} 室` };
  }

  private officeAddress(district: HangzhouDistrict): string {
    const room = this.random.int(1, 25) * 100 + this.random.int(1, 12);
    return `${this.random.pick(district.streets)} ${this.random.int(1, 999)} 号 ${this.random.int(1, 12)} 幢 ${room} 室`;
  }

  private shopAddress(district: HangzhouDistrict): string {
    const street = this.random.pick(district.streets);
    const number = this.random.int(1, 999);
    return this.random.chance(0.2) ? `${street} ${number}-${this.random.int(1, 12)} 号` : `${street} ${number} 号`;
  }

  private addressOtherThan(address: Address): Address {
    for (;;) {
      const candidate = this.homeAddress(this.random.weighted(DISTRICT_BY_POPULATION));
      if (candidate.detail !== address.detail || candidate.district !== address.district) return candidate;
    }
  }

  private randomGender(): Gender {
    return this.random.chance(0.5) ? 'MALE' : 'FEMALE';
  }

  /** A birth date making someone `minAge` to `maxAge` years old on the last day of the data. */
  private birthForAge(minAge: number, maxAge: number): Day {
    return this.dayBetween(addYears(this.lastDay, -(maxAge + 1)) + 1, addYears(this.lastDay, -minAge));
  }

  private dayBetween(first: Day, last: Day): Day {
    // An empty range means a template's age bounds are wrong; failing loudly beats inventing a date.
    if (first > last) throw new RangeError(`no day between ${isoDate(first)} and ${isoDate(last)}`);
    return this.random.int(first, last);
  }

  /**
   * When a record was last touched: a working-hours instant (08:30-17:30 Beijing time)
   * on a day after the event it records, within the last five years, before the reference date.
   */
  private updatedSince(event: Day): string {
    const day = this.dayBetween(Math.min(Math.max(event, this.earliestUpdate), this.lastDay), this.lastDay);
    return isoInstant(day, this.random.int(30 * 60, 9.5 * 3600));
  }
}

function relationOf(role: Role): Relation {
  return role === 'CHILD_SPOUSE' || role === 'LODGER' ? 'OTHER' : role;
}
