import { sign, verify, type KeyObject } from 'node:crypto';
import { isArrayBuffer } from 'node:util/types';
import { CALLER_HEADER, decodeAssertedCaller } from '../lib/asserted-caller';
import { isInnerList, parseDictionary } from '../lib/structured-fields';
import type { TrustList } from '../lib/trust-list';
import { canonicalJson, recordHash, type CanonicalValue } from './canonical';
import type { StoredRecord } from './entry';
import type { DepartmentCallEvidence, GatewayCallsEvidence } from './exchange';
import { asReceipt, checkReceipt, sha256Hex } from './receipt';
import { checkCheckpointSignature, keyIdOf, type SigningKey, type TrustedKeys } from './signing';
import type { AuditStore, RecordKey, SignedCheckpoint } from './store';
import { describeSignature } from './verify';

/**
 * A request's receipt export (issue 18): what an auditor hands a court or a citizen to
 * prove one exchange, checkable offline with public keys only.
 *
 * The file is the canonical JSON (RFC 8785, canonical.ts) of a ReceiptExport and one
 * newline, nothing else, so any changed byte either breaks the canonical form or changes
 * something a signature or a hash covers. It holds every gateway record of the request
 * (StoredRecord, with its hash) and, for each, the checkpoint of its chain the exporting
 * tool verified it against; and an attestation, signed with the gateway's audit key over
 * the SHA-256 of the canonical JSON of everything else, made only after the tool
 * recomputed each record's hash and followed its chain, record by record in the store,
 * to a checkpoint signed by a trusted audit key. Offline, the record's hash, the
 * checkpoint's and attestation's signatures, the gateway's RFC 9421 signature over each
 * call and each department's receipt are checked again (checkReceiptExport).
 */

export const EXPORT_FORMAT = 'proofless-receipt-export-1';
/** The `kind` an attestation is signed with: no other statement of the audit key can pass for one. */
export const ATTESTATION_KIND = 'proofless-audit-receipt-export';

export interface ExportedRecord {
  record: StoredRecord;
  /** The checkpoint at or after the record that the exporting tool verified the chain to. */
  checkpoint: SignedCheckpoint;
}

export interface ExportAttestation {
  /** When the export was made (ISO instant). */
  time: string;
  /** The audit key's ID (SHA-256 hex of its SPKI DER, signing.ts keyIdOf). */
  keyId: string;
  /** Ed25519 over the canonical JSON of {digest, kind: ATTESTATION_KIND, time}, base64. */
  signature: string;
}

export interface ReceiptExport {
  format: typeof EXPORT_FORMAT;
  requestId: string;
  records: ExportedRecord[];
  attestation: ExportAttestation;
}

/** Why an export cannot be made: no record, or one not (yet) vouched for by a checkpoint that verifies. */
export class ReceiptExportError extends Error {}

/** SHA-256 hex of the canonical JSON of the export without its attestation: what the attestation signs. */
export function exportDigest(exported: Omit<ReceiptExport, 'attestation'>): string {
  const { format, requestId, records } = exported;
  return sha256Hex(canonicalJson({ format, requestId, records } as unknown as CanonicalValue));
}

function attestationPayload(digest: string, time: string): Buffer {
  return Buffer.from(canonicalJson({ digest, kind: ATTESTATION_KIND, time }), 'utf8');
}

const PAGE_SIZE = 1000;

/**
 * Builds the export of `requestId` from the gateway's store: every record of that request,
 * each verified, through the store, up to a checkpoint of its chain signed by one of
 * `keys`; then signed with `key`. Throws ReceiptExportError when there is nothing to
 * export or a record cannot be vouched for.
 */
