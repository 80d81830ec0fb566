import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { GraphQLError, GraphQLScalarType, valueFromASTUntyped } from 'graphql';
import type { StoredRecord } from '../../audit/entry';
import { checkTrafficPeriod, DepartmentLogUnreadableError } from '../../audit/department-traffic';
import { AuditQueryError, VerificationPendingError } from '../../audit/errors';
import { INSTANT_EXAMPLE } from '../../audit/instant';
import { recordsOfRequest, reviewRecords } from '../../audit/review';
import type { SignedCheckpoint } from '../../audit/store';
import { badUserInput, ErrorCode } from '../../lib/error-codes';
import { DateTimeScalar } from '../shared/scalars';
import type { AuditContext } from './index';
import { arrived } from '../../lib/arrived';

interface AuditRecordsArgs {
  idNumber?: string | null;
  application?: string | null;
  officer?: string | null;
  serviceItem?: string | null;
  caseNumber?: string | null;
  outcome?: 'OK' | 'PARTIAL' | 'REFUSED' | 'ERROR' | null;
  /** As the auditor wrote it: AuditDateTime leaves the checking to auditRecords. */
  from?: unknown;
  to?: unknown;
  first?: number | null;
  after?: string | null;
}

/**
 * DateTime as every department writes it, but read as the auditor wrote it, whatever it
 * is, for auditRecords to check (audit/review.ts). The shared scalar refuses a malformed
 * literal while the document is validated, and Apollo Server answers that HTTP 400
 * GRAPHQL_VALIDATION_FAILED with a message that names no argument; the gateway took it
 * for the department failing, so five auditors' typos opened the audit department's
 * circuit. Checked by the resolver, it is a BAD_USER_INPUT naming the argument:
 * `from must be an ISO instant such as 2024-06-01T09:30:00Z, got "not-a-date"`.
 */
const AuditDateTime = new GraphQLScalarType({
  ...DateTimeScalar.toConfig(),
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

export const resolvers: GraphQLResolverMap<AuditContext> = {
  DateTime: AuditDateTime,
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
          from: instantText('from', args.from),
          to: instantText('to', args.to),
          first: args.first,
          after: args.after,
        });
      } catch (error) {
        // Messages of AuditQueryError are written for the auditor ("first must be 1 to 100, got 500").
        if (error instanceof AuditQueryError) throw badUserInput(error.message);
        throw error;
      }
    },
    auditReceipt: async (_: unknown, { requestId }: { requestId: string }, { store }: AuditContext) => {
      try {
        const records = await recordsOfRequest(store, requestId);
        return records.length === 0 ? null : { requestId, records };
      } catch (error) {
        if (error instanceof AuditQueryError) throw badUserInput(error.message);
        throw error;
      }
    },
    departmentTraffic: async (_: unknown, args: { department: string; from: unknown; to: unknown }, { departments, readTraffic }: AuditContext) => {
      if (!departments.includes(args.department)) {
        throw badUserInput(`department must be one of ${departments.join(', ')} (schema/departments.json), got ${arrived(args.department)}`);
      }
      let period: { from: string; to: string };
      try {
        period = checkTrafficPeriod(args.from, args.to);
      } catch (error) {
        if (error instanceof AuditQueryError) throw badUserInput(error.message);
        throw error;
      }
      try {
        return await readTraffic(args.department, period);
      } catch (error) {
        // The cause (a path, a host, a role) stays in this process: the auditor learns which log and that it failed.
        if (error instanceof DepartmentLogUnreadableError) {
          throw new GraphQLError(error.message, { extensions: { code: ErrorCode.DEPARTMENT_LOG_UNREADABLE } });
        }
        throw error;
      }
    },
    auditChains: async (_: unknown, __: unknown, { verifier }: AuditContext) => {
      try {
        const { verifiedAt, results } = await verifier.latest();
        return results.map((chain) => ({ ...chain, verifiedAt }));
      } catch (error) {
        if (error instanceof VerificationPendingError) {
          throw new GraphQLError(error.message, { extensions: { code: ErrorCode.AUDIT_VERIFICATION_PENDING } });
        }
        throw error;
      }
    },
  },
  AuditRecord: {
    outcome: (record: StoredRecord) => record.outcome.toUpperCase(),
    // The gateway's record of its calls; a department's access-log evidence is not served here.
    exchange: (record: StoredRecord) => (record.exchange?.kind === 'gateway-calls' ? record.exchange : null),
  },
  AuditLogCheckpoint: {
    previousSequence: (checkpoint: SignedCheckpoint) => checkpoint.previous?.sequence ?? null,
    previousDigest: (checkpoint: SignedCheckpoint) => checkpoint.previous?.digest ?? null,
  },
};

/** A time filter as audit/review.ts reads it, text; anything else (a number, a list) is refused as review.ts refuses malformed text. */
function instantText(name: string, value: unknown): string | null | undefined {
  if (value === undefined || value === null || typeof value === 'string') return value;
  throw badUserInput(`${name} must be an ISO instant such as ${INSTANT_EXAMPLE}, got ${arrived(value)}`);
}
