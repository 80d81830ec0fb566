import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { requireIdentifier, requireIdentifierList } from '../shared/arguments';
import { address, provenance, verification } from '../shared/provenance';
import type { HouseholdContext } from './index';
import { relationBetween } from './kinship';
import type { HouseholdRow, PersonRow } from './registry';

export const AUTHORITY = '杭州市公安局';

/** A `Citizen` reference: the entity is its key, every other field resolves through loaders. */
type CitizenRef = { idNumber: string };

/** Order of members in a household booklet: the head, then spouse, parents, children, and the rest. */
const RELATION_ORDER = ['HEAD', 'SPOUSE', 'PARENT', 'CHILD', 'GRANDCHILD', 'SIBLING', 'OTHER'];

export const resolvers: GraphQLResolverMap<HouseholdContext> = {
  Query: {
    citizen: async (_: unknown, args: { idNumber: unknown }, { loaders }: HouseholdContext) => {
      const idNumber = requireIdentifier('idNumber', args.idNumber);
      return citizenIfKnown(await loaders.person.load(idNumber));
    },
    citizens: async (_: unknown, args: { idNumbers: unknown }, { loaders, maxCitizensPerRequest }: HouseholdContext) => {
      const idNumbers = requireIdentifierList('idNumbers', args.idNumbers, maxCitizensPerRequest);
      const rows = await loaders.person.loadMany(idNumbers);
      return rows.map((row) => {
        if (row instanceof Error) throw row;
        return citizenIfKnown(row);
      });
    },
  },
  Citizen: {
    __resolveReference: (ref: CitizenRef): CitizenRef => ({ idNumber: ref.idNumber }),
    identity: async ({ idNumber }: CitizenRef, _: unknown, { loaders }: HouseholdContext) => {
      const person = await loaders.person.load(idNumber);
      if (!person) return null;
      return {
        name: person.name,
        gender: person.gender,
        birthDate: person.birthDate,
        ethnicity: person.ethnicity,
        nativePlace: person.nativePlace,
        provenance: provenance('household', AUTHORITY, person.updatedAt),
      };
    },
    household: async ({ idNumber }: CitizenRef, _: unknown, { loaders }: HouseholdContext) => {
      const person = await loaders.person.load(idNumber);
      if (!person?.householdNumber) return null;
      return loaders.household.load(person.householdNumber);
    },
    inSameHouseholdAs: async ({ idNumber }: CitizenRef, args: { idNumber: unknown; relation: string }, { loaders, now }: HouseholdContext) => {
      const otherIdNumber = requireIdentifier('idNumber', args.idNumber);
      const [self, other] = await Promise.all([loaders.person.load(idNumber), loaders.person.load(otherIdNumber)]);
      const holds = Boolean(
        self?.householdNumber && self.relation && other?.relation && self.idNumber !== other.idNumber
          && self.householdNumber === other.householdNumber && relationBetween(self.relation, other.relation) === args.relation,
      );
      return verification('household', holds, now());
    },
  },
  Household: {
    address: (household: HouseholdRow) => address(household),
    head: (household: HouseholdRow): CitizenRef => ({ idNumber: household.headIdNumber }),
    members: async (household: HouseholdRow, _: unknown, { loaders }: HouseholdContext) => {
      const members = await loaders.members.load(household.householdNumber);
      return [...members].sort(byBookletOrder).map((member) => ({
        citizen: { idNumber: member.idNumber },
        relation: member.relation,
      }));
    },
    provenance: (household: HouseholdRow) => provenance('household', AUTHORITY, household.updatedAt),
  },
};

function citizenIfKnown(person: PersonRow | null): CitizenRef | null {
  return person ? { idNumber: person.idNumber } : null;
}

function byBookletOrder(a: PersonRow, b: PersonRow): number {
  const byRelation = RELATION_ORDER.indexOf(a.relation ?? 'OTHER') - RELATION_ORDER.indexOf(b.relation ?? 'OTHER');
  return byRelation !== 0 ? byRelation : a.birthDate.localeCompare(b.birthDate) || a.idNumber.localeCompare(b.idNumber);
}
