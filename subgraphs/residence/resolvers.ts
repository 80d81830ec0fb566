import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { badUserInput } from '../../lib/error-codes';
import { address, provenance, verification } from '../shared/provenance';
import type { ResidenceContext } from './index';
import type { ResidencePeriodRow, ResidencePermitRow } from './registry';
import { monthsBefore, stayStart } from './stays';
import { arrived } from '../../lib/arrived';

export const AUTHORITY = '杭州市公安局流动人口服务管理支队';

type CitizenRef = { idNumber: string };

export const resolvers: GraphQLResolverMap<ResidenceContext> = {
  Citizen: {
    __resolveReference: (ref: CitizenRef): CitizenRef => ({ idNumber: ref.idNumber }),
    residence: async ({ idNumber }: CitizenRef, _: unknown, { loaders, today }: ResidenceContext) => {
      const [periods, permits] = await Promise.all([loaders.periods.load(idNumber), loaders.permits.load(idNumber)]);
      const current = periods.find((period) => period.toDate === null);
      if (!current) return null;
      const permit = latestPermit(permits);
      return {
        address: address(current),
        registeredSince: current.fromDate,
        permitNumber: permit?.permitNumber ?? null,
        permitValidUntil: permit?.validUntil ?? null,
        status: residenceStatus(current, permit, today()),
        provenance: provenance('residence', AUTHORITY, latestUpdate(current, permit)),
      };
    },
    residenceHistory: async ({ idNumber }: CitizenRef, _: unknown, { loaders }: ResidenceContext) => {
      const periods = await loaders.periods.load(idNumber);
      return [...periods]
        .sort((a, b) => b.fromDate.localeCompare(a.fromDate))
        .map((period) => ({
          address: address(period),
          from: period.fromDate,
          to: period.toDate,
          provenance: provenance('residence', AUTHORITY, period.updatedAt),
        }));
    },
    residesIn: async ({ idNumber }: CitizenRef, args: { division: string; forAtLeastMonths: number }, { loaders, today, now }: ResidenceContext) => {
      const division = requireDivision(args.division);
      const months = requireMonths(args.forAtLeastMonths);
      const since = stayStart(await loaders.periods.load(idNumber), division);
      return verification('residence', since !== null && since <= monthsBefore(today(), months), now());
    },
  },
};

const DIVISION = /^\d{2}(\d{2}){0,2}$/;
const MAX_MONTHS = 1200;

function requireDivision(division: string): string {
  if (!DIVISION.test(division)) throw badUserInput(`division must be a GB/T 2260 code of 2, 4 or 6 digits (33, 3301, 330106), got ${arrived(division)}`);
  return division;
}

function requireMonths(months: number): number {
  if (months < 0 || months > MAX_MONTHS) throw badUserInput(`forAtLeastMonths must be from 0 to ${MAX_MONTHS}, got ${months}`);
  return months;
}

function latestPermit(permits: ResidencePermitRow[]): ResidencePermitRow | undefined {
  return permits.reduce<ResidencePermitRow | undefined>((latest, permit) => (!latest || permit.issuedOn > latest.issuedOn ? permit : latest), undefined);
}

/**
 * A local living at their household address needs no permit; a migrant is REGISTERED
 * until a permit is issued, then PERMIT_VALID or PERMIT_EXPIRED against today's date
 * (computed at read time: a permit expires without its row changing).
 */
function residenceStatus(current: ResidencePeriodRow, permit: ResidencePermitRow | undefined, today: string) {
  if (current.kind === 'HOUSEHOLD_ADDRESS') return 'HOUSEHOLD_ADDRESS';
  if (!permit) return 'REGISTERED';
  return permit.validUntil >= today ? 'PERMIT_VALID' : 'PERMIT_EXPIRED';
}

function latestUpdate(period: ResidencePeriodRow, permit: ResidencePermitRow | undefined): string {
  return permit && permit.updatedAt > period.updatedAt ? permit.updatedAt : period.updatedAt;
}
