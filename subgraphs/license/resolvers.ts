import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { requireIdentifier } from '../shared/arguments';
import { address, provenance, verification } from '../shared/provenance';
import type { LicenseContext } from './index';
import type { BusinessRow, LicenceKind, LicenceRow } from './registry';

/** Businesses are registered by Market Regulation; each licence names its own issuing department. */
export const BUSINESS_AUTHORITY = '杭州市市场监督管理局';

type CitizenRef = { idNumber: string };

export const resolvers: GraphQLResolverMap<LicenseContext> = {
  Query: {
    business: (_: unknown, args: { creditCode: unknown }, { loaders }: LicenseContext) =>
      loaders.business.load(requireIdentifier('creditCode', args.creditCode)),
  },
  Citizen: {
    __resolveReference: (ref: CitizenRef): CitizenRef => ({ idNumber: ref.idNumber }),
    licences: async ({ idNumber }: CitizenRef, _: unknown, { loaders }: LicenseContext) =>
      [...(await loaders.licencesByHolder.load(idNumber))].sort(byIssueDate),
    // A licence past its end date counts as expired even while its registry row still says ACTIVE.
    holdsActiveLicence: async ({ idNumber }: CitizenRef, { kind }: { kind: LicenceKind }, { loaders, today, now }: LicenseContext) => {
      const licences = await loaders.licencesByHolder.load(idNumber);
      const holds = licences.some((licence) => licence.kind === kind && licence.status === 'ACTIVE' && (licence.validUntil === null || licence.validUntil >= today()));
      return verification('license', holds, now());
    },
  },
  Licence: {
    business: (licence: LicenceRow, _: unknown, { loaders }: LicenseContext) =>
      licence.businessCreditCode ? loaders.business.load(licence.businessCreditCode) : null,
    provenance: (licence: LicenceRow) => provenance('license', licence.issuingDepartment, licence.updatedAt),
  },
  Business: {
    __resolveReference: (ref: { creditCode: string }, { loaders }: LicenseContext) => loaders.business.load(ref.creditCode),
    address: (business: BusinessRow) => address(business),
    legalRepresentative: (business: BusinessRow): CitizenRef => ({ idNumber: business.legalRepresentativeIdNumber }),
    licences: async (business: BusinessRow, _: unknown, { loaders }: LicenseContext) =>
      [...(await loaders.licencesByBusiness.load(business.creditCode))].sort(byIssueDate),
    provenance: (business: BusinessRow) => provenance('license', BUSINESS_AUTHORITY, business.updatedAt),
  },
};

function byIssueDate(a: LicenceRow, b: LicenceRow): number {
  return a.issuedOn.localeCompare(b.issuedOn) || a.number.localeCompare(b.number);
}