export async function buildReceiptExport(store: AuditStore, requestId: string, keys: TrustedKeys, key: SigningKey, now: Date): Promise<ReceiptExport> {
  // Every record, page after page: callers choose request IDs, and one who sent a page of requests under an ID first must not push the rest out of the export.
  const found: StoredRecord[] = [];
  for (let page: StoredRecord[] = [], after: RecordKey | null = null; found.length === 0 || page.length === PAGE_SIZE; ) {
    page = await store.queryRecords({ filter: { requestId }, order: 'oldest-first', after, limit: PAGE_SIZE });
    found.push(...page);
    const last = page.at(-1);
    if (!last) break;
    after = { time: last.time, chainId: last.chainId, sequence: last.sequence };
  }
  if (found.length === 0) throw new ReceiptExportError(`the gateway's store holds no record of request ${requestId}`);
  const records: ExportedRecord[] = [];
  for (const record of found) records.push({ record, checkpoint: await vouchedCheckpoint(store, record, keys) });
  const unsigned = { format: EXPORT_FORMAT, requestId, records } as const;
  const time = now.toISOString();
  const signature = sign(null, attestationPayload(exportDigest(unsigned), time), key.privateKey).toString('base64');
  return { ...unsigned, attestation: { time, keyId: key.keyId, signature } };
}

/** The file's text: canonical JSON and a newline. */
export function receiptExportText(exported: ReceiptExport): string {
  return `${canonicalJson(exported as unknown as CanonicalValue)}\n`;
}

/** The first checkpoint at or after the record that verifies, with the chain from the record to it intact in the store. */
async function vouchedCheckpoint(store: AuditStore, record: StoredRecord, keys: TrustedKeys): Promise<SignedCheckpoint> {
  const where = `record ${record.sequence} of chain ${record.chainId}`;
  if (recordHash(record) !== record.hash) throw new ReceiptExportError(`${where}: its hash does not match its contents`);
  const checkpoints = (await store.readCheckpoints(record.chainId)).filter((c) => c.sequence >= record.sequence && checkCheckpointSignature(c, keys) === 'valid');
  const checkpoint = checkpoints.sort((a, b) => a.sequence - b.sequence)[0];
  if (!checkpoint) throw new ReceiptExportError(`${where} is after the chain's last checkpoint that verifies: export it after the next checkpoint`);
  let previous = record;
  while (previous.sequence < checkpoint.sequence) {
    const page = await store.readChain(record.chainId, previous.sequence, Math.min(PAGE_SIZE, checkpoint.sequence - previous.sequence));
    if (page.length === 0) throw new ReceiptExportError(`${where}: the chain ends at ${previous.sequence}, before its checkpoint at ${checkpoint.sequence}`);
    for (const next of page) {
      if (next.sequence !== previous.sequence + 1 || next.previousHash !== previous.hash || recordHash(next) !== next.hash) {
        throw new ReceiptExportError(`${where}: the chain is broken at record ${next.sequence}, before its checkpoint at ${checkpoint.sequence}: run audit:verify`);
      }
      previous = next;
    }
  }
  if (previous.hash !== checkpoint.hash) throw new ReceiptExportError(`${where}: record ${checkpoint.sequence} differs from the one its checkpoint signed: run audit:verify`);
  return checkpoint;
}

/** The public keys an offline check trusts. */
export interface ExportTrust {
  /** The gateway's audit keys: checkpoints and attestations. */
  auditKeys: TrustedKeys;
  /** The gateway's request-signing keys (gateway-keys.json). */
  gatewayKeys: TrustList;
  /** The departments' receipt and checkpoint keys (department-keys.json). */
  departmentKeys: TrustList;
}

export interface CheckLine {
  ok: boolean;
  text: string;
}

/**
 * Checks an export file's text offline: one line per check, in order; a file that is not
 * exactly a canonical export of known members stops after saying so (nothing else in it
 * can be relied on).
 */
