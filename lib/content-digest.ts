import { createHash } from 'node:crypto';
import { isArrayBuffer } from 'node:util/types';
import { isInnerList, parseDictionary, type Dictionary } from './structured-fields';

/**
 * RFC 9530 Content-Digest: the digest of the message content as sent, so a signature that
 * covers the field covers the body. Only sha-256 and sha-512 count: RFC 9530 marks md5, sha
 * and the checksums "deprecated" or "insecure", and a field holding only those proves nothing.
 */
const SUPPORTED_ALGORITHMS = { 'sha-256': 'sha256', 'sha-512': 'sha512' } as const;
type SupportedAlgorithm = keyof typeof SUPPORTED_ALGORITHMS;

/** RFC 9530 Content-Digest field value for `body`: `sha-256=:<base64>:` (default sha-256; sha-512 supported). */
export function contentDigestOf(body: Buffer | string, algorithm: SupportedAlgorithm = 'sha-256'): string {
  return `${algorithm}=:${digestOf(body, algorithm).toString('base64')}:`;
}

/**
 * undefined when `header` is a well-formed Content-Digest holding at least one supported
 * algorithm (sha-256, sha-512) and every supported one matches `body`; else the reason in words.
 * Every supported digest is checked, not just the strongest, so a sender cannot pair a true
 * digest with a false one and have a lenient reader pick the false one.
 */
export function contentDigestProblem(header: string | undefined, body: Buffer | string): string | undefined {
  if (header === undefined || header.trim() === '') return 'Content-Digest is missing';
  let digests: Dictionary;
  try {
    digests = parseDictionary(header);
  } catch {
    return 'Content-Digest is not a structured dictionary of byte sequences (RFC 9530)';
  }
  let checked = 0;
  for (const [algorithm, member] of digests) {
    if (!isSupported(algorithm)) continue;
    if (isInnerList(member) || !isArrayBuffer(member[0])) return `Content-Digest ${algorithm} must be a byte sequence (:base64:)`;
    if (!Buffer.from(member[0] as ArrayBuffer).equals(digestOf(body, algorithm))) return `Content-Digest ${algorithm} does not match the body`;
    checked += 1;
  }
  if (checked === 0) {
    const names = [...digests.keys()];
    return `Content-Digest holds no supported algorithm (sha-256, sha-512), got ${names.length === 0 ? 'none' : names.join(', ')}`;
  }
  return undefined;
}

function isSupported(algorithm: string): algorithm is SupportedAlgorithm {
  return Object.hasOwn(SUPPORTED_ALGORITHMS, algorithm);
}

function digestOf(body: Buffer | string, algorithm: SupportedAlgorithm): Buffer {
  return createHash(SUPPORTED_ALGORITHMS[algorithm]).update(body).digest();
}
