import { CHECKPOINT_HEADER, RECEIPT_HEADER, type DepartmentReceipt } from '../audit/exchange';
import { isChainId } from '../audit/entry';
import { asReceipt, checkReceipt, decodeHeaderValue, departmentKeyFor, sha256Hex } from '../audit/receipt';
import { checkCheckpointSignature } from '../audit/signing';
import type { SignedCheckpoint } from '../audit/store';
import { asCheckpoint } from '../audit/witness';
import type { TrustList } from '../lib/trust-list';

/** What the gateway saw of one exchange with a department: what a receipt must vouch for. */
export interface ReceivedAnswer {
  department: string;
  /** The RFC 9421 signature base the gateway signed for the request. */
  signatureBase: string;
  status: number;
  /** The answer's body, the exact bytes received. */
  body: Buffer;
  /** The answer's header, by lower-case name. */
  header(name: string): string | null;
}

export type ReceiptVerdict = { receipt: DepartmentReceipt; problem: null } | { receipt: null; problem: string };

export interface ReceiptChecker {
  /**
   * Whether the answer carries its department's valid receipt (RECEIPT_HEADER): signed by
   * a key the departments' trust list holds for that department, for the signature base
   * the gateway signed, this status and these exact body bytes, and signed near now. The
   * problem, in words for the caller and the log, never quotes the answer.
   */
  receiptOf(answer: ReceivedAnswer): ReceiptVerdict;
  /**
   * The department's log checkpoint the answer carries (CHECKPOINT_HEADER), when it is one
   * signed by a key the trust list holds for the department, of the chain the answer's
   * receipt names; null when there is none. A bad one is a problem to log, never a failed
   * call: the answer is vouched for by its receipt, not by the checkpoint.
   */
  checkpointOf(answer: ReceivedAnswer, receipt: DepartmentReceipt): { checkpoint: SignedCheckpoint | null; problem: string | null };
}

export interface ReceiptCheckerOptions {
  /** The departments' trust list as it is now (lib/trust-list.ts watchTrustList: PROOFLESS_DEPARTMENT_KEYS_FILE). */
  trustList: () => TrustList;
  /** The clock receipts' times are checked against; default Date.now. */
  now?: () => number;
  /** How far a receipt's time may be from now; default 300000 ms (audit/receipt.ts). */
  maxSkewMs?: number;
}

/** The gateway's check of departments' receipts and checkpoints (issue 18), over the departments' trust list. */
export function receiptChecker(options: ReceiptCheckerOptions): ReceiptChecker {
  const now = options.now ?? Date.now;
  return {
    receiptOf(answer) {
      const header = answer.header(RECEIPT_HEADER);
      if (header === null) return { receipt: null, problem: 'the answer carries no receipt' };
      const receipt = asReceipt(decodeHeaderValue(header));
      if (!receipt) return { receipt: null, problem: 'the answer\'s receipt cannot be read' };
      const check = checkReceipt(receipt, {
        department: answer.department,
        requestDigest: sha256Hex(answer.signatureBase),
        answerDigest: sha256Hex(answer.body),
        status: answer.status,
        now: now(),
        ...(options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs }),
      }, options.trustList());
      return check.ok ? { receipt, problem: null } : { receipt: null, problem: check.reason };
    },
    checkpointOf(answer, receipt) {
      const header = answer.header(CHECKPOINT_HEADER);
      if (header === null) return { checkpoint: null, problem: null };
      const checkpoint = asCheckpoint(decodeHeaderValue(header));
      if (!checkpoint) return { checkpoint: null, problem: 'the answer\'s log checkpoint cannot be read' };
      // A department vouches only for its own chain: the one its receipt on the same answer names.
      if (!isChainId(checkpoint.chainId) || checkpoint.chainId !== receipt.chainId) return { checkpoint: null, problem: 'the answer\'s log checkpoint is not of the chain its receipt names' };
      const key = departmentKeyFor(options.trustList(), checkpoint.keyId, answer.department);
      const check = key ? checkCheckpointSignature(checkpoint, new Map([[checkpoint.keyId, key.publicKey]])) : 'untrusted key';
      if (check !== 'valid') return { checkpoint: null, problem: `the answer's log checkpoint does not verify (${check})` };
      return { checkpoint, problem: null };
    },
  };
}
