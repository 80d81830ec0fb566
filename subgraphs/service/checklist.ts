import type { CheckArgument, CommitmentProof, Proof, ProofMode, RelatedRole, ServiceItem } from '../../lib/catalog';
import { badUserInput } from '../../lib/error-codes';
import { CHECKLIST_OPERATION, checklistReads, followUpRead, type ProofRead } from '../../lib/proof-reads';
import { requireIdNumber } from '../shared/arguments';
import { requirePurpose } from './arguments';
import type { ServiceContext } from './index';
import type { ReadOutcome } from './reads';
import type { CommitmentRow } from './registry';

export type ProofStatus = 'NOT_REQUIRED' | 'SATISFIED' | 'NOT_SATISFIED' | 'COMMITMENT_AVAILABLE' | 'COMMITTED' | 'UNAVAILABLE';

export interface ProofChecklistArguments {
  serviceItem: string;
  applicant: unknown;
  related?: readonly { idNumber: unknown; role: RelatedRole }[] | null;
}

interface Verification {
  holds: boolean;
  department: string;
  checkedAt: string;
}

/** One proof of a checklist, in the shape of the `ChecklistProof` type. */
export interface ChecklistProof {
  code: string;
  name: string;
  mode: ProofMode;
  status: ProofStatus;
  concerns: RelatedRole | null;
  facts: Record<string, unknown> | null;
  verification: Verification | null;
  commitment: CommitmentRow | null;
  remedy: string | null;
}

/**
 * 一次性告知: a service item's proofs for one applicant, answered in one request. Every
 * DATA_SHARING proof's facts and every VERIFICATION proof's check go to the gateway in one
 * operation (a root field per proof, aliased by its code), under the caller's own token
 * and purpose headers, so the gateway checks and audits exactly what the catalog lists.
 * CANCELLED proofs read nothing; COMMITMENT proofs read only the bureau's own store.
 */
export async function resolveProofChecklist(args: ProofChecklistArguments, context: ServiceContext) {
  const { item, caseNumber } = requirePurpose(context, args.serviceItem);
  const applicant = requireIdNumber('applicant', args.applicant);
  const related = relatedPeople(item, args.related ?? []);
  const idOf = (person: 'APPLICANT' | RelatedRole) => (person === 'APPLICANT' ? applicant : (related.get(person) as string));
  const reads = new Map(checklistReads(context.reader.schema, item, idOf).map((read) => [read.alias, read]));
  const takesCommitments = item.proofs.some((proof) => proof.mode === 'COMMITMENT');
  const [outcomes, caseCommitments, breaches] = await Promise.all([
    context.reader.read(CHECKLIST_OPERATION, [...reads.values()], context.forwarded, context.requestId),
    takesCommitments ? context.loaders.commitmentsByCase.load(caseNumber) : [],
    takesCommitments ? context.loaders.breachesByApplicant.load(applicant) : [],
  ]);
  const proofs = item.proofs.map((proof): ChecklistProof => {
    const base = { code: proof.code, name: proof.name, mode: proof.mode, concerns: 'concerns' in proof ? proof.concerns : null, facts: null, verification: null, commitment: null, remedy: null };
    if (proof.mode === 'CANCELLED') return { ...base, status: 'NOT_REQUIRED' };
    if (proof.mode === 'COMMITMENT') {
      const commitment = caseCommitments.find((row) => row.serviceItem === item.code && row.proofCode === proof.code && row.applicant === applicant);
      const followUp = followUpRead(context.reader.schema, proof, applicant);
      return { ...base, ...commitmentStatus(proof, commitment, breaches.length > 0, context.reader.holdingDepartments(followUp)) };
    }
    const read = reads.get(proof.code) as ProofRead;
    const outcome = outcomes.get(proof.code) as ReadOutcome;
    if (outcome.kind === 'unavailable') return { ...base, status: 'UNAVAILABLE', remedy: unavailableRemedy(proof, outcome.departments) };
    if (outcome.citizen === null) return { ...base, status: 'NOT_SATISFIED', remedy: `no registry knows this person: bring the paper proof (${proof.name})` };
    const holders = context.reader.holdingDepartments(read).join(' and ');
    if (proof.mode === 'DATA_SHARING') {
      // A fact the department holds no record of comes back null; an empty list is an answer (no licences).
      const isHeld = Object.values(outcome.citizen).every((fact) => fact !== null);
      const remedy = isHeld ? null : `the ${holders} department holds no record for this proof: bring the paper proof (${proof.name}), or have the ${holders} department correct its registry`;
      return { ...base, status: isHeld ? 'SATISFIED' : 'NOT_SATISFIED', facts: outcome.citizen, remedy };
    }
    const answer = outcome.citizen[proof.check.field] as Verification | null;
    // The check is nullable so that a failing department loses only its own answer; null is no answer, whatever came with it.
    if (!answer) return { ...base, status: 'UNAVAILABLE', remedy: unavailableRemedy(proof, context.reader.holdingDepartments(read)) };
    const remedy = answer.holds ? null : `the ${holders} department's check does not hold: bring the paper proof (${proof.name}), or have the ${holders} department correct its registry if it is wrong`;
    return { ...base, status: answer.holds ? 'SATISFIED' : 'NOT_SATISFIED', verification: answer, remedy };
  });
  return {
    serviceItem: item.code,
    name: item.name,
    department: item.department,
    highRisk: item.highRisk,
    caseNumber,
    isComplete: proofs.every((proof) => proof.status === 'NOT_REQUIRED' || proof.status === 'SATISFIED' || (proof.status === 'COMMITTED' && proof.commitment?.state !== 'BREACHED')),
    proofs,
  };
}

