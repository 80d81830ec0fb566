import { parse } from 'graphql';
import { documentHash } from '../lib/document-hash';
import type { StoredRecord } from './entry';
import { READINESS_PROBE_QUERY, type DepartmentAnswerEvidence, type DepartmentCallEvidence, type DepartmentReceipt } from './exchange';
import { sha256Hex } from './receipt';

/**
 * Reconciliation (issue 18): the gateway's records and the departments' access logs of
 * one period, compared exchange by exchange. Pure: records in, findings out; the command
 * (scripts/audit-reconcile.ts) reads the stores.
 *
 * A department's record of an answer and the gateway's record of the call are the same
 * exchange when they share the request ID, the department, and the request digest: the
 * department's `requestDigest`, the receipt's, and the SHA-256 of the signature base the
 * gateway signed are one value. Then the receipt must name the department's record
 * (chain and sequence), and both sides must agree on the digests, the purpose
 * (application, officer, service item, case number) and the citizens.
 *
 * What is on one side only and is expected there:
 *  - a department's refusal before it verified a signature (gatewayKeyId null): the
 *    request may not have come from the gateway at all; such refusals are recorded in
 *    aggregate (one record, `requests` of them) and counted by their requests;
 *  - a gateway record that called no department (refused at the gateway, or answered from
 *    its cache);
 *  - a record of a witnessed checkpoint: not an exchange;
 *  - a department's answer to the gateway's readiness probe (READINESS_PROBE_QUERY), which
 *    the gateway does not record: recognised by its document's hash, and only when it
 *    disclosed nothing (no coordinate, no citizen), so nothing that read a citizen can
 *    pass for one;
 *  - a department's answer the gateway recorded as a failed call (unavailable, timed out,
 *    receipt invalid) without a receipt: the department answered, the answer never
 *    arrived; reported as explained.
 *
 * Findings name sides, chains, sequences and request IDs only, never a citizen.
 */

export interface ReconcileInput {
  /** The period: from <= time < to, ISO instants (toISOString form). */
  from: string;
  to: string;
  /**
   * The gateway's records and the departments' records of the period, widened on both
   * sides by the slack (a request near an edge is recorded on each side at a slightly
   * different time), plus any department record a receipt names, wherever its time is.
   * Only records inside the period are reported on; the rest are there to be matched.
   */
  gatewayRecords: readonly StoredRecord[];
  departmentRecords: ReadonlyMap<string, readonly StoredRecord[]>;
}

export interface Finding {
  /** True for a difference with a known, innocent cause (printed as EXPLAINED); false for a mismatch. */
  isExplained: boolean;
  text: string;
}

export interface Reconciliation {
  findings: Finding[];
  /** Department answers in the period matched with a gateway call and its receipt. */
  matched: number;
  /** Department refusals before signature verification in the period: the department's alone. */
  refusedBeforeVerification: number;
  /** Gateway records in the period that called none of the departments compared. */
  gatewayOnly: number;
  /** Department records in the period that are witnessed checkpoints. */
  witnessRecords: number;
  /** Department answers in the period to the gateway's readiness probe that the gateway has no record of, as expected. */
  readinessProbes: number;
}

/**
 * How far a department's record may be dated from the receipt it signed for it: the record
 * is dated when the request arrived, the receipt once it was logged, and the gateway takes
 * no receipt further than 5 minutes from its own clock either.
 */
const RECEIPT_TIME_TOLERANCE_MS = 300_000;

/** The call failures that mean the answer never arrived (or arrived without a receipt that verifies). */
const FAILURES_EXPLAINED = ['DEPARTMENT_UNAVAILABLE', 'DEPARTMENT_TIMEOUT', 'DEPARTMENT_RECEIPT_INVALID'];

interface GatewayCall {
  record: StoredRecord;
  call: DepartmentCallEvidence;
  requestDigest: string;
}

const at = (record: StoredRecord) => `record ${record.sequence} of chain ${record.chainId}`;
const isInPeriod = (record: StoredRecord, input: ReconcileInput) => record.time >= input.from && record.time < input.to;

/** The hash a department's log gives the readiness probe's document (lib/document-hash.ts, as access-log-notes.ts records it). */
const READINESS_PROBE_HASH = documentHash(parse(READINESS_PROBE_QUERY));