export function checkReceiptExport(bytes: Buffer, trust: ExportTrust): CheckLine[] {
  const lines: CheckLine[] = [];
  const check = (ok: boolean, good: string, bad: string) => {
    lines.push({ ok, text: ok ? good : bad });
    return ok;
  };
  let parsed: unknown;
  let text: string;
  try {
    // Fatal: a byte that is not UTF-8 would otherwise be read as U+FFFD, and written back as it.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    parsed = JSON.parse(text);
  } catch {
    check(false, '', 'the file is not JSON in UTF-8');
    return lines;
  }
  let canonical: string | null = null;
  try {
    canonical = `${canonicalJson(parsed as CanonicalValue)}\n`;
  } catch {
    canonical = null;
  }
  if (!check(canonical === text, 'the file is canonical JSON (RFC 8785) and one newline', 'the file is not exactly canonical JSON (RFC 8785) and one newline: it was changed after export')) return lines;
  const shapeProblem = exportShapeProblem(parsed);
  if (!check(shapeProblem === null, `the file is a receipt export (${EXPORT_FORMAT}) with no unknown member`, `the file is not a receipt export: ${shapeProblem}`)) return lines;
  const exported = parsed as ReceiptExport;
  const { attestation } = exported;
  const auditKey = trust.auditKeys.get(attestation.keyId);
  check(
    auditKey !== undefined && verifies(attestationPayload(exportDigest(exported), attestation.time), auditKey, attestation.signature),
    `the attestation verifies with trusted audit key ${attestation.keyId.slice(0, 16)} (exported ${attestation.time})`,
    auditKey === undefined ? `the attestation is signed by key ${attestation.keyId.slice(0, 16)}, which is not a trusted audit key` : 'the attestation\'s signature does not verify: the export was changed',
  );
  for (const { record, checkpoint } of exported.records) {
    const where = `record ${record.sequence} of chain ${record.chainId}`;
    check(record.requestId === exported.requestId, `${where} is request ${record.requestId}`, `${where} is request ${record.requestId}, not ${exported.requestId}`);
    check(recordHash(record) === record.hash, `${where}: its hash recomputes from its contents`, `${where}: its hash does not match its contents`);
    const signature = checkCheckpointSignature(checkpoint, trust.auditKeys);
    const isSameChain = checkpoint.chainId === record.chainId && checkpoint.sequence >= record.sequence && (checkpoint.sequence !== record.sequence || checkpoint.hash === record.hash);
    check(
      signature === 'valid' && isSameChain,
      `${where}: checkpoint at ${checkpoint.sequence} verifies with a trusted audit key`,
      signature !== 'valid' ? `${where}: checkpoint at ${checkpoint.sequence}: ${describeSignature(signature, checkpoint.keyId)}` : `${where}: its checkpoint is not of its chain at or after it, or signed another hash`,
    );
    lines.push(...checkCalls(record, trust));
  }
  return lines;
}

function checkCalls(record: StoredRecord, trust: ExportTrust): CheckLine[] {
  const where = `record ${record.sequence} of chain ${record.chainId}`;
  if (record.exchange === null) return [{ ok: true, text: `${where}: no department was called (nothing to prove beyond the record)` }];
  const lines: CheckLine[] = [];
  const evidence = record.exchange as GatewayCallsEvidence;
  evidence.calls.forEach((call, index) => {
    const label = `${where}: call ${index + 1} to ${call.department}`;
    const request = checkRequestSignature(call, trust.gatewayKeys);
    lines.push({ ok: request.ok, text: `${label}: ${request.text}` });
    const fields = baseFields(call.signatureBase);
    const caller = callerIn(fields.get(CALLER_HEADER));
    const mismatched = [
      fields.get('x-request-id') !== record.requestId ? 'x-request-id' : '',
      (fields.get('x-service-item') ?? null) !== record.serviceItem ? 'x-service-item' : '',
      (fields.get('x-case-number') ?? null) !== record.caseNumber ? 'x-case-number' : '',
      fields.get('x-proofless-department') !== call.department ? 'x-proofless-department' : '',
      record.departments.includes(call.department) ? '' : 'the record\'s departments',
      ...(['application', 'officer', 'role'] as const).filter((member) => caller[member] !== record[member]),
    ].filter((name) => name !== '');
    lines.push(mismatched.length === 0
      ? { ok: true, text: `${label}: the signed request's x-request-id, x-service-item, x-case-number, x-proofless-department and caller match the record` }
      : { ok: false, text: `${label}: the signed request and the record differ in ${mismatched.join(', ')}` });
    if (call.receipt === null) {
      lines.push({ ok: true, text: `${label}: no receipt: the call failed with ${call.failure} (the gateway released nothing of it)` });
      return;
    }
    const receipt = call.receipt;
    const checked = checkReceipt(receipt, { department: call.department, requestDigest: sha256Hex(call.signatureBase), answerDigest: receipt.answerDigest, status: receipt.status }, trust.departmentKeys);
    lines.push(checked.ok
      ? { ok: true, text: `${label}: ${call.department}'s receipt verifies: it answered with status ${receipt.status} and logged it as record ${receipt.sequence} of chain ${receipt.chainId} at ${receipt.time}` }
      : { ok: false, text: `${label}: ${call.department}'s receipt: ${checked.reason}` });
  });
  const departmentKeys = new Map([...trust.departmentKeys.keys.values()].map((key) => [keyIdOf(key.publicKey), key.publicKey]));
  for (const checkpoint of evidence.departmentCheckpoints) {
    const signature = checkCheckpointSignature(checkpoint, departmentKeys);
    lines.push({
      ok: signature === 'valid',
      text: `${where}: department checkpoint of chain ${checkpoint.chainId} at ${checkpoint.sequence}: ${signature === 'valid' ? 'verifies with a key in the departments\' trust list' : describeSignature(signature, checkpoint.keyId)}`,
    });
  }
  return lines;
}

