import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { badUserInput } from '../../lib/error-codes';
import { JSONScalar } from '../shared/scalars';
import { resolveProofChecklist, type ProofChecklistArguments } from './checklist';
import { recordCommitment, type RecordCommitmentInput } from './commitments';
import type { ServiceContext } from './index';
import type { CommitmentRow } from './registry';

const MAX_PAGE_SIZE = 100;

export const resolvers: GraphQLResolverMap<ServiceContext> = {
  JSON: JSONScalar,
  Query: {
    proofChecklist: (_: unknown, args: ProofChecklistArguments, context: ServiceContext) => resolveProofChecklist(args, context),
    breachedCommitments: async (_: unknown, args: { first: number; after?: string | null }, { store }: ServiceContext) => {
      if (args.first < 1 || args.first > MAX_PAGE_SIZE) throw badUserInput(`first must be from 1 to ${MAX_PAGE_SIZE}, got ${args.first}`);
      const rows = await store.readBreached(args.after ? idFromCursor(args.after) : 0, args.first + 1);
      const commitments = rows.slice(0, args.first);
      const last = commitments.at(-1);
      return { commitments, endCursor: last ? cursorOf(last) : null, hasNextPage: rows.length > args.first };
    },
  },
  Mutation: {
    recordCommitment: (_: unknown, { input }: { input: RecordCommitmentInput }, context: ServiceContext) => recordCommitment(input, context),
  },
  Commitment: {
    id: (commitment: CommitmentRow) => String(commitment.id),
    proof: (commitment: CommitmentRow) => commitment.proofCode,
  },
};

/** Cursors are opaque to callers, so the paging key can change without breaking them. */
function cursorOf(commitment: CommitmentRow): string {
  return Buffer.from(`commitment:${commitment.id}`).toString('base64url');
}

function idFromCursor(cursor: string): number {
  const match = /^commitment:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw badUserInput('after must be the endCursor of an earlier page of breachedCommitments');
  return Number(match[1]);
}
