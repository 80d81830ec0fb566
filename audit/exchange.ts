import type { SignedCheckpoint } from './store';

/**
 * Both sides keep the record (issue 18). A record of the gateway's chain and a record of
 * a department's access log differ only in what they add about the exchange: this
 * member, `exchange`, null on a record that has nothing to add (and on every record
 * written before it existed, which therefore keep their hashes: canonical.ts).
 *
 *  - a department's access-log record of a request it answered or refused:
 *    DepartmentAnswerEvidence;
 *  - a department's access-log record of a gateway checkpoint it was sent to witness, and
 *    likewise a gateway record never holds one of these: WitnessedCheckpointEvidence;
 *  - the gateway's record of an operation that called departments: GatewayCallsEvidence,
 *    every call with what the gateway signed and the department's signed receipt, and any
 *    department checkpoints that came with the answers.
 *
 * Every member is a string, a whole number, null, or a list or object of those, so the
 * canonical encoding (RFC 8785, canonical.ts) is the one the rest of the record uses.
 */
export type ExchangeEvidence = DepartmentAnswerEvidence | WitnessedCheckpointEvidence | GatewayCallsEvidence;

/** What a department's access log adds to its record of one request, as the department saw it. */
export interface DepartmentAnswerEvidence {
  kind: 'department-answer';
  /** The department that answered (its name in schema/departments.json). */
  department: string;
  /** keyid of the gateway signature the request carried and the department verified; null when it was refused before a signature was verified. */
  gatewayKeyId: string | null;
  /** SHA-256 (lowercase hex) of the RFC 9421 signature base the department verified; null when no signature was verified. */
  requestDigest: string | null;
  /** SHA-256 (lowercase hex) of the request body as it arrived; null when it was not read (larger than the department accepts, or malformed on the wire). */
  bodyDigest: string | null;
  /** SHA-256 (lowercase hex) of the answer body as it left. */
  answerDigest: string;
  /** The HTTP status of the answer. */
  status: number;
}

/** A checkpoint of another side's chain (the gateway's), recorded in a department's own chain when the gateway sent it. */
export interface WitnessedCheckpointEvidence {
  kind: 'witnessed-checkpoint';
  /** keyid of the gateway request signature that delivered it. */
  gatewayKeyId: string;
  checkpoint: SignedCheckpoint;
}

/** What the gateway's record adds when the operation called departments. */
export interface GatewayCallsEvidence {
  kind: 'gateway-calls';
  /** Every call the gateway made for this operation, in the order the calls were made (answers from the gateway's cache are not calls). */
  calls: DepartmentCallEvidence[];
  /** Checkpoints of departments' access logs that came with their answers (the gateway witnessing them), each verified against the departments' trust list. */
  departmentCheckpoints: SignedCheckpoint[];
}

/** One call to a department, as the gateway signed it and as the department vouched for its answer. */
export interface DepartmentCallEvidence {
  department: string;
  /** The RFC 9421 signature base the gateway signed (its lines joined by "\n"): method, target URI, content-digest, request ID, purpose headers, asserted caller. */
  signatureBase: string;
  /** The `signature-input` header value sent (`proofless=(...);created=...`). */
  signatureInput: string;
  /** The `signature` header value sent (`proofless=:base64:`). */
  signature: string;
  /** The department's receipt; null when none that verifies came back (then `failure` says why). */
  receipt: DepartmentReceipt | null;
  /** The code the call failed with (DEPARTMENT_UNAVAILABLE, DEPARTMENT_TIMEOUT, DEPARTMENT_RECEIPT_INVALID); null when it was answered with a valid receipt. */
  failure: string | null;
}

/**
 * A department's signed word on one answer: "I, `department`, answered the request whose
 * signature base has SHA-256 `requestDigest` with HTTP `status` and a body whose SHA-256
 * is `answerDigest`, and logged it as record `sequence` of my chain `chainId` at `time`".
 *
 * Signed with the department's Ed25519 key (the one that signs its log's checkpoints)
 * over the canonical JSON (canonical.ts) of every member but `signature`, plus
 * `"kind":"proofless-department-receipt"`, so it can never be passed off as a checkpoint
 * or the other way round. `keyId` names the key in the departments' trust list
 * (PROOFLESS_DEPARTMENT_KEYS_FILE, lib/trust-list.ts format, `holder` the department).
 * Sent base64url-encoded (the canonical JSON with `signature`) in RECEIPT_HEADER.
 */
export interface DepartmentReceipt {
  department: string;
  requestDigest: string;
  answerDigest: string;
  status: number;
  chainId: string;
  sequence: number;
  /** ISO instant (toISOString form) the receipt was signed. */
  time: string;
  keyId: string;
  /** Ed25519 signature, base64. */
  signature: string;
}

/** The `kind` member a receipt is signed with. */
export const RECEIPT_KIND = 'proofless-department-receipt';

/** A department answer's receipt (base64url of its canonical JSON). */
export const RECEIPT_HEADER = 'proofless-receipt';

/**
 * A department's latest signed log checkpoint (base64url of its canonical JSON, as the
 * store holds it), sent with the first answer to each gateway key after it was signed:
 * the gateway records it in its own chain (GatewayCallsEvidence.departmentCheckpoints).
 */
export const CHECKPOINT_HEADER = 'proofless-checkpoint';

/**
 * Where the gateway sends each checkpoint of its own chain, to every department it
 * called since the one before: a signed POST (RFC 9421, like every call) of the
 * checkpoint's JSON to this path on the department's origin. The department records it
 * in its access log (WitnessedCheckpointEvidence) and answers 200 with a receipt.
 */
export const WITNESS_PATH = '/audit/witness';

/**
 * What the gateway asks each department to see whether it is ready (`/readyz`,
 * gateway/data-source.ts answersReadinessProbe): signed like every call, answered with a
 * receipt and logged by the department, never recorded by the gateway (it is no
 * operation). Reconciliation recognises the department's record of it by the document's
 * hash, and only when it disclosed nothing (audit/reconcile.ts).
 */
export const READINESS_PROBE_QUERY = '{ __typename }';