/** The gateway's RFC 9421 signature of the call: over its signature base, whose last line is the Signature-Input it sent, by a key gateway-keys.json holds. */
function checkRequestSignature(call: DepartmentCallEvidence, gatewayKeys: TrustList): CheckLine {
  const lastLine = call.signatureBase.slice(call.signatureBase.lastIndexOf('\n') + 1);
  const label = 'proofless=';
  if (!call.signatureInput.startsWith(label) || lastLine !== `"@signature-params": ${call.signatureInput.slice(label.length)}`) {
    return { ok: false, text: 'the gateway\'s signature base does not end with the Signature-Input it sent' };
  }
  let keyId: unknown;
  let created: unknown;
  let signature: Buffer | null = null;
  try {
    const input = parseDictionary(call.signatureInput).get('proofless');
    if (input && isInnerList(input)) {
      keyId = input[1].get('keyid');
      created = input[1].get('created');
    }
    const member = parseDictionary(call.signature).get('proofless');
    if (member && !isInnerList(member) && isArrayBuffer(member[0])) signature = Buffer.from(member[0] as ArrayBuffer);
  } catch {
    return { ok: false, text: 'the gateway\'s Signature-Input or Signature is malformed' };
  }
  if (typeof keyId !== 'string' || typeof created !== 'number' || signature === null) return { ok: false, text: 'the gateway\'s Signature-Input or Signature is malformed' };
  const key = gatewayKeys.keys.get(keyId);
  if (!key) return { ok: false, text: `the gateway's request signature is by key ${keyId.slice(0, 40)}, which gateway-keys.json does not hold` };
  const at = created * 1000;
  if (at < key.validFrom.getTime() || at >= key.validUntil.getTime()) return { ok: false, text: `the gateway's request signature was made at ${new Date(at).toISOString()}, outside key ${keyId}'s validity` };
  let isValid = false;
  try {
    isValid = verify(null, Buffer.from(call.signatureBase, 'utf8'), key.publicKey, signature);
  } catch {
    isValid = false;
  }
  return isValid
    ? { ok: true, text: `the gateway's request signature verifies with gateway key ${keyId}` }
    : { ok: false, text: `the gateway's request signature does not verify with gateway key ${keyId}: the signed request was changed` };
}

/**
 * Who the signed request names as the caller (CALLER_HEADER): the record's application,
 * officer and role must be the same. The gateway's audit key alone cannot vouch for them:
 * whoever holds it can rewrite a record, its checkpoint and the attestation, but not the
 * department's receipt, which names the signature base and so the caller in it. No
 * caller header (an operation without a caller) is a record naming none; one that does
 * not decode names no one a record could match.
 */
function callerIn(header: string | undefined): Record<'application' | 'officer' | 'role', string | null> {
  if (header === undefined) return { application: null, officer: null, role: null };
  const decoded = decodeAssertedCaller(header);
  if (!('caller' in decoded)) return { application: '', officer: '', role: '' };
  const { application, officer, role } = decoded.caller;
  return { application, officer, role };
}

/** A signature base's covered fields by name (`"name": value` lines). */
function baseFields(base: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of base.split('\n')) {
    const match = /^"([^"]+)": (.*)$/.exec(line);
    if (match) fields.set(match[1], match[2]);
  }
  return fields;
}

/**
 * Whether the base64 signature verifies. Only its one canonical spelling is accepted:
 * Node's decoder ignores the padding bits of the last character, so a signature with
 * one of them flipped would decode to the same bytes, a changed byte that still verifies.
 */
