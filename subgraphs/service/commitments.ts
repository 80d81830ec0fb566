import { badUserInput, forbidden } from '../../lib/error-codes';
import { requireIdNumber } from '../shared/arguments';
import { requirePurpose } from './arguments';
import type { ServiceContext } from './index';
import { DuplicateCommitmentError, type CommitmentRow } from './registry';
import { arrived } from '../../lib/arrived';

export interface RecordCommitmentInput {
  serviceItem: string;
  proof: string;
  applicant: unknown;
  statement: string;
}

const MAX_STATEMENT_LENGTH = 2000;
const DAY_MS = 86_400_000;

/**
 * Records a commitment (告知承诺) for one proof of the case in X-Case-Number, signed now,
 * due to be checked by the catalog's deadline. 国办发〔2020〕42号: never for a high-risk
 * item, never from an applicant who breached an earlier commitment.
 */
export async function recordCommitment(input: RecordCommitmentInput, context: ServiceContext): Promise<CommitmentRow> {
  const { item, caseNumber } = requirePurpose(context, input.serviceItem);
  if (item.highRisk) throw forbidden(`service item ${item.code} is high-risk: it accepts no commitments (国办发〔2020〕42号)`);
  const proof = item.proofs.find((candidate) => candidate.code === input.proof);
  if (!proof) throw badUserInput(`proof must be one of service item ${item.code}'s proofs (${item.proofs.map((candidate) => candidate.code).join(', ')}), got ${arrived(input.proof)}`);
  if (proof.mode !== 'COMMITMENT') throw badUserInput(`proof ${proof.code} of service item ${item.code} is satisfied by ${proof.mode}, not by a commitment`);
  const applicant = requireIdNumber('input.applicant', input.applicant);
  const statement = input.statement.trim();
  if (statement.length === 0 || statement.length > MAX_STATEMENT_LENGTH) {
    throw badUserInput(`statement must be the text the applicant signed, 1 to ${MAX_STATEMENT_LENGTH} characters, got ${statement.length}`);
  }
  if ((await context.loaders.breachesByApplicant.load(applicant)).length > 0) {
    throw forbidden('the applicant breached an earlier commitment, so no commitment is accepted (国办发〔2020〕42号): the case needs the paper proof');
  }
  const signedAt = context.clock();
  try {
    return await context.store.insert({
      serviceItem: item.code,
      caseNumber,
      proofCode: proof.code,
      applicant,
      statement,
      signedAt: signedAt.toISOString(),
      followUpDeadline: new Date(signedAt.getTime() + proof.deadlineDays * DAY_MS).toISOString(),
    });
  } catch (error) {
    if (error instanceof DuplicateCommitmentError) throw badUserInput(`case ${caseNumber} already has a commitment for proof ${proof.code}`);
    throw error;
  }
}
