import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { memoisedIn } from '../lib/memoised';
import { canonicalJson, type CanonicalValue } from './canonical-json';
import { RECEIPT_KIND, type DepartmentReceipt } from './exchange';
import { keyIdOf, type SigningKey } from './signing';
import type { SignedCheckpoint } from './store';
import type { TrustList } from '../lib/trust-list';

/**
 * Department receipts (exchange.ts DepartmentReceipt): signed by a department, checked by
 * the gateway on every answer and by auditors offline. One file, so the bytes signed are
 * written in one place: the canonical JSON of the receipt's members but `signature`,
 * plus `"kind":"proofless-department-receipt"`.
 */
export type UnsignedReceipt = Omit<DepartmentReceipt, 'keyId' | 'signature'>;

function receiptPayload(receipt: UnsignedReceipt): Buffer {
  const { department, requestDigest, answerDigest, status, chainId, sequence, time } = receipt;
  return Buffer.from(canonicalJson({ kind: RECEIPT_KIND, department, requestDigest, answerDigest, status, chainId, sequence, time }), 'utf8');
}

/** Signs a receipt with the department's key; its keyId is the SHA-256 hex of the public key (signing.ts keyIdOf). */
export function signReceipt(receipt: UnsignedReceipt, key: SigningKey): DepartmentReceipt {
  return { ...receipt, keyId: key.keyId, signature: sign(null, receiptPayload(receipt), key.privateKey).toString('base64') };
}

/** SHA-256, lowercase hex: how receipts name a signature base, a request body and an answer body. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A receipt or a checkpoint as it travels in a header: base64url of its canonical JSON. */
export function encodeHeaderValue(statement: DepartmentReceipt | SignedCheckpoint): string {
  return Buffer.from(canonicalJson(statement as unknown as CanonicalValue), 'utf8').toString('base64url');
}

/** The JSON object a header value holds, or null when it is not base64url of a JSON object. Its members are checked by whoever reads it. */
export function decodeHeaderValue(value: string | null | undefined): Record<string, unknown> | null {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value) || value.length > 16384) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const RECEIPT_MEMBERS = ['department', 'requestDigest', 'answerDigest', 'status', 'chainId', 'sequence', 'time', 'keyId', 'signature'] as const;
const HEX_64 = /^[0-9a-f]{64}$/;

/** A decoded object as a receipt, when it has exactly a receipt's members of the right types; null otherwise. */
export function asReceipt(value: Record<string, unknown> | null): DepartmentReceipt | null {
  if (!value) return null;
  const names = Object.keys(value);
  if (names.length !== RECEIPT_MEMBERS.length || !RECEIPT_MEMBERS.every((name) => Object.hasOwn(value, name))) return null;
  const r = value as unknown as DepartmentReceipt;
  const isText = (member: unknown) => typeof member === 'string';
  if (![r.department, r.chainId, r.time, r.keyId, r.signature].every(isText)) return null;
  if (!HEX_64.test(r.requestDigest) || !HEX_64.test(r.answerDigest)) return null;
  if (!Number.isSafeInteger(r.status) || !Number.isSafeInteger(r.sequence) || r.sequence < 1) return null;
  if (Number.isNaN(Date.parse(r.time))) return null;
  return r;
}

/** What a receipt is checked against: the exchange as the checker saw it. */
export interface ReceiptExpectation {
  department: string;
  /** SHA-256 hex of the signature base the gateway signed. */
  requestDigest: string;
  /** SHA-256 hex of the answer body as received. */
  answerDigest: string;
  status: number;
  /** When the receipt is checked (ms since the epoch); with `maxSkewMs`, how far its time may be from it. Omitted offline: an old receipt stays true. */
  now?: number;
  /** Default 300000 (5 minutes). */
  maxSkewMs?: number;
}

export type ReceiptCheck = { ok: true } | { ok: false; reason: string };

/**
 * Whether `receipt` is the department's signed word on this exchange: signed by a key
 * the departments' trust list holds for that department and valid at the receipt's
 * time, for the request and answer digests and status the checker saw. The reason of a
 * failure names what is wrong and never quotes the answer.
 */
export function checkReceipt(receipt: DepartmentReceipt, expected: ReceiptExpectation, trustList: TrustList): ReceiptCheck {
  if (receipt.department !== expected.department) return { ok: false, reason: `the receipt is ${receipt.department}'s, not ${expected.department}'s` };
  const trusted = departmentKeyFor(trustList, receipt.keyId, expected.department);
  if (!trusted) return { ok: false, reason: `the receipt's key ${receipt.keyId.slice(0, 16)} is not in the departments' trust list for ${expected.department}` };
  const time = Date.parse(receipt.time);
  if (time < trusted.validFrom.getTime() || time > trusted.validUntil.getTime()) return { ok: false, reason: `the receipt was signed at ${receipt.time}, outside its key's validity` };
  if (expected.now !== undefined && Math.abs(expected.now - time) > (expected.maxSkewMs ?? 300_000)) return { ok: false, reason: `the receipt's time ${receipt.time} is too far from now` };
  let isValid = false;
  try {
    // Only the one canonical base64 spelling: Node's decoder ignores the last character's spare bits, so other spellings of the same bytes would verify too.
    isValid = Buffer.from(receipt.signature, 'base64').toString('base64') === receipt.signature
      && verify(null, receiptPayload(receipt), trusted.publicKey, Buffer.from(receipt.signature, 'base64'));
  } catch {
    isValid = false;
  }
  if (!isValid) return { ok: false, reason: 'the receipt\'s signature does not verify' };
  if (receipt.requestDigest !== expected.requestDigest) return { ok: false, reason: 'the receipt is for another request' };
  if (receipt.answerDigest !== expected.answerDigest) return { ok: false, reason: 'the receipt is for another answer: the answer\'s digest differs' };
  if (receipt.status !== expected.status) return { ok: false, reason: `the receipt is for an answer with status ${receipt.status}, not ${expected.status}` };
  return { ok: true };
}

/**
 * The key the departments' trust list holds for `department` under `keyId`: an entry
 * whose holder is the department and whose public key's SHA-256 (keyIdOf) is the
 * keyId, whatever ID the list gives it, so a receipt and a department checkpoint (both
 * named the audit way) find the same entry.
 */
export function departmentKeyFor(trustList: TrustList, keyId: string, department: string) {
  for (const key of trustList.keys.values()) {
    if (key.holder === department && memoisedIn(keyIds, key.publicKey, () => keyIdOf(key.publicKey)) === keyId) return key;
  }
  return undefined;
}

/** Each trusted key's ID, computed once per key object (a reloaded list brings new objects). */
const keyIds = new WeakMap<KeyObject, string>();