function verifies(payload: Buffer, key: KeyObject, signature: string): boolean {
  if (Buffer.from(signature, 'base64').toString('base64') !== signature) return false;
  try {
    return verify(null, payload, key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** The shape check: exactly the members this format has, of the types it has, at every level. */

type Shape = 'text' | 'text?' | 'whole' | 'texts' | 'receipt' | { [member: string]: Shape } | ['list', Shape] | ['nullable', Shape] | 'exchange';

const CHECKPOINT_SHAPE = { chainId: 'text', sequence: 'whole', hash: 'text', time: 'text', previous: ['nullable', { sequence: 'whole', digest: 'text' }], keyId: 'text', signature: 'text' } as const;
const RECORD_SHAPE: { [member: string]: Shape } = {
  chainId: 'text', sequence: 'whole', previousHash: 'text', hash: 'text', time: 'text', requestId: 'text', application: 'text?', officer: 'text?', role: 'text?',
  serviceItem: 'text?', caseNumber: 'text?', operationName: 'text?', documentHash: 'text?', coordinates: 'texts', citizens: 'texts', departments: 'texts',
  outcome: 'text', errorCodes: 'texts', latencyMs: 'whole', requests: 'whole', exchange: ['nullable', 'exchange'],
};
const CALLS_SHAPE: { [member: string]: Shape } = {
  kind: 'text',
  calls: ['list', { department: 'text', signatureBase: 'text', signatureInput: 'text', signature: 'text', receipt: ['nullable', 'receipt'], failure: 'text?' }],
  departmentCheckpoints: ['list', CHECKPOINT_SHAPE as unknown as Shape],
};
const EXPORT_SHAPE: { [member: string]: Shape } = {
  format: 'text', requestId: 'text', records: ['list', { record: RECORD_SHAPE, checkpoint: CHECKPOINT_SHAPE as unknown as Shape }], attestation: { time: 'text', keyId: 'text', signature: 'text' },
};

/** What is wrong with the parsed file's shape, or null. */
function exportShapeProblem(value: unknown): string | null {
  const problem = shapeProblem(value, EXPORT_SHAPE, 'the export');
  if (problem) return problem;
  const exported = value as ReceiptExport;
  if (exported.format !== EXPORT_FORMAT) return `its format is ${JSON.stringify(exported.format).slice(0, 60)}, not ${EXPORT_FORMAT}`;
  if (exported.records.length === 0) return 'it holds no record';
  return null;
}

function shapeProblem(value: unknown, shape: Shape, where: string): string | null {
  if (shape === 'text') return typeof value === 'string' ? null : `${where} is not text`;
  if (shape === 'text?') return value === null || typeof value === 'string' ? null : `${where} is neither text nor null`;
  if (shape === 'whole') return Number.isSafeInteger(value) ? null : `${where} is not a whole number`;
  if (shape === 'texts') return Array.isArray(value) && value.every((item) => typeof item === 'string') ? null : `${where} is not a list of text`;
  if (shape === 'receipt') return asReceipt(isObject(value) ? value : null) ? null : `${where} is not a receipt with exactly a receipt's members`;
  if (shape === 'exchange') return shapeProblem(value, CALLS_SHAPE, where) ?? ((value as { kind: string }).kind === 'gateway-calls' ? null : `${where} is not the gateway's calls`);
  if (Array.isArray(shape)) {
    const [kind, inner] = shape;
    if (kind === 'nullable') {
      return value === null ? null : shapeProblem(value, inner, where);
    }
    if (!Array.isArray(value)) return `${where} is not a list`;
    for (let index = 0; index < value.length; index += 1) {
      const problem = shapeProblem(value[index], inner, `${where}[${index}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (!isObject(value)) return `${where} is not an object`;
  const unknown = Object.keys(value).filter((name) => !Object.hasOwn(shape, name));
  if (unknown.length > 0) return `${where} has an unknown member ${JSON.stringify(unknown[0]).slice(0, 60)}`;
  for (const [name, inner] of Object.entries(shape)) {
    // `previous` is absent on a checkpoint written before checkpoints were linked.
    if (!Object.hasOwn(value, name)) {
      if (name === 'previous') continue;
      return `${where} lacks ${name}`;
    }
    const problem = shapeProblem(value[name], inner, `${where}.${name}`);
    if (problem) return problem;
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
