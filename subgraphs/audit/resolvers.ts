import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import type { StoredRecord } from '../../audit/entry';
import { AuditQueryError } from '../../audit/errors';
import { reviewRecords } from '../../audit/review';
import { verifyChains } from '../../audit/verify';
import { badUserInput } from '../../lib/error-codes';
import type { AuditContext } from './index';

interface AuditRecordsArgs {
  idNumber?: string | null;
  application?: string | null;
  officer?: string | null;
  serviceItem?: string | null;
  caseNumber?: string | null;
  outcome?: 'OK' | 'PARTIAL' | 'REFUSED' | 'ERROR' | null;
  from?: string | null;
  to?: string | null;
  first?: number | null;
  after?: string | null;
}

export const resolvers: GraphQLResolverMap<AuditContext> = {
  Query: {
    auditRecords: async (_: unknown, args: AuditRecordsArgs, { store }: AuditContext) => {
      try {
        return await reviewRecords(store, {
          citizen: args.idNumber,
          application: args.application,
          officer: args.officer,
          serviceItem: args.serviceItem,
          caseNumber: args.caseNumber,
          outcome: args.outcome?.toLowerCase(),
          from: args.from,
          to: args.to,
          first: args.first,
          after: args.after,
        });
      } catch (error) {
        // Messages of AuditQueryError are written for the auditor ("first must be 1 to 100, got 500").
        if (error instanceof AuditQueryError) throw badUserInput(error.message);
        throw error;
      }
    },
    auditChains: async (_: unknown, __: unknown, { store, trustedKeys, verifyOptions }: AuditContext) => verifyChains(store, trustedKeys, await verifyOptions()),
  },
  AuditRecord: {
    outcome: (record: StoredRecord) => record.outcome.toUpperCase(),
  },
};
