import type { ProofCatalog } from '../../lib/catalog';
import { FOLLOW_UP_OPERATION, followUpRead } from '../../lib/proof-reads';
import type { ProofReader } from './reads';
import type { CommitmentRow, CommitmentState, CommitmentStore } from './registry';

export interface FollowUpDependencies {
  store: CommitmentStore;
  catalog: ProofCatalog;
  reader: ProofReader;
  /** A bearer token for the bureau itself (role service, every catalog item), asked for once per run. */
  credential: () => Promise<string>;
}

export interface FollowUpSummary {
  /** PENDING commitments looked at. */
  checked: number;
  fulfilled: number;
  breached: number;
  /** Checked, not holding yet, deadline still ahead. */
  pending: number;
  /** Not checked this time (a department down, a refusal): still PENDING, checked again next run. */
  unchecked: number;
  /** Why commitments went unchecked, each reason once; no personal data. */
  problems: string[];
}

/**
 * The follow-up job: re-checks every PENDING commitment with the department holding the
 * fact, through the gateway, under the commitment's own service item and case, so the check
 * is purpose-bound and audited like an officer's. FULFILLED when the check holds, BREACHED
 * when it does not and the deadline has passed, PENDING otherwise. A check that cannot be
 * made leaves the commitment PENDING, even past its deadline: a department being down is
 * never the applicant's breach.
 */
export async function verifyDueCommitments(dependencies: FollowUpDependencies, now: Date): Promise<FollowUpSummary> {
  const due = await dependencies.store.readPending();
  const summary: FollowUpSummary = { checked: due.length, fulfilled: 0, breached: 0, pending: 0, unchecked: 0, problems: [] };
  if (due.length === 0) return summary;
  const authorization = `Bearer ${await dependencies.credential()}`;
  const problems = new Set<string>();
  for (const commitment of due) {
    const result = await followUpState(commitment, dependencies, authorization, now);
    if (typeof result === 'object') {
      summary.unchecked += 1;
      problems.add(result.problem);
      continue;
    }
    await dependencies.store.recordFollowUp(commitment.id, result, now.toISOString());
    if (result === 'FULFILLED') summary.fulfilled += 1;
    else if (result === 'BREACHED') summary.breached += 1;
    else summary.pending += 1;
  }
  summary.problems = [...problems];
  return summary;
}

async function followUpState(commitment: CommitmentRow, dependencies: FollowUpDependencies, authorization: string, now: Date): Promise<CommitmentState | { problem: string }> {
  const proof = dependencies.catalog.items.get(commitment.serviceItem)?.proofs.find((candidate) => candidate.code === commitment.proofCode);
  if (proof?.mode !== 'COMMITMENT') {
    return { problem: `proof ${commitment.proofCode} of service item ${commitment.serviceItem} no longer takes commitments in the catalog: an officer must decide` };
  }
  const read = followUpRead(dependencies.reader.schema, proof, commitment.applicant);
  const headers = { authorization, 'x-service-item': commitment.serviceItem, 'x-case-number': commitment.caseNumber };
  let outcome;
  try {
    outcome = (await dependencies.reader.read(FOLLOW_UP_OPERATION, [read], headers)).get(read.alias);
  } catch (error) {
    return { problem: `the gateway refused the follow-up check: ${(error as Error).message}` };
  }
  if (!outcome || outcome.kind === 'unavailable') {
    // A department's failure names the department; the gateway's own says why (a refused connection, a bad port).
    if (!outcome?.departments.length) return { problem: outcome?.reason ?? 'the gateway could not answer' };
    return { problem: `the ${outcome.departments.join(' and ')} department could not answer` };
  }
  const answer = outcome.citizen?.[proof.followUp.field] as { holds: boolean } | null | undefined;
  // A null check (it is nullable for a department's failure) is no answer, never the applicant's breach.
  if (answer === null) return { problem: `the ${dependencies.reader.holdingDepartments(read).join(' and ')} department could not answer` };
  if (answer?.holds) return 'FULFILLED';
  return now.getTime() > Date.parse(commitment.followUpDeadline) ? 'BREACHED' : 'PENDING';
}

/** One line for the process log and `npm run commitments:verify`. */
export function describeFollowUp(summary: FollowUpSummary): string {
  return `commitments checked: ${summary.checked} (${summary.fulfilled} fulfilled, ${summary.breached} breached, ${summary.pending} still pending, ${summary.unchecked} not checked)`;
}

/**
 * Runs the follow-up every `intervalSeconds` in the service process (0: never), one run at
 * a time; returns what stops it. The first run comes one interval after start, when the
 * gateway is surely up.
 */
export function scheduleFollowUps(dependencies: FollowUpDependencies, intervalSeconds: number, clock: () => Date = () => new Date()): () => void {
  if (intervalSeconds === 0) return () => undefined;
  let isRunning = false;
  const timer = setInterval(() => {
    if (isRunning) return;
    isRunning = true;
    verifyDueCommitments(dependencies, clock())
      .then(
        (summary) => {
          if (summary.checked > 0) console.log(`service: ${describeFollowUp(summary)}`);
          for (const problem of summary.problems) console.warn(`service: commitment follow-up: ${problem}`);
        },
        (error: Error) => console.error(`service: the commitment follow-up failed: ${error.message}`),
      )
      .finally(() => {
        isRunning = false;
      });
  }, intervalSeconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