/** A department's record of the gateway's readiness probe: its document, and nothing disclosed. */
function isReadinessProbe(record: StoredRecord): boolean {
  return record.documentHash === READINESS_PROBE_HASH && record.coordinates.length === 0 && record.citizens.length === 0;
}

export function reconcile(input: ReconcileInput): Reconciliation {
  const result: Reconciliation = { findings: [], matched: 0, refusedBeforeVerification: 0, gatewayOnly: 0, witnessRecords: 0, readinessProbes: 0 };
  const mismatch = (text: string) => result.findings.push({ isExplained: false, text });
  const departments = new Set(input.departmentRecords.keys());

  const gatewayByRequest = new Map<string, StoredRecord[]>();
  const callsByKey = new Map<string, GatewayCall[]>();
  for (const record of input.gatewayRecords) {
    gatewayByRequest.set(record.requestId, [...(gatewayByRequest.get(record.requestId) ?? []), record]);
    for (const call of callsOf(record)) {
      const requestDigest = sha256Hex(call.signatureBase);
      const key = exchangeKey(record.requestId, call.department, requestDigest);
      callsByKey.set(key, [...(callsByKey.get(key) ?? []), { record, call, requestDigest }]);
    }
  }
  const departmentByPlace = new Map<string, StoredRecord>();
  for (const records of input.departmentRecords.values()) for (const record of records) departmentByPlace.set(`${record.chainId}\n${record.sequence}`, record);

  // The departments' side: every answer in the period must be the gateway's call.
  for (const [department, records] of input.departmentRecords) {
    for (const record of records) {
      if (!isInPeriod(record, input)) continue;
      const evidence = record.exchange;
      if (evidence?.kind === 'witnessed-checkpoint') {
        result.witnessRecords += 1;
        continue;
      }
      if (evidence?.kind !== 'department-answer') {
        mismatch(`department ${department}'s ${at(record)} (request ${record.requestId}) holds no evidence of an answer: it is not a record a department writes`);
        continue;
      }
      if (evidence.department !== department) {
        mismatch(`department ${department}'s ${at(record)} (request ${record.requestId}) is an answer of another department: it was written into the wrong log`);
        continue;
      }
      if (evidence.gatewayKeyId === null || evidence.requestDigest === null) {
        result.refusedBeforeVerification += record.requests;
        continue;
      }
      const gateway = gatewayByRequest.get(record.requestId);
      if (!gateway && isReadinessProbe(record)) {
        result.readinessProbes += 1;
        continue;
      }
      if (!gateway) {
        mismatch(`department ${department} answered request ${record.requestId} (its ${at(record)}); the gateway store has no record of ${record.requestId}`);
        continue;
      }
      const calls = callsByKey.get(exchangeKey(record.requestId, department, evidence.requestDigest)) ?? [];
      if (calls.length === 0) {
        const anyCall = gateway.flatMap((g) => callsOf(g).filter((call) => call.department === department).map(() => g));
        mismatch(anyCall.length > 0
          ? `department ${department} answered request ${record.requestId} (its ${at(record)}) with a request digest the gateway's ${at(anyCall[0])} did not sign: the request differs between the sides`
          : `department ${department} answered request ${record.requestId} (its ${at(record)}); the gateway's ${at(gateway[0])} of ${record.requestId} names no call to ${department}`);
        continue;
      }
      const withReceipt = calls.find((c) => c.call.receipt !== null && refersTo(c.call.receipt, record));
      if (withReceipt) {
        const differences = [...answerDifferences(withReceipt.call.receipt as DepartmentReceipt, evidence), ...purposeDifferences(withReceipt.record, record)];
        if (differences.length === 0) result.matched += 1;
        else mismatch(`request ${record.requestId}: department ${department}'s ${at(record)} and the gateway's ${at(withReceipt.record)} differ in ${differences.join(', ')}`);
        continue;
      }
      const failed = calls.find((c) => c.call.receipt === null && c.call.failure !== null && FAILURES_EXPLAINED.includes(c.call.failure));
      if (failed) {
        result.findings.push({
          isExplained: true,
          text: `EXPLAINED: department ${department} answered request ${record.requestId} (its ${at(record)}) but the answer was never received by the gateway ` +
            `(its ${at(failed.record)} records the call failed with ${failed.call.failure}): the department stopped or the connection failed`,
        });
        continue;
      }
      const other = calls.find((c) => c.call.receipt !== null);
      mismatch(other
        ? `request ${record.requestId}: the gateway's ${at(other.record)} holds department ${department}'s receipt for record ${other.call.receipt?.sequence} of chain ${other.call.receipt?.chainId}, not for its ${at(record)}`
        : `department ${department} answered request ${record.requestId} (its ${at(record)}); the gateway's ${at(calls[0].record)} holds no receipt for it and no failure that explains why`);
    }
  }

  // The gateway's side: every receipt in the period must be a record in the department's log.
  for (const record of input.gatewayRecords) {
    if (!isInPeriod(record, input)) continue;
    const calls = callsOf(record).filter((call) => departments.has(call.department));
    if (calls.length === 0) {
      result.gatewayOnly += 1;
      continue;
    }
    for (const call of calls) {
      const { receipt } = call;
      if (receipt === null) continue;
      const held = departmentByPlace.get(`${receipt.chainId}\n${receipt.sequence}`);
      const receiptAt = `record ${receipt.sequence} of chain ${receipt.chainId}`;
      if (!held) {
        mismatch(`the gateway's ${at(record)} holds department ${call.department}'s receipt for request ${record.requestId} at its ${receiptAt}; department ${call.department}'s log has no such record`);
        continue;
      }
      const evidence = held.exchange;
      const requestDigest = sha256Hex(call.signatureBase);
      const differs: string[] = [];
      if (held.requestId !== record.requestId) differs.push('request ID');
      if (evidence?.kind !== 'department-answer') differs.push('kind (it is not an answer)');
      else {
        if (evidence.department !== call.department) differs.push('department');
        if (evidence.requestDigest !== requestDigest || receipt.requestDigest !== requestDigest) differs.push('requestDigest');
        // The department signed the receipt as it logged the record: a record dated far from it was moved, perhaps out of every period reconciled.
        if (Math.abs(Date.parse(held.time) - Date.parse(receipt.time)) > RECEIPT_TIME_TOLERANCE_MS) differs.push(`time (${held.time}, the receipt says ${receipt.time})`);
        // A record in the period had its answer and purpose compared from the department's side; one outside it is compared here.
        if (!isInPeriod(held, input)) differs.push(...answerDifferences(receipt, evidence), ...purposeDifferences(record, held));
      }
      if (differs.length > 0) {
        mismatch(`the gateway's ${at(record)} holds department ${call.department}'s receipt for request ${record.requestId} at its ${receiptAt}, but that record differs in ${differs.join(', ')}`);
      }
    }
  }
  return result;
}