/** The related persons by role; each role the item's proofs need must be there, once. */
function relatedPeople(item: ServiceItem, related: readonly { idNumber: unknown; role: RelatedRole }[]): Map<RelatedRole, string> {
  const people = new Map<RelatedRole, string>();
  related.forEach((person, index) => {
    if (people.has(person.role)) throw badUserInput(`related may name each role once, got ${person.role} twice`);
    people.set(person.role, requireIdNumber(`related[${index}].idNumber`, person.idNumber));
  });
  for (const proof of item.proofs) {
    for (const role of rolesNeeded(proof)) {
      if (!people.has(role)) {
        const given = related.length === 0 ? 'none' : related.map((person) => person.role).join(', ');
        throw badUserInput(`proof ${proof.code} of service item ${item.code} concerns the applicant's ${role}: related must name them, got ${given}`);
      }
    }
  }
  return people;
}

function rolesNeeded(proof: Proof): RelatedRole[] {
  if (proof.mode !== 'DATA_SHARING' && proof.mode !== 'VERIFICATION') return [];
  const persons = proof.mode === 'VERIFICATION' ? Object.values(proof.check.arguments).flatMap(personOf) : [];
  return [...new Set([proof.concerns, ...persons].filter((role): role is RelatedRole => role !== null && role !== 'APPLICANT'))];
}

function personOf(argument: CheckArgument): ('APPLICANT' | RelatedRole)[] {
  return typeof argument === 'object' ? [argument.person] : [];
}

/**
 * A COMMITMENT proof's status: COMMITTED once this case has one; otherwise offered unless
 * the applicant breached an earlier commitment (国办发〔2020〕42号: no further commitments).
 */
function commitmentStatus(proof: CommitmentProof, commitment: CommitmentRow | undefined, hasBreached: boolean, holders: string[]) {
  if (commitment) {
    const remedy = commitment.state === 'BREACHED' ? `the commitment was breached: bring the paper proof (${proof.name})` : null;
    return { status: 'COMMITTED' as const, commitment, remedy };
  }
  if (hasBreached) {
    return { status: 'NOT_SATISFIED' as const, remedy: `the applicant breached an earlier commitment, so none is offered (国办发〔2020〕42号): bring the paper proof (${proof.name})` };
  }
  const remedy = `the applicant may sign a commitment (告知承诺) instead of ${proof.name}; the ${holders.join(' and ')} department checks it within ${proof.deadlineDays} days`;
  return { status: 'COMMITMENT_AVAILABLE' as const, remedy };
}

function unavailableRemedy(proof: Proof, departments: string[]): string {
  const who = departments.length > 0 ? `the ${departments.join(' and ')} department` : 'the departments';
  return `${who} could not answer: ask again later, or bring the paper proof (${proof.name})`;
}
