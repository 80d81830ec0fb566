import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { DepartmentReceipt } from '../../audit/exchange';
import { sha256Hex, signReceipt, type UnsignedReceipt } from '../../audit/receipt';
import { loadSigningKey, type SigningKey } from '../../audit/signing';
import { signatureBase, SIGNATURE_LABEL } from '../../lib/http-signatures';
import { parseDictionary, serializeInnerList, type InnerList } from '../../lib/structured-fields';
import { loadTrustList } from '../../lib/trust-list';
import { receiptChecker, type ReceiptChecker } from '../../gateway/receipts';
import { testPkiDir } from './federation-security';

/** The departments' trust list of the test PKI (test/helpers/global-setup.ts lists every department's key in it). */
export function testDepartmentKeysFile(): string {
  return path.join(testPkiDir(), 'department-keys.json');
}

/** Department `name`'s receipt-signing key in the test PKI. */
export function testDepartmentKey(department: string): SigningKey {
  return loadSigningKey(path.join(testPkiDir(), `${department}-signing-key.pem`));
}

/** The gateway's receipt check over the test PKI's departments' trust list. */
export function receiptCheckerForTest(now?: () => number): ReceiptChecker {
  const list = loadTrustList(testDepartmentKeysFile());
  return receiptChecker({ trustList: () => list, ...(now ? { now } : {}) });
}

/**
 * The RFC 9421 signature base of a request as a department rebuilds it to verify: the
 * components its `proofless` Signature-Input names, read from the headers as they
 * arrived, @target-uri from the scheme, Host and path. What a receipt's requestDigest is
 * the SHA-256 of. Throws when the request carries no such signature.
 */
export function signatureBaseOfRequest(req: IncomingMessage, scheme: 'http' | 'https'): string {
  const input = parseDictionary(String(req.headers['signature-input'] ?? '')).get(SIGNATURE_LABEL) as InnerList | undefined;
  if (!input) throw new Error('the request carries no proofless signature');
  const covered = input[0].map(([name]) => String(name));
  const targetUri = new URL(req.url ?? '/', `${scheme}://${req.headers.host}`).href;
  const header = (name: string) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  return signatureBase({ method: req.method ?? 'POST', targetUri, header }, covered, serializeInnerList(input));
}

/** A receipt as the department names in the request would sign it for this answer, with `changes` made before signing. */
export function receiptFor(
  exchange: { department: string; signatureBase: string; status: number; body: string | Buffer },
  changes: Partial<UnsignedReceipt> = {},
  key: SigningKey = testDepartmentKey(exchange.department),
): DepartmentReceipt {
  return signReceipt({
    department: exchange.department,
    requestDigest: sha256Hex(exchange.signatureBase),
    answerDigest: sha256Hex(exchange.body),
    status: exchange.status,
    chainId: `${exchange.department}:test`,
    sequence: 1,
    time: new Date().toISOString(),
    ...changes,
  }, key);
}