/** The gateway's calls in a record; none when it holds no gateway-calls evidence. */
function callsOf(record: StoredRecord): DepartmentCallEvidence[] {
  return record.exchange?.kind === 'gateway-calls' ? record.exchange.calls : [];
}

function exchangeKey(requestId: string, department: string, requestDigest: string): string {
  return `${requestId}\n${department}\n${requestDigest}`;
}

function refersTo(receipt: DepartmentReceipt, record: StoredRecord): boolean {
  return receipt.chainId === record.chainId && receipt.sequence === record.sequence;
}

/** What the receipt says and the department's record says differently about the answer. */
function answerDifferences(receipt: DepartmentReceipt, evidence: DepartmentAnswerEvidence): string[] {
  const differences: string[] = [];
  if (receipt.requestDigest !== evidence.requestDigest) differences.push('requestDigest');
  if (receipt.answerDigest !== evidence.answerDigest) differences.push('answerDigest');
  if (receipt.status !== evidence.status) differences.push('status');
  return differences;
}

/**
 * What the gateway's record and the department's say differently about why and for whom:
 * the purpose members, and citizens the department names that the gateway's record does
 * not (the gateway's names every department's citizens, so it may name more).
 */
function purposeDifferences(gateway: StoredRecord, department: StoredRecord): string[] {
  const differences: string[] = (['application', 'officer', 'serviceItem', 'caseNumber'] as const).filter((field) => gateway[field] !== department[field]);
  const named = new Set(gateway.citizens);
  const unknown = department.citizens.filter((citizen) => !named.has(citizen)).length;
  if (unknown > 0) differences.push(`citizens (${unknown} the department names that the gateway's record does not)`);
  return differences;
}
